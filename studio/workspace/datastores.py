"""Datastores as fsspec filesystems, with every path confined to its store.

Plain Python over a :class:`StoreConfig`: ``local`` is a folder, ``s3`` any
S3-compatible bucket (s3fs), ``azureblob`` a blob container (adlfs). Paths given
by users are normalised by :func:`clean_path`, which refuses anything that could
leave the store (``..``, absolute paths, backslashes, percent-encoded forms, URL
syntax); on a local store, symlinks that lead outside are never followed.

Remote stores connect only where :mod:`studio.workspace.egress` allows: their clients run on
its event loop, where every connection is judged, and the endpoint a user gave is checked
before a client is built. A refusal surfaces as ``egress.AddressRefused`` naming the setting
at fault, however the client library wrapped it.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ParamSpec, TypeVar

from studio.core.errors import StudioError
from studio.core.paths import (
    EMPTY_MARKER,
    INTERNAL_PREFIX,
    FileInfo,
    clean_path,
    glob_regex,
    has_glob,
    is_internal,
    join,
)
from studio.workspace import egress

if TYPE_CHECKING:
    from _typeshed import SupportsRead, SupportsWrite
    from fsspec import AbstractFileSystem  # imported when first used, not with this module

KINDS = ("local", "s3", "azureblob", "http")  # http: a web server, for datasets from URLs

# The setting that names where a remote store connects: what a refusal points at.
ENDPOINT_FIELDS = {"s3": "endpoint_url", "azureblob": "endpoint", "http": "path"}

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _refusals_named(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """A refused connection inside a store operation surfaces as AddressRefused."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        store = args[0]
        assert isinstance(store, Store)
        with store.refusals_named():
            return method(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class StoreConfig:
    name: str
    kind: str
    root: str = ""  # local: the folder
    options: dict = field(
        default_factory=dict
    )  # bucket, endpoint_url, account_name, container, endpoint
    secrets: dict = field(default_factory=dict)  # key, secret, account_key, sas_token


class Store:
    """File operations on one datastore; every path argument is relative to the store."""

    def __init__(self, config: StoreConfig):
        if config.kind not in KINDS:
            raise ValueError(
                f"Unknown datastore kind {config.kind!r}; use one of {', '.join(KINDS)}"
            )
        self.config = config
        self._fs = None

    @property
    def is_local(self) -> bool:
        return self.config.kind == "local"

    @property
    def is_web(self) -> bool:
        return self.config.kind == "http"

    @property
    def fs(self) -> AbstractFileSystem:
        if self._fs is None:
            self._fs = _filesystem(self.config)
        return self._fs

    def refusals_named(self) -> AbstractContextManager[None]:
        """Where an operation's refused connection is turned into AddressRefused."""
        field = ENDPOINT_FIELDS.get(self.config.kind, "endpoint")
        return egress.refusals_named(field, self.config.name)

    def _base(self) -> str:
        if self.is_local:
            return str(Path(self.config.root).resolve())
        if self.config.kind == "s3":
            return self.config.options["bucket"]
        if self.is_web:
            return self.config.root
        return self.config.options["container"]

    def full(self, rel: str) -> str:
        """The filesystem path of a cleaned relative path (local: refuses symlink escapes)."""
        base = self._base()
        target = f"{base}/{rel}" if rel else base
        if self.is_local:
            resolved = os.path.realpath(target)
            if resolved != base and not resolved.startswith(base + os.sep):
                raise StudioError(
                    "path", f"{rel!r} leads outside the datastore (through a symbolic link)"
                )
        return target

    def local_path(self, rel: str) -> Path:
        if not self.is_local:
            raise ValueError("Only a local datastore has local paths")
        return Path(self.full(clean_path(rel)))

    @_refusals_named
    def ls(self, prefix: str = "") -> list[dict]:
        """Entries directly under a folder: name, path, size, is_dir."""
        rel = clean_path(prefix)
        base = self._base()
        out = []
        if self.is_local:
            folder = Path(self.full(rel))
            if not folder.is_dir():
                return []
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.is_symlink() or entry.name.startswith(INTERNAL_PREFIX):
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                out.append(
                    {
                        "name": entry.name,
                        "path": join(rel, entry.name),
                        "size": 0 if is_dir else entry.stat(follow_symlinks=False).st_size,
                        "is_dir": is_dir,
                    }
                )
            return out
        try:
            entries = self.fs.ls(self.full(rel), detail=True, refresh=True)
        except FileNotFoundError as exc:
            egress.raise_refusal(exc)  # refused, not missing
            return []
        for entry in entries:
            name = entry["name"].rstrip("/")
            relpath = name[len(base) + 1 :] if name.startswith(base + "/") else name
            if relpath == rel or is_internal(relpath):
                continue
            is_dir = entry.get("type") == "directory"
            out.append(
                {
                    "name": relpath.rsplit("/", 1)[-1],
                    "path": relpath,
                    "size": int(entry.get("size") or 0),
                    "is_dir": is_dir,
                }
            )
        return sorted(out, key=lambda e: e["name"])

    def walk(self, prefix: str = "", recursive: bool = True) -> Iterator[FileInfo]:
        """Every file under a folder (or the file itself), with size and version."""
        with self.refusals_named():
            yield from self._walk(prefix, recursive)

    def _walk(self, prefix: str, recursive: bool) -> Iterator[FileInfo]:
        rel = clean_path(prefix)
        if self.is_local:
            root = Path(self.full(rel))
            base = Path(self._base())
            if root.is_file() and not root.is_symlink():
                st = root.stat()
                yield FileInfo(rel, st.st_size, str(st.st_mtime_ns))
                return
            if not root.is_dir():
                return
            stack = [root]
            while stack:
                folder = stack.pop()
                try:
                    entries = sorted(os.scandir(folder), key=lambda e: e.name)
                except FileNotFoundError:
                    continue
                for entry in entries:
                    if entry.is_symlink() or entry.name.startswith(INTERNAL_PREFIX):
                        continue  # never followed: it could lead out of the store
                    if entry.is_dir():
                        if recursive:
                            stack.append(Path(entry.path))
                    else:
                        st = entry.stat()
                        yield FileInfo(
                            Path(entry.path).relative_to(base).as_posix(),
                            st.st_size,
                            str(st.st_mtime_ns),
                        )
            return
        if self.is_web:  # a web server lists nothing: a URL is one file
            try:
                info = self.fs.info(self.full(rel))
            except FileNotFoundError as exc:
                egress.raise_refusal(exc)  # refused, not missing
                return
            version = info.get("ETag") or info.get("Last-Modified") or ""
            yield FileInfo(rel, int(info.get("size") or 0), str(version).strip('"'))
            return
        base = self._base()
        target = self.full(rel)
        try:
            found = self.fs.find(
                target, detail=True, maxdepth=None if recursive else 1, withdirs=False
            )
        except FileNotFoundError as exc:
            egress.raise_refusal(exc)  # refused, not missing
            return
        if isinstance(found, list):  # adlfs answers a single blob with a list of names
            found = {name: self.fs.info(name) for name in found}
        for name, info in sorted(found.items()):
            if info.get("type") == "directory":
                continue
            relpath = name[len(base) + 1 :] if name.startswith(base + "/") else name
            if is_internal(relpath):
                continue
            version = str(
                info.get("ETag")
                or info.get("etag")
                or info.get("last_modified")
                or info.get("LastModified")
                or ""
            )
            yield FileInfo(relpath, int(info.get("size") or 0), version.strip('"'))

    @_refusals_named
    def glob(self, pattern: str) -> list[FileInfo]:
        """Files matching a path or glob (a folder means everything under it)."""
        rel = clean_path(pattern, allow_glob=True)
        if not has_glob(rel):
            return list(self.walk(rel))
        if self.is_web:
            raise StudioError("path", f"Wildcards cannot be used in a web URL: {pattern!r}")
        parts = rel.split("/")
        fixed = []
        for part in parts:
            if has_glob(part):
                break
            fixed.append(part)
        prefix = "/".join(fixed)
        pattern_re = glob_regex(rel)
        return [f for f in self.walk(prefix) if pattern_re.match(f.path)]

    @_refusals_named
    def exists(self, rel: str) -> bool:
        rel = clean_path(rel)
        if self.is_local:
            return os.path.lexists(self.full(rel))
        return self.fs.exists(self.full(rel))

    @_refusals_named
    def holds(self, rel: str) -> bool:
        """True when a file or folder is at ``rel``, an empty kept folder included."""
        rel = clean_path(rel)
        if self.is_local:
            return self.exists(rel)
        return self.fs.exists(self.full(rel)) or self.fs.exists(self.full(join(rel, EMPTY_MARKER)))

    @_refusals_named
    def keep_empty_folder(self, rel: str) -> None:
        """Make an empty folder last: a real folder locally, a hidden marker in an object store."""
        rel = clean_path(rel)
        if self.is_local:
            Path(self.full(rel)).mkdir(parents=True, exist_ok=True)
            return
        with self.fs.open(self.full(join(rel, EMPTY_MARKER)), "wb"):
            pass

    @_refusals_named
    def is_file(self, rel: str) -> bool:
        rel = clean_path(rel)
        if self.is_local:
            path = Path(self.full(rel))
            return path.is_file() and not path.is_symlink()
        return self.fs.isfile(self.full(rel))

    @_refusals_named
    def open_read(self, rel: str) -> BinaryIO:
        rel = clean_path(rel)
        if self.is_local:
            path = Path(self.full(rel))
            if path.is_symlink() or not path.is_file():
                raise FileNotFoundError(rel)
            return open(path, "rb")
        return self.fs.open(self.full(rel), "rb")

    @_refusals_named
    def write_file(self, rel: str, source: SupportsRead[bytes], overwrite: bool = False) -> int:
        """Write a stream to a file; refuses to replace one unless ``overwrite``."""
        rel = clean_path(rel)
        if not rel:
            raise StudioError("path", "A file path is required.")
        if not overwrite and self.exists(rel):
            raise FileExistsError(
                f"{rel} already exists on datastore {self.config.name}; pass overwrite=True to replace it"
            )
        if self.is_local:
            target = Path(self.full(rel))
            target.parent.mkdir(parents=True, exist_ok=True)
            self.full(rel)  # re-check after creating parents
            tmp = target.with_name(f".{target.name}.{os.getpid()}.upload")
            try:
                with open(tmp, "wb") as fh:
                    size = _copy_stream(source, fh)
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)  # a half-written copy (a full disk) never stays
                raise
            return size
        with self.fs.open(self.full(rel), "wb") as fh:
            return _copy_stream(source, fh)

    @_refusals_named
    def upload_folder(self, local: Path, rel: str) -> None:
        """Copy a local folder's files under ``rel`` (remote stores)."""
        rel = clean_path(rel)
        for path in sorted(Path(local).rglob("*")):
            if path.is_file() and not path.is_symlink():
                with open(path, "rb") as fh:
                    self.write_file(
                        join(rel, path.relative_to(local).as_posix()), fh, overwrite=True
                    )

    @_refusals_named
    def download(self, files: list[FileInfo], target: Path, strip: str = "") -> list[Path]:
        """Copy files to a local folder, keeping their paths below ``strip``."""
        written = []
        for info in files:
            relative = (
                info.path[len(strip) :].lstrip("/")
                if strip and info.path.startswith(strip)
                else info.path
            )
            destination = Path(target) / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            with self.open_read(info.path) as src, open(destination, "wb") as dst:
                _copy_stream(src, dst)
            written.append(destination)
        return written

    @_refusals_named
    def delete(self, rel: str) -> None:
        rel = clean_path(rel)
        if not rel:
            raise StudioError("path", "Refusing to delete the root of a datastore")
        if self.is_local:
            path = Path(self.full(rel))
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists() or path.is_symlink():
                path.unlink()
            return
        if self.fs.exists(self.full(rel)):
            self.fs.rm(self.full(rel), recursive=True)


