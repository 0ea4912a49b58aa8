"""What Studio does while it cannot write: a database that refuses writes (its disk full,
locked beyond the busy timeout, PostgreSQL read-only or shutting down) and a full disk.

Requests answer 503 (the database) or 507 (a full datastore) with a Retry-After and a
message saying what is wrong, as JSON under /api/ and as a plain page elsewhere, never a
traceback; the worker keeps what it could not record and records it when writing works
again (:func:`keep_trying`).
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger("studio.outages")

RETRY_AFTER_SECONDS = 5

# PostgreSQL error codes (SQLSTATE) of a server that cannot take writes now, but may soon.
_UNWRITABLE_CLASSES = ("08", "53", "57P")  # connection, insufficient resources, shutdown
_UNWRITABLE_STATES = {
    "25006": "the database is read-only",  # read_only_sql_transaction
    "55P03": "a lock could not be taken in time",  # lock_not_available
    "40001": "a concurrent change conflicted",  # serialization_failure
    "40P01": "a concurrent change deadlocked",  # deadlock_detected
}
# SQLite's messages for the same (its errors carry no code in Python 3.11).
_SQLITE_MESSAGES = {
    "database or disk is full": "its disk is full",
    "database is locked": "it stayed locked beyond the busy timeout",
    "disk i/o error": "its disk failed to write",
    "attempt to write a readonly database": "it is read-only",
    "unable to open database file": "its file cannot be opened",
}


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def database_unwritable(exc: BaseException) -> str | None:
    """Why the database cannot take a write now (a reason for people), or None when ``exc``
    is not such an error (a bug, a constraint violated...)."""
    if not isinstance(exc, DatabaseError):
        return None
    for error in _chain(exc):
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if state:
            if state in _UNWRITABLE_STATES:
                return _UNWRITABLE_STATES[state]
            if state == "53100":
                return "its disk is full"
            if state.startswith(_UNWRITABLE_CLASSES):
                return "it is unavailable or short of resources"
        text = str(error).lower()
        for message, reason in _SQLITE_MESSAGES.items():
            if message in text:
                return reason
        if "connection" in text and ("closed" in text or "refused" in text or "lost" in text):
            return "the connection to it was lost"
    return None


def no_space(exc: BaseException) -> OSError | None:
    """The 'no space left on device' (or quota exceeded) error behind ``exc``, if any."""
    for error in _chain(exc):
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return error
    return None


def no_space_message(error: OSError, what: str = "") -> str:
    """'No space left on device' and the path that could not be written."""
    where = error.filename or what
    return f"No space left on device: {where}" if where else "No space left on device"


def full_filesystem(paths: Iterable[Path | str]) -> str | None:
    """The first of ``paths`` (or its nearest existing parent) whose file system has no
    space left for an unprivileged writer."""
    for path in paths:
        probe = Path(path)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        try:
            if os.statvfs(probe).f_bavail == 0:
                return str(path)
        except OSError:
            continue
    return None


_T = TypeVar("_T")


def keep_trying(
    write: Callable[[], _T],
    what: str,
    *,
    give_up_after: float = 3600.0,
    first_wait: float = 0.2,
    longest_wait: float = 2.0,
) -> _T:
    """Run ``write`` (one transaction); while the database refuses writes, try again with a
    growing wait (``first_wait`` doubled up to ``longest_wait``), for ``give_up_after``
    seconds at most. Any other error is raised at once."""
    deadline = time.monotonic() + give_up_after
    wait = first_wait
    while True:
        try:
            return write()
        except DatabaseError as exc:
            reason = database_unwritable(exc)
            if reason is None or time.monotonic() + wait > deadline:
                raise
            log.warning("could not record %s (%s); trying again in %.1f s", what, reason, wait)
        connection.close()  # a broken connection is opened afresh on the next try
        time.sleep(wait)
        wait = min(wait * 2, longest_wait)


# --- requests --------------------------------------------------------------------------


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """A 503 (database) or 507 (disk full) answer for ``exc``, or None if it is neither."""
    reason = database_unwritable(exc)
    if reason is not None:
        status, code = 503, "unavailable"
        message = (
            f"The database cannot take writes right now ({reason}). Nothing was changed; "
            f"try again in a few seconds."
        )
    else:
        full = no_space(exc)
        if full is None:
            return None
        status, code = 507, "no_space"
        message = f"{no_space_message(full)}. Nothing was saved; try again once space is freed."
    log.warning("%s %s answered %s: %s", request.method, request.path, status, exc)
    if request.path.startswith("/api/") or request.path.startswith("/pipelines/"):
        response: HttpResponse = JsonResponse(
            {"error": {"code": code, "message": message}}, status=status
        )
    else:
        response = HttpResponse(
            render_to_string("unavailable.html", {"message": message}),
            status=status,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class UnavailableMiddleware:
    """Turns a view's database-unwritable or disk-full error into a 503 or 507 answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return unavailable_response(request, exc)
