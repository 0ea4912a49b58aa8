"""A worker's graceful shutdown, as Celery expects it, without losing a running step.

Celery stops on TERM to its main process with a warm shutdown: it takes no new message and
waits for the running tasks. A step may run for hours, so the wait has a bound: once
``STUDIO_SHUTDOWN_GRACE_SECONDS`` have passed, each step still running on this worker is
interrupted and put back in the queue (``services.requeue_step``: a new attempt on any worker,
never a failure), and the tasks return. Should the main process still be alive
``COLD_MARGIN_SECONDS`` later, it sends itself QUIT: Celery's cold shutdown.

The main process writes the deadline in a file named by its pid; each pool process, whose
parent that is, reads it while it watches its step. A TERM that reaches the whole process
group (``kill -- -PGID``, what systemd and container inits do) also reaches the pool
processes: while they run a step they note it instead of dying in the middle of it (billiard's
own handler would raise SystemExit there and leave the step's process running), and keep
the same deadline; a TERM to the worker's process group does not reach them at all, as each
pool process has a group of its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from pathlib import Path

from django.conf import settings

from runs import services

log = logging.getLogger("studio.worker")
COLD_MARGIN_SECONDS = 15.0

_noticed_at: float | None = None  # in a pool process: when a TERM reached it
_main_pid: int | None = None  # the worker's main process (pool processes inherit it)


def started() -> None:
    """In the worker's main process, before its pool starts."""
    global _main_pid
    _main_pid = os.getpid()


def _marker(pid: int) -> Path:
    return settings.DATA_DIR / "workers" / f"{pid}.stopping"


def begin(grace: float | None = None) -> None:
    """In the worker's main process, as its shutdown starts: publish the deadline for the
    pool's steps, and make sure this process ends even if a task never returns."""
    grace = settings.STUDIO_SHUTDOWN_GRACE_SECONDS if grace is None else grace
    marker = _marker(os.getpid())
    if marker.exists():
        return  # a second signal: the first one's deadline stands
    marker.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + grace
    marker.write_text(f"{deadline}\n")
    log.warning(
        "worker shutting down: running steps have %.0f s to finish, then go back to the queue",
        grace,
    )

    def cold() -> None:
        time.sleep(grace + COLD_MARGIN_SECONDS)
        log.warning("worker still running %.0f s after the grace: cold shutdown", grace)
        os.kill(os.getpid(), signal.SIGQUIT)

    threading.Thread(target=cold, name="studio-cold-shutdown", daemon=True).start()


def end() -> None:
    """In the main process, once its pool and consumer have stopped: ring the steps its pool
    processes handed back (this worker takes no more messages, so another one gets them), and
    leave no deadline behind for a later pid."""
    handed = _handed(os.getpid())
    step_ids = handed.read_text().split() if handed.exists() else []
    if step_ids:
        services.ring_queued(step_ids)
    for path in (handed, _marker(os.getpid())):
        with contextlib.suppress(OSError):
            path.unlink()


def _handed(pid: int) -> Path:
    return settings.DATA_DIR / "workers" / f"{pid}.handed-back"


def hand_back(step_id: str) -> None:
    """In a pool process of a stopping worker: this queued step is for another worker; the
    main process rings it once it no longer takes messages itself."""
    path = _handed(os.getppid())
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:  # one short line: appends of several processes do not mix
        fh.write(f"{step_id}\n")


def detach_pool_process() -> None:
    """In a new pool process: a process group of its own, so that a TERM to the worker's group
    reaches the main process alone, which then stops as above. (Were an idle pool process killed
    by it while holding the pool's queue lock, the others and the main process would wait for
    that lock forever.) It still dies with the main process (Celery's parent-death signal)."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)


def hold_term_during_steps() -> None:
    """In a pool process, before each task: a TERM is noted, not obeyed at once. (Not in a
    worker that runs tasks in its main process, where TERM is Celery's own shutdown.)"""
    if _main_pid is not None and os.getpid() != _main_pid:
        signal.signal(signal.SIGTERM, _note_term)


def _note_term(signum: int, frame: object) -> None:
    global _noticed_at
    if _noticed_at is None:
        _noticed_at = time.time()


def _deadlines() -> list[float]:
    deadlines = []
    if _noticed_at is not None:
        deadlines.append(_noticed_at + settings.STUDIO_SHUTDOWN_GRACE_SECONDS)
    try:
        deadlines.append(float(_marker(os.getppid()).read_text()))
    except (OSError, ValueError):
        pass
    return deadlines


def stopping() -> bool:
    """In a pool process: whether this worker is shutting down (its grace running or over)."""
    return bool(_deadlines())


def due() -> bool:
    """In a pool process: whether this worker's shutdown grace is over."""
    deadlines = _deadlines()
    return bool(deadlines) and time.time() >= min(deadlines)
