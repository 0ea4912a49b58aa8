"""Path rules of datastores (plain Python): what a path may be, globs, web URLs, and which
names Studio keeps for itself inside a datastore.

Paths given by users are normalised by :func:`clean_path`, which refuses anything that could
leave the store (``..``, absolute paths, backslashes, percent-encoded forms, URL syntax).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from studio.core.errors import StudioError

_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?\Z|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?\Z"
)
# Names Studio keeps for itself inside a datastore (the folder where a step attempt writes its
# outputs, the marker that keeps an empty output folder on an object store): never listed.
INTERNAL_PREFIX = ".studio-"
EMPTY_MARKER = ".studio-empty"
ATTEMPTS_FOLDER = ".studio-attempts"
_ENCODED = re.compile(r"%[0-9a-fA-F]{2}")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class FileInfo:
    path: str  # relative to the store, POSIX
    size: int
    version: str  # mtime (local) or etag (remote)


def clean_path(path: str | None, allow_glob: bool = False) -> str:
    """A normalised relative POSIX path inside a store ('' is the root), or StudioError."""
    if path is None:
        return ""
    if not isinstance(path, str):
        raise StudioError("path", "A datastore path must be a string.")
    if "\x00" in path:
        raise StudioError("path", "A datastore path must not contain NUL characters.")
    if "\\" in path:
        raise StudioError("path", f"Backslashes are not allowed in datastore paths: {path!r}")
    if _ENCODED.search(path):
        raise StudioError(
            "path", f"Percent-encoded characters are not allowed in datastore paths: {path!r}"
        )
    if "://" in path or path.startswith("~") or re.match(r"^[A-Za-z]:", path):
        raise StudioError(
            "path",
            f"A datastore path must be relative to the datastore, not a URL or drive: {path!r}",
        )
    if path.startswith("/"):
        raise StudioError("path", f"Absolute paths are not allowed in datastores: {path!r}")
    if any(ch in path for ch in "#?;") or any(ord(ch) < 32 for ch in path):
        raise StudioError(
            "path", f"Datastore paths may not contain '#', '?', ';' or control characters: {path!r}"
        )
    if not allow_glob and _GLOB.search(path):
        raise StudioError("path", f"Wildcards are not allowed here: {path!r}")
    parts = [p for p in PurePosixPath(path).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise StudioError("path", f"'..' is not allowed in datastore paths: {path!r}")
    if any(p.startswith("..") and set(p) == {"."} for p in parts):
        raise StudioError("path", f"Dot-only path parts are not allowed: {path!r}")
    return "/".join(parts)


def glob_regex(pattern: str) -> re.Pattern:
    """A glob as a regex: ``*`` and ``?`` stay within a folder, ``**`` crosses folders.

    A match may also be a folder, which then stands for every file below it.
    """
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i)
            if end == -1:
                out.append(re.escape(pattern[i]))
                i += 1
            else:
                out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "(?:/.*)?$")


def split_url(url: str) -> tuple[str, str]:
    """``https://host[:port]`` and the cleaned path of a web URL, or StudioError."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise StudioError("path", f"{url!r} is not an http(s) URL.")
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    origin = f"{scheme}://{host}"
    if not is_origin(origin):
        raise StudioError(
            "path", f"{url!r} does not name a web server as scheme://host[:port]/path."
        )
    cleaned = clean_path(path)
    if not cleaned:
        raise StudioError("path", f"{url!r} names no file.")
    return origin, cleaned


def is_origin(name: str) -> bool:
    """True for ``http(s)://host[:port]``: where a dataset read from a URL lives."""
    return bool(_ORIGIN.match(name or ""))


def is_internal(rel: str) -> bool:
    """True for a path inside something Studio keeps for itself (see INTERNAL_PREFIX)."""
    return any(part.startswith(INTERNAL_PREFIX) for part in rel.split("/"))


def has_glob(path: str) -> bool:
    """True when a path has wildcards (``*``, ``?``, ``[``)."""
    return bool(_GLOB.search(path))


def join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def fingerprint_files(files: list[FileInfo]) -> str:
    """A hash of a set of files' paths, sizes and versions (mtimes or etags): cheap, no data read."""
    h = hashlib.sha256()
    for info in sorted(files, key=lambda f: f.path):
        h.update(f"{info.path}\0{info.size}\0{info.version}\n".encode())
    return h.hexdigest()