def _copy_stream(source: SupportsRead[bytes], target: SupportsWrite[bytes]) -> int:
    total = 0
    while chunk := source.read(1024 * 1024):
        target.write(chunk)
        total += len(chunk)
    return total


def _filesystem(config: StoreConfig):
    if config.kind == "local":
        import fsspec

        return fsspec.filesystem("file")
    field = ENDPOINT_FIELDS[config.kind]
    if config.kind == "http":
        import aiohttp
        import fsspec

        egress.check_url(config.root, field)
        return fsspec.filesystem(
            "http",
            skip_instance_cache=True,
            loop=egress.io_loop(),
            client_kwargs={"timeout": aiohttp.ClientTimeout(total=None, connect=20, sock_read=120)},
        )
    if config.kind == "s3":
        import s3fs

        client_kwargs = {}
        if config.options.get("endpoint_url"):
            egress.check_url(config.options["endpoint_url"], field)
            client_kwargs["endpoint_url"] = config.options["endpoint_url"]
        if config.options.get("region"):
            client_kwargs["region_name"] = config.options["region"]
        fs = s3fs.S3FileSystem(
            key=config.secrets.get("key") or None,
            secret=config.secrets.get("secret") or None,
            anon=not config.secrets.get("key"),
            client_kwargs=client_kwargs,
            # botocore waits 60 s to connect and retries 4 times, s3fs 5 times more: an
            # endpoint that does not answer held a request for minutes.
            config_kwargs={
                "connect_timeout": 10,
                "read_timeout": 120,
                "retries": {"max_attempts": 3, "mode": "standard"},
            },
            skip_instance_cache=True,
            loop=egress.io_loop(),
        )
        fs.retries = 2
        return fs
    import adlfs

    account = config.options["account_name"]
    endpoint = config.options.get("endpoint")
    kwargs = {"skip_instance_cache": True, "loop": egress.io_loop()}
    if endpoint:
        egress.check_url(endpoint, field)
        parts = [
            f"DefaultEndpointsProtocol={'http' if endpoint.startswith('http:') else 'https'}",
            f"AccountName={account}",
        ]
        if config.secrets.get("account_key"):
            parts.append(f"AccountKey={config.secrets['account_key']}")
        if config.secrets.get("sas_token"):
            parts.append(f"SharedAccessSignature={config.secrets['sas_token'].lstrip('?')}")
        parts.append(f"BlobEndpoint={endpoint.rstrip('/')}")
        return adlfs.AzureBlobFileSystem(connection_string=";".join(parts) + ";", **kwargs)
    return adlfs.AzureBlobFileSystem(
        account_name=account,
        account_key=config.secrets.get("account_key") or None,
        sas_token=config.secrets.get("sas_token") or None,
        **kwargs,
    )
