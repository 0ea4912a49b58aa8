"""The data dir holds the SQLite database and the generated secret key: only its owner reads it.

Plain Python, called by the settings module, so every process (web, worker, scheduler, a
management command) makes the data dir 0700 and its secrets 0600 as it starts, including
ones an older Studio created with the default umask.
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) if missing; only its owner may list or enter it."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_DIR:
        try:
            path.chmod(PRIVATE_DIR)
        except PermissionError:
            raise PermissionError(
                f"The data dir {path} must belong to the user Studio runs as, "
                "which keeps it private (mode 0700)."
            ) from None


def make_private_file(path: Path) -> None:
    """Create ``path`` empty if missing (never truncating it); only its owner may read it."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    if stat.S_IMODE(path.stat().st_mode) != PRIVATE_FILE:
        path.chmod(PRIVATE_FILE)


def protect_sqlite(database: Path) -> None:
    """The database file 0600, created so before SQLite opens it: SQLite gives its -wal and
    -shm files the database file's mode. Those of an older Studio are fixed here too."""
    if not database.parent.is_dir():
        return
    make_private_file(database)
    for suffix in ("-wal", "-shm", "-journal"):
        side = database.with_name(database.name + suffix)
        if side.exists():
            make_private_file(side)


def read_or_create_secret(path: Path) -> str:
    """The secret kept in ``path``, generated on first use.

    Written to a private temporary file and linked into place, so that two processes
    starting at once agree on one secret and neither reads a half-written file.
    """
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(64))
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(temporary)
    make_private_file(path)
    return path.read_text().strip()
