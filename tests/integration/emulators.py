"""S3 (moto server) and Azure Blob (Azurite) emulators on loopback, and one backend seen
through the SDK and directly. The servers are started once per test session (see conftest.py)
and killed at its end. Azurite is installed by ``make azurite`` (``make test`` depends on it)
into ``.venv/node``; without it the Azure tests fail with a message saying so, never skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from studio.sdk.core import Datastore
from tests.harness import ROOT

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
AZURITE_BLOB = ROOT / ".venv" / "node" / "node_modules" / ".bin" / "azurite-blob"
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
S3_KEY = S3_SECRET = "testing"

RAW_1 = "id,a,b\n1,1,10\n2,2,20\n3,3,30\n"
RAW_2 = "id,a,b\n4,4,40\n5,5,50\n"


# --- the emulators -------------------------------------------------------------------------------


class _Emulator:
    """A server process in its own session, killed with its whole process group."""

    def __init__(self, name: str, argv: list[str], url: str, log_dir: Path):
        self.name, self.url = name, url
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=log_dir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}"
                )
            try:
                requests.get(self.url, timeout=2)  # any HTTP answer means it listens
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} did not answer on {self.url} within {timeout} s:\n{self.tail()}"
        )

    def tail(self) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def stop(self, grace: float = 5) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left of the group (children included)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._log.close()


# --- one backend, seen through the SDK and directly ----------------------------------------------


@dataclass
class Backend:
    kind: str  # "s3" or "azure"
    endpoint: str

    def register(self, ws, tag: str, **secrets) -> Datastore:
        """A new datastore on a new bucket/container (created on the way)."""
        if self.kind == "s3":
            return Datastore.register_s3(
                ws,
                f"s3-{tag}",
                f"bucket-{tag}",
                access_key_id=secrets.get("key", S3_KEY),
                secret_access_key=secrets.get("secret", S3_SECRET),
                endpoint_url=self.endpoint,
                create_if_not_exists=True,
            )
        return Datastore.register_azure_blob_container(
            ws,
            f"az-{tag}",
            f"container-{tag}",
            account_name=AZURITE_ACCOUNT,
            account_key=AZURITE_KEY,
            endpoint=self.endpoint,
            create_if_not_exists=True,
        )

    def fs(self):
        """The bucket/container through fsspec directly, not through Studio."""
        if self.kind == "s3":
            import s3fs

            return s3fs.S3FileSystem(
                key=S3_KEY,
                secret=S3_SECRET,
                client_kwargs={"endpoint_url": self.endpoint},
                skip_instance_cache=True,
            )
        import adlfs

        conn = f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={self.endpoint};"
        return adlfs.AzureBlobFileSystem(connection_string=conn, skip_instance_cache=True)

    def files(self, datastore: Datastore, prefix: str) -> dict[str, bytes]:
        """{path relative to the bucket: content} of every object under a prefix."""
        fs = self.fs()
        base = datastore.bucket_name if self.kind == "s3" else datastore.container_name
        fs.invalidate_cache()
        try:
            found = fs.find(f"{base}/{prefix}")
        except FileNotFoundError:
            return {}
        return {name[len(base) + 1 :]: fs.cat_file(name) for name in found}
