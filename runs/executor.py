"""Run one step attempt as a subprocess in its own process group (plain Python).

The caller supplies two callables: ``watch()`` is called about once a second and
returns True when the attempt must stop (cancel requested, or this worker no
longer owns it); ``heartbeat()`` is called every ``heartbeat_seconds``. Output is
streamed to a capped log file as it comes.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runs.logs import CappedLogWriter

log = logging.getLogger("studio.worker")

# The steps a worker process started die with it. A helper process (one per worker process,
# in a session of its own so that a signal to the worker's group does not reach it) keeps the
# list of their process groups and reads a pipe from the worker; when the worker process is
# gone, however it ended, the pipe reaches end of file and the helper kills those groups.
# PR_SET_PDEATHSIG would need a preexec_fn, which forces a fork() of the whole worker per step
# (about 7 ms), or an extra exec such as setpriv's (about 1.4 ms): the helper costs one write.
_LIFELINE = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


class _Lifeline:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._owner = 0
        self._held: set[int] = set()

    def _write(self, line: str) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-S", "-c", _LIFELINE],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
            # A helper started anew (the last one died) learns the steps still running.
            line = "".join(f"+{group}\n" for group in self._held) + line
        self._proc.stdin.write(line.encode())
        self._proc.stdin.flush()

    def _send(self, sign: str, group: int) -> None:
        with self._lock:
            if self._owner != os.getpid():
                # First use, or a forked copy: the parent's helper and steps are not ours.
                self._proc, self._held, self._owner = None, set(), os.getpid()
            if sign == "+":
                self._held.add(group)
            else:
                self._held.discard(group)
            for _ in range(2):
                try:
                    self._write(f"{sign}{group}\n")
                    return
                except OSError:  # the helper died, or could not start: try once more
                    self._proc = None
            log.warning("no helper process: step %s will not die with this worker", group)

    def hold(self, group: int) -> None:
        self._send("+", group)

    def release(self, group: int) -> None:
        self._send("-", group)


_lifeline = _Lifeline()


@dataclass
class StepJob:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    log_cap: int
    pass_fds: tuple[int, ...] = ()  # descriptors the step inherits (a ParallelRunStep's feed)


@dataclass
class Outcome:
    exit_code: int | None
    stopped: bool
    log_size: int
    reason: str = ""
    pid: int | None = field(default=None)
    timed_out: bool = False
    log_no_space: OSError | None = None  # the log could not be written: its disk is full


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
    timeout_seconds: float | None = None,
) -> Outcome:
    """Run ``job`` to its end, or until ``watch()`` says stop, or ``timeout_seconds`` pass
    (then its whole process group is killed and ``Outcome.timed_out`` is set)."""
    writer = CappedLogWriter(job.log_path, job.log_cap)
    try:
        proc = subprocess.Popen(
            job.argv,
            cwd=job.cwd,
            env=job.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            pass_fds=job.pass_fds,
        )
    except OSError as exc:
        writer.write(f"Could not start the step: {exc}\n".encode())
        return Outcome(exit_code=None, stopped=False, log_size=writer.close(), reason=str(exc))

    _lifeline.hold(proc.pid)
    if on_start is not None:
        on_start(proc.pid)
    done = threading.Event()
    stopped = threading.Event()
    timed_out = threading.Event()
    parent = os.getppid()
    deadline = time.monotonic() + timeout_seconds if timeout_seconds else None

    def _watcher() -> None:
        last_beat = time.monotonic()
        try:
            while not done.wait(
                watch_seconds
                if deadline is None
                else max(0.0, min(watch_seconds, deadline - time.monotonic()))
            ):
                if deadline is not None and time.monotonic() >= deadline:
                    timed_out.set()
                    kill_group(proc.pid, grace_seconds)
                    return
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
        _lifeline.release(proc.pid)
        size = writer.close()
    return Outcome(
        exit_code=exit_code,
        stopped=stopped.is_set(),
        log_size=size,
        pid=proc.pid,
        timed_out=timed_out.is_set(),
        log_no_space=writer.no_space,
    )
