"""Source-directory snapshots: which files, their content address, and a canonical zip.

The digest covers every file's relative path and bytes (never modification
times), so the same sources always give the same digest on any machine. Shared
by the SDK (which builds and uploads) and the server (which verifies).
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pathspec

from studio.core.errors import StudioError

MAX_SNAPSHOT_BYTES = 300 * 1024 * 1024
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ALWAYS_IGNORED = {".git", "__pycache__", ".amlignore", ".gitignore"}


def _ignore_spec(root: Path) -> pathspec.PathSpec | None:
    for name in (".amlignore", ".gitignore"):
        ignore_file = root / name
        if ignore_file.is_file():
            return pathspec.PathSpec.from_lines(
                "gitwildmatch", ignore_file.read_text().splitlines()
            )
    return None


def collect_files(source_directory: str | os.PathLike) -> list[str]:
    """Relative POSIX paths of the files to snapshot, sorted, honouring .amlignore else .gitignore."""
    root = Path(source_directory)
    if not root.is_dir():
        raise StudioError("snapshot", f"source_directory {str(root)!r} is not a directory")
    spec = _ignore_spec(root)
    files: list[str] = []
    for folder, dirnames, filenames in os.walk(root):
        rel_folder = Path(folder).relative_to(root)
        kept = []
        for d in sorted(dirnames):
            rel = (rel_folder / d).as_posix()
            if d in _ALWAYS_IGNORED or (spec and spec.match_file(rel + "/")):
                continue
            if os.path.islink(os.path.join(folder, d)):
                continue
            kept.append(d)
        dirnames[:] = kept
        for f in filenames:
            rel = (rel_folder / f).as_posix()
            if f in _ALWAYS_IGNORED or f.endswith(".pyc") or (spec and spec.match_file(rel)):
                continue
            full = os.path.join(folder, f)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            files.append(rel)
    return sorted(files)


def digest_entries(entries: list[tuple[str, bytes]]) -> str:
    """The content address of a set of (path, bytes) entries."""
    return digest_hashes([(path, hashlib.sha256(data).digest()) for path, data in entries])


def digest_hashes(hashes: list[tuple[str, bytes]]) -> str:
    """The content address of a set of (path, sha256 of its bytes) entries."""
    h = hashlib.sha256()
    for path, file_hash in sorted(hashes):
        h.update(path.encode() + b"\0" + file_hash)
    return h.hexdigest()


def build(source_directory: str | os.PathLike) -> tuple[str, bytes, list[str]]:
    """Snapshot a folder: (digest, zip bytes, file list)."""
    root = Path(source_directory)
    files = collect_files(root)
    entries = []
    total = 0
    for rel in files:
        data = (root / rel).read_bytes()
        total += len(data)
        if total > MAX_SNAPSHOT_BYTES:
            raise StudioError(
                "snapshot",
                f"source_directory {str(root)!r} is over {MAX_SNAPSHOT_BYTES // (1024 * 1024)} MB; "
                "list large files in .amlignore",
            )
        entries.append((rel, data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in entries:
            info = zipfile.ZipInfo(rel, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return digest_entries(entries), buffer.getvalue(), files


# What a damaged or hostile zip raises while it is read: a bad or truncated archive, a bad
# compressed stream, a compression method zipfile lacks, an encrypted entry.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
)


def read_zip(data: bytes | str | os.PathLike | BinaryIO) -> tuple[str, dict[str, str]]:
    """Verify an uploaded snapshot (its bytes, a file or a path): (digest, {path: sha256 of its
    bytes}). Refuses unsafe entry names, a declared size over the limit, and a damaged zip;
    reads one entry at a time, in chunks."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        return _read_zip(source)
    except StudioError:
        raise
    except _ZIP_ERRORS as exc:
        raise StudioError("snapshot", f"snapshot is not a valid zip file: {exc}") from None


def _read_zip(source: str | os.PathLike | BinaryIO) -> tuple[str, dict[str, str]]:
    with zipfile.ZipFile(source) as zf:
        infos = [info for info in zf.infolist() if not info.is_dir()]
        declared = sum(info.file_size for info in infos)
        if declared > MAX_SNAPSHOT_BYTES:
            raise StudioError(
                "snapshot",
                f"snapshot's files declare {declared} bytes, over the limit of "
                f"{MAX_SNAPSHOT_BYTES // (1024 * 1024)} MB",
            )
        hashes: dict[str, bytes] = {}
        for info in infos:
            name = info.filename
            parts = PurePosixPath(name).parts
            if (
                name.startswith("/")
                or "\\" in name
                or ".." in parts
                or not parts
                or ":" in parts[0]
            ):
                raise StudioError(
                    "snapshot", f"snapshot entry {name!r} is not a safe relative path"
                )
            if name in hashes:
                raise StudioError("snapshot", f"snapshot has the entry {name!r} twice")
            h = hashlib.sha256()
            with zf.open(info) as entry:  # stops at the declared size; checks the CRC
                while chunk := entry.read(1024 * 1024):
                    h.update(chunk)
            hashes[name] = h.digest()
    return digest_hashes(list(hashes.items())), {
        name: hashes[name].hex() for name in sorted(hashes)
    }
