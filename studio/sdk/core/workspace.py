"""``Workspace``: where the server is and how to authenticate to it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from studio.sdk._http import Client
from studio.sdk.exceptions import UserErrorException

CONFIG_DIR = ".studio"
CONFIG_FILE = "config.json"


class _Auth:
    def __init__(self, token: str):
        self._token = token

    def get_authentication_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}


class Workspace:
    """A Studio server. ``Workspace.from_config()`` finds it from the environment or a config file."""

    def __init__(self, url: str, token: str, name: str = "studio"):
        if not url or not token:
            raise UserErrorException("A workspace needs the server url and an API token.")
        self.url = url.rstrip("/")
        self.name = name
        self._token = token
        self.auth = _Auth(token)
        self._client = Client(self.url, token)

    def __repr__(self) -> str:
        return f"Workspace.create(name='{self.name}', url='{self.url}')"

    @classmethod
    def from_config(cls, path: str | os.PathLike | None = None, auth=None) -> Workspace:
        """STUDIO_URL and STUDIO_TOKEN, else ``.studio/config.json`` searched upward from ``path`` or the cwd."""
        url, token = os.environ.get("STUDIO_URL"), os.environ.get("STUDIO_TOKEN")
        if url and token:
            return cls(url=url, token=token)
        start = Path(path or os.getcwd()).resolve()
        if start.is_file():
            candidates = [start]
        else:
            candidates = []
            for folder in [start, *start.parents]:
                candidates += [folder / CONFIG_DIR / CONFIG_FILE, folder / CONFIG_FILE]
        for candidate in candidates:
            if candidate.is_file():
                try:
                    data = json.loads(candidate.read_text())
                except ValueError as exc:
                    raise UserErrorException(f"{candidate} is not valid JSON: {exc}") from None
                if "url" in data and "token" in data:
                    return cls(
                        url=data["url"],
                        token=data["token"],
                        name=data.get("workspace_name", "studio"),
                    )
        raise UserErrorException(
            "No workspace configuration found: set STUDIO_URL and STUDIO_TOKEN, or write "
            f'{CONFIG_DIR}/{CONFIG_FILE} with {{"url": ..., "token": ...}}.'
        )

    def write_config(self, path: str | os.PathLike | None = None) -> Path:
        folder = Path(path or os.getcwd()) / CONFIG_DIR
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / CONFIG_FILE
        target.write_text(
            json.dumps({"url": self.url, "token": self._token, "workspace_name": self.name})
        )
        target.chmod(0o600)
        return target

    def get_default_datastore(self):
        from studio.sdk.core.datastore import Datastore

        return Datastore(self, self._client.get("workspace/")["default_datastore"])

    @property
    def datastores(self) -> dict:
        from studio.sdk.core.datastore import Datastore

        return {d["name"]: Datastore._from_dict(self, d) for d in self._client.get("datastores/")}

    @property
    def experiments(self) -> dict:
        from studio.sdk.core.experiment import Experiment

        return {
            e["name"]: Experiment(self, e["name"], _create=False)
            for e in self._client.get("experiments/")
        }

    @property
    def compute_targets(self) -> dict:
        from studio.sdk.core.compute import ComputeTarget

        return {
            c["name"]: ComputeTarget._from_dict(self, c)
            for c in self._client.get("computetargets/")
        }
