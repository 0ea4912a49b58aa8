"""Cancel, timeout and worker loss end every process a sandboxed step started, even one that
left the step's session (setsid) after a double fork: the step's PID namespace ends with it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runs import sandbox
from runs.executor import StepJob, run_step

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

# The step double-forks a grandchild into a session of its own that touches a file every
# 0.1 s, then waits forever itself.
SCRIPT = textwrap.dedent(
    """
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                open("alive", "a").close()
                os.utime("alive")
                time.sleep(0.1)
        os._exit(0)
    while True:
        time.sleep(1)
    """
)


def _job(tmp_path: Path) -> StepJob:
    (tmp_path / "step.py").write_text(SCRIPT)
    box = sandbox.Sandbox(cwd=tmp_path)
    box.write(tmp_path)
    return StepJob(
        argv=box.wrap(["/usr/bin/python3", "step.py"], shutil.which("bwrap")),
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        log_path=tmp_path / "std_log.txt",
        log_cap=1 << 20,
    )


def _touched_since(path: Path, seconds: float) -> bool:
    """Whether anything still touches ``path`` (its time moves within ``seconds``)."""
    before = path.stat().st_mtime_ns
    time.sleep(seconds)
    return path.stat().st_mtime_ns != before


def _wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("how", ["cancel", "timeout"])
def test_cancel_and_timeout_end_a_detached_grandchild(tmp_path, how):
    alive = tmp_path / "alive"
    outcome = run_step(
        _job(tmp_path),
        watch=lambda: how == "cancel" and alive.exists(),
        heartbeat=lambda: None,
        heartbeat_seconds=60,
        grace_seconds=0.5,
        watch_seconds=0.2,
        timeout_seconds=3 if how == "timeout" else None,
    )
    assert outcome.stopped if how == "cancel" else outcome.timed_out
    assert alive.exists()
    assert not _touched_since(alive, 1.0), "the detached grandchild outlived the step"


def test_a_lost_worker_takes_a_detached_grandchild_with_it(tmp_path):
    """The worker process is SIGKILLed mid-step: its helper ends the step's sandbox."""
    alive = tmp_path / "alive"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import os, sys
                sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
                os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
                import django
                django.setup()
                from pathlib import Path
                from tests.reliability.test_descendants import _job
                from runs.executor import run_step
                run_step(_job(Path({str(tmp_path)!r})), watch=lambda: False,
                         heartbeat=lambda: None, heartbeat_seconds=60, grace_seconds=0.5)
                """
            ),
        ],
        start_new_session=True,
    )
    try:
        _wait_for(alive)
        assert _touched_since(alive, 0.5)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        time.sleep(1)
        assert not _touched_since(alive, 1.0), "the detached grandchild outlived its worker"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
