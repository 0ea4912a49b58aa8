"""Run a step's process in a sandbox (bubblewrap): it sees only what it needs.

Inside, the step sees the operating system read-only (``/usr``, ``/etc``), its interpreter and
environment read-only, the SDK copy read-only, its inputs read-only, its working folder and
output folders writable, a private ``/tmp`` and ``/proc`` (its own PID namespace: no other
process of the host, and none of them can outlive it), and the network (it talks to Studio
over HTTP with its run token). Never the data dir, the database, the checkout, another
step's folders or another process's environment. Of the worker's own environment variables it
gets only those listed here (an allow list): never the database or broker URL, a key or a cloud
credential of the server. Plain Python.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# What every process needs of the system, read-only, when present.
SYSTEM = ("/usr", "/etc", "/opt")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64")


# The worker's variables a step gets: its locale, time zone and terminal, who it runs as, and
# the certificates to trust (to reach Studio over HTTPS). An administrator may name more
# (STUDIO_STEP_VARIABLES: a proxy, the GPUs a worker is given...).
STEP_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "TMPDIR",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
    }
)
STEP_PREFIXES = ("LC_",)
# An environment build also gets uv's own settings (an index, offline mode, its cache) and the
# proxies that reach the index.
BUILD_VARIABLES = STEP_VARIABLES | {
    "XDG_CACHE_HOME",
    *(f"{name}_proxy" for name in ("http", "https", "all", "no")),
    *(f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")),
}
BUILD_PREFIXES = ("LC_", "UV_")
# Never passed on, whatever an administrator lists: Studio's own settings and secrets.
NEVER_PASSED = re.compile(r"^(STUDIO_|DJANGO_|CELERY_|DATABASE_URL$|SECRET_KEY$)")


def passed_variables(
    environ: Mapping[str, str],
    names: Iterable[str],
    prefixes: tuple[str, ...] = (),
    extra: Iterable[str] = (),
) -> dict[str, str]:
    """The variables of ``environ`` named in ``names`` or ``extra`` or starting with one of
    ``prefixes``; none of Studio's own."""
    wanted = set(names) | set(extra)
    return {
        key: value
        for key, value in environ.items()
        if (key in wanted or key.startswith(prefixes)) and not NEVER_PASSED.match(key)
    }


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def unsandboxed(setting: str) -> bool:
    """Whether steps would run without a sandbox under ``STUDIO_SANDBOX=setting``."""
    return setting == "off" or bwrap_path() is None


UNSANDBOXED = (
    "Steps run without a sandbox ({why}): code submitted to this Studio runs with this "
    "user's rights and can read what this user can (the database, the data dir)."
)


def why_unsandboxed(setting: str) -> str:
    why = "STUDIO_SANDBOX=off" if setting == "off" else "bubblewrap is not installed"
    return UNSANDBOXED.format(why=why)


@dataclass
class Sandbox:
    """What one step may see: paths read-only and writable, and its working directory."""

    cwd: Path
    readable: list[Path] = field(default_factory=list)
    writable: list[Path] = field(default_factory=list)

    def read(self, *paths: Path | str | None) -> None:
        self.readable.extend(Path(p) for p in paths if p)

    def write(self, *paths: Path | str | None) -> None:
        self.writable.extend(Path(p) for p in paths if p)

    def wrap(self, argv: list[str], bwrap: str) -> list[str]:
        """``argv`` run by bubblewrap with only these paths."""
        args = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        for path in SYSTEM:
            if os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for link in SYSTEM_LINKS:
            if os.path.islink(link):
                args += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                args += ["--ro-bind", link, link]
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for path in _outermost(self.readable):
            if path.exists():
                args += ["--ro-bind", str(path), str(path)]
        for path in _parents_first(self.writable):
            path.mkdir(parents=True, exist_ok=True)
            args += ["--bind", str(path), str(path)]
        # The rest of the tree is bubblewrap's own empty root: read-only too.
        args += ["--remount-ro", "/", "--chdir", str(self.cwd), "--"]
        return args + list(argv)


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """Each path once, parents first, leaving out those inside another one (its bind already
    shows them): a dataset of many files inside its bound folder adds no argument per file,
    which would pass the limit of a command line. A path reached through a symlink in the
    folder is kept, since the folder's bind does not show where it points."""
    kept: list[tuple[Path, Path]] = []  # (path, where it really is)
    for path in _parents_first(paths):
        real = Path(os.path.realpath(path))
        if not any(path.is_relative_to(k) and real.is_relative_to(r) for k, r in kept):
            kept.append((path, real))
    return [path for path, _ in kept]


def _parents_first(paths: Iterable[Path]) -> list[Path]:
    """Each path once, a folder before what is inside it (so a bind inside a bound folder
    takes effect)."""
    return sorted({Path(os.path.abspath(p)) for p in paths}, key=lambda p: len(p.parts))


def interpreter_roots(python: str) -> list[Path]:
    """The folders an interpreter needs: its environment (a venv) and the installation it was
    made from."""
    executable = Path(python)
    roots = []
    venv = executable.parent.parent
    config = venv / "pyvenv.cfg"
    if config.is_file():
        roots.append(venv)
        for line in config.read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                roots.append(Path(value.strip()).parent)
    else:
        roots.append(Path(os.path.realpath(executable)).parent.parent)
    return roots
