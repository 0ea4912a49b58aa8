"""Run one step attempt as a subprocess in its own process group (plain Python).

The caller supplies two callables: ``watch()`` is called about once a second and
returns True when the attempt must stop (cancel requested, or this worker no
longer owns it); ``heartbeat()`` is called every ``heartbeat_seconds``. Output is
streamed to a capped log file as it comes.
"""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runs.logs import CappedLogWriter

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # not Linux
    _libc = None


# The script dies with the worker process that started it (PR_SET_PDEATHSIG). util-linux's
# setpriv sets it and execs the script, which keeps Popen on vfork: a ``preexec_fn`` would
# force a fork() of the whole worker process, about 7 ms a step. Without setpriv, that is
# the fallback.
_SETPRIV = shutil.which("setpriv")


def _child_setup() -> None:
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn_options(argv: list[str]) -> tuple[list[str], dict]:
    if _SETPRIV is not None:
        # setpriv would start and then fail to exec a missing program: say so here instead.
        if shutil.which(argv[0]) is None:
            raise FileNotFoundError(2, "No such file or directory", argv[0])
        return [_SETPRIV, "--pdeathsig", "KILL", "--", *argv], {}
    return argv, {"preexec_fn": _child_setup}


@dataclass
class StepJob:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    log_cap: int


@dataclass
class Outcome:
    exit_code: int | None
    stopped: bool
    log_size: int
    reason: str = ""
    pid: int | None = field(default=None)


def kill_group(pgid: int, grace: float) -> None:
    """SIGTERM a process group, then SIGKILL it after ``grace`` seconds if it lingers."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _pump(
    proc: subprocess.Popen, fd: int, writer: CappedLogWriter, drain_seconds: float = 0.5
) -> None:
    """Copy the script's output to the log until it ends.

    Once the script itself has exited, a background process that kept its stdout
    open does not hold the step: what is already written is drained briefly, then
    the caller kills the group.
    """
    exited_at = None
    while True:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            writer.write(chunk)
            continue
        if exited_at is None and proc.poll() is not None:
            exited_at = time.monotonic()
        if exited_at is not None and time.monotonic() - exited_at >= drain_seconds:
            return


def run_step(
    job: StepJob,
    watch: Callable[[], bool],
    heartbeat: Callable[[], None],
    heartbeat_seconds: float,
    grace_seconds: float,
    on_start: Callable[[int], None] | None = None,
    watch_seconds: float = 1.0,
    thread_cleanup: Callable[[], None] | None = None,
) -> Outcome:
    writer = CappedLogWriter(job.log_path, job.log_cap)
    try:
        argv, options = _spawn_options(job.argv)
        proc = subprocess.Popen(
            argv,
            cwd=job.cwd,
            env=job.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            **options,
        )
    except OSError as exc:
        writer.write(f"Could not start the step: {exc}\n".encode())
        return Outcome(exit_code=None, stopped=False, log_size=writer.close(), reason=str(exc))

    if on_start is not None:
        on_start(proc.pid)
    done = threading.Event()
    stopped = threading.Event()
    parent = os.getppid()

    def _watcher() -> None:
        last_beat = time.monotonic()
        try:
            while not done.wait(watch_seconds):
                orphaned = os.getppid() != parent
                if orphaned or watch():
                    stopped.set()
                    kill_group(proc.pid, 0.0 if orphaned else grace_seconds)
                    if orphaned:
                        os._exit(1)  # our worker is gone: nobody will record this attempt
                    return
                if time.monotonic() - last_beat >= heartbeat_seconds:
                    heartbeat()
                    last_beat = time.monotonic()
        finally:
            if thread_cleanup is not None:
                thread_cleanup()

    watcher = threading.Thread(target=_watcher, name="step-watcher", daemon=True)
    watcher.start()
    fd = proc.stdout.fileno()
    try:
        _pump(proc, fd, writer)
    finally:
        proc.stdout.close()
        exit_code = proc.wait()
        done.set()
        watcher.join()
        # Anything the script left running in its group goes with it.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        size = writer.close()
    return Outcome(exit_code=exit_code, stopped=stopped.is_set(), log_size=size, pid=proc.pid)
