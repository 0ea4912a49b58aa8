"""Source-directory snapshots: which files, their content address, and a canonical zip.

The digest covers every file's relative path and bytes (never modification
times), so the same sources always give the same digest on any machine. Shared
by the SDK (which builds and uploads) and the server (which verifies).
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path, PurePosixPath

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
    h = hashlib.sha256()
    for path, data in sorted(entries):
        h.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
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


def read_zip(data: bytes) -> tuple[str, dict[str, str]]:
    """Verify an uploaded snapshot: (digest, {path: sha256 of its bytes}). Refuses unsafe entry names."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise StudioError("snapshot", f"snapshot is not a zip file: {exc}") from None
    entries = []
    total = 0
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
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
            total += info.file_size
            if total > MAX_SNAPSHOT_BYTES:
                raise StudioError("snapshot", "snapshot is over the size limit")
            entries.append((name, zf.read(info)))
    return digest_entries(entries), {
        name: hashlib.sha256(body).hexdigest() for name, body in sorted(entries)
    }
