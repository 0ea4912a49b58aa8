"""Keep the roles of ``make run`` (web, worker, scheduler) running: a role that dies is started
again after a backoff, with a log line, while the others keep serving; a stop request ends them
all within a bound, their process groups included."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

# A role that ran this long before dying starts again at once; one that keeps dying waits
# 1, 2, 4 ... up to MAX_BACKOFF seconds between starts.
HEALTHY_SECONDS = 60.0
MAX_BACKOFF = 30.0


@dataclass
class Role:
    name: str
    argv: Sequence[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = field(default=0)


class Supervisor:
    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        start: Callable[[Sequence[str]], subprocess.Popen],
        say: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.roles = [Role(name, argv) for name, argv in commands.items()]
        self._start, self._say, self._clock = start, say, clock

    def start_all(self) -> None:
        for role in self.roles:
            self._launch(role)

    def _launch(self, role: Role) -> None:
        role.process = self._start(role.argv)
        role.started_at, role.restart_at = self._clock(), None
        self._say(f"{role.name} started (pid {role.process.pid})")

    def tick(self) -> None:
        """Notice dead roles and start those whose backoff has passed."""
        now = self._clock()
        for role in self.roles:
            if role.process is not None and role.restart_at is None:
                code = role.process.poll()
                if code is None:
                    continue
                # What the dead role left in its process group (a Celery pool) goes too.
                _signal_group(role.process, signal.SIGKILL)
                ran = now - role.started_at
                role.failures = 0 if ran >= HEALTHY_SECONDS else role.failures + 1
                wait = 0.0 if role.failures == 0 else min(MAX_BACKOFF, 2.0 ** (role.failures - 1))
                role.restart_at = now + wait
                self._say(
                    f"{role.name} exited with code {code} after {ran:.0f} s; "
                    f"restarting it in {wait:.0f} s (the others keep running)"
                )
            if role.restart_at is not None and now >= role.restart_at:
                role.restarts += 1
                self._launch(role)

    def stop_all(self, grace: float = 8.0) -> None:
        """TERM each role's process group, then KILL what is left after ``grace`` seconds."""
        running = [r.process for r in self.roles if r.process is not None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = self._clock() + grace
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                pass
        for process in running:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
