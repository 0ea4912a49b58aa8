"""Running a step attempt as a real subprocess: exit code, log, stop, heartbeat."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

from runs.executor import StepJob, run_step


def _job(tmp_path: Path, source: str, cap: int = 1024 * 1024) -> StepJob:
    script = tmp_path / "step.py"
    script.write_text(textwrap.dedent(source))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONUNBUFFERED": "1"}
    return StepJob(
        argv=[sys.executable, "step.py"],
        cwd=tmp_path,
        env=env,
        log_path=tmp_path / "logs" / "std_log.txt",
        log_cap=cap,
    )


def _never() -> bool:
    return False


def _nothing() -> None:
    pass


def _is_gone(pid: int) -> bool:
    """True once a process has exited (a zombie left for an init that does not reap counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:  # gone (ENOENT), or going between the open and the read (ESRCH)
        return True


def test_it_returns_the_exit_code_and_captures_stdout_and_stderr(tmp_path):
    job = _job(
        tmp_path,
        """
        import sys
        print("to stdout")
        print("to stderr", file=sys.stderr)
        sys.exit(3)
        """,
    )
    started = []
    outcome = run_step(
        job,
        watch=_never,
        heartbeat=_nothing,
        heartbeat_seconds=60,
        grace_seconds=1,
        on_start=started.append,
        watch_seconds=0.05,
    )
    assert outcome.exit_code == 3
    assert outcome.stopped is False
    log = job.log_path.read_bytes()
    assert b"to stdout\n" in log and b"to stderr\n" in log
    assert outcome.log_size == len(log)
    assert started == [outcome.pid]


def test_it_runs_the_script_in_its_working_directory_with_its_environment(tmp_path):
    job = _job(tmp_path, "import os; print(os.getcwd()); print(os.environ['STEP_NAME'])")
    job.env["STEP_NAME"] = "train"
    outcome = run_step(
        job,
        watch=_never,
        heartbeat=_nothing,
        heartbeat_seconds=60,
        grace_seconds=1,
        watch_seconds=0.05,
    )
    assert outcome.exit_code == 0
    assert job.log_path.read_text().splitlines() == [str(tmp_path.resolve()), "train"]


def test_it_reports_a_step_that_cannot_start(tmp_path):
    job = _job(tmp_path, "")
    job.argv = [str(tmp_path / "no-such-interpreter"), "step.py"]
    outcome = run_step(job, watch=_never, heartbeat=_nothing, heartbeat_seconds=60, grace_seconds=1)
    assert outcome.exit_code is None
    assert outcome.reason
    assert job.log_path.read_text().startswith("Could not start the step:")


def test_it_stops_a_cooperative_step_with_sigterm_well_before_the_grace(tmp_path):
    job = _job(tmp_path, 'import time\nprint("started")\ntime.sleep(60)\n')
    outcome_started = time.monotonic()
    outcome = run_step(
        job,
        watch=lambda: b"started" in job.log_path.read_bytes(),
        heartbeat=_nothing,
        heartbeat_seconds=60,
        grace_seconds=10,
        watch_seconds=0.05,
    )
    assert outcome.stopped is True
    assert outcome.exit_code == -15
    assert time.monotonic() - outcome_started < 5


def test_it_kills_a_step_that_ignores_sigterm_and_its_grandchild_within_the_grace(tmp_path):
    job = _job(
        tmp_path,
        """
        import signal, subprocess, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen(["sleep", "60"])  # inherits the ignored SIGTERM
        print(child.pid, flush=True)
        time.sleep(60)
        """,
    )
    stop_asked = []

    def watch() -> bool:
        if job.log_path.read_bytes().strip():
            stop_asked.append(time.monotonic())
            return True
        return False

    outcome = run_step(
        job,
        watch=watch,
        heartbeat=_nothing,
        heartbeat_seconds=60,
        grace_seconds=0.5,
        watch_seconds=0.05,
    )
    took = time.monotonic() - stop_asked[0]
    grandchild = int(job.log_path.read_text().split()[0])
    assert outcome.stopped is True
    assert outcome.exit_code == -9
    assert 0.5 <= took < 3
    deadline = time.monotonic() + 2
    while not _is_gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _is_gone(grandchild)


def test_it_kills_what_a_finished_step_left_running_in_its_group(tmp_path):
    job = _job(
        tmp_path,
        """
        import subprocess
        child = subprocess.Popen(["sleep", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(child.pid, flush=True)
        """,
    )
    started = time.monotonic()
    outcome = run_step(
        job,
        watch=_never,
        heartbeat=_nothing,
        heartbeat_seconds=60,
        grace_seconds=1,
        watch_seconds=0.05,
    )
    assert outcome.exit_code == 0
    assert time.monotonic() - started < 5
    grandchild = int(job.log_path.read_text().split()[0])
    deadline = time.monotonic() + 2
    while not _is_gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _is_gone(grandchild)


def test_it_ends_when_the_script_exits_even_if_a_child_still_holds_its_output(tmp_path):
    job = _job(
        tmp_path,
        """
        import subprocess
        subprocess.Popen(["sleep", "3"])  # a background helper that inherits stdout
        print("done", flush=True)
        """,
    )
    started = time.monotonic()
    outcome = run_step(
        job,
        watch=_never,
        heartbeat=_nothing,
        heartbeat_seconds=60,
        grace_seconds=1,
        watch_seconds=0.05,
    )
    assert outcome.exit_code == 0
    assert time.monotonic() - started < 2
    assert job.log_path.read_text() == "done\n"


def test_it_sends_heartbeats_while_the_step_runs(tmp_path):
    job = _job(tmp_path, "import time; time.sleep(0.8)")
    beats = []
    outcome = run_step(
        job,
        watch=_never,
        heartbeat=lambda: beats.append(time.monotonic()),
        heartbeat_seconds=0.1,
        grace_seconds=1,
        watch_seconds=0.05,
    )
    assert outcome.exit_code == 0
    assert len(beats) >= 3


def test_it_calls_the_thread_cleanup_when_the_watcher_ends(tmp_path):
    job = _job(tmp_path, "pass")
    cleaned = []
    run_step(
        job,
        watch=_never,
        heartbeat=_nothing,
        heartbeat_seconds=60,
        grace_seconds=1,
        watch_seconds=0.05,
        thread_cleanup=lambda: cleaned.append(True),
    )
    assert cleaned == [True]


def test_it_caps_the_log_of_a_chatty_step(tmp_path):
    job = _job(tmp_path, 'for i in range(100000):\n    print("line", i)\n', cap=1024 * 1024)
    outcome = run_step(
        job,
        watch=_never,
        heartbeat=_nothing,
        heartbeat_seconds=60,
        grace_seconds=1,
        watch_seconds=0.05,
    )
    text = job.log_path.read_text()
    assert outcome.exit_code == 0
    assert outcome.log_size == len(text) < 1024 * 1024 + 100
    assert text.startswith("line 0\n")
    assert text.endswith("line 99999\n")
    assert "log truncated" in text


def test_it_caps_the_log_of_a_chatty_step_at_the_smallest_allowed_cap(tmp_path):
    job = _job(
        tmp_path, 'import sys\nsys.stdout.write("x" * 300000 + "\\nlast line\\n")\n', cap=4096
    )
    outcome = run_step(
        job,
        watch=_never,
        heartbeat=_nothing,
        heartbeat_seconds=60,
        grace_seconds=1,
        watch_seconds=0.05,
    )
    text = job.log_path.read_text()
    assert outcome.exit_code == 0
    assert len(text) < 4096 + 100
    assert text.endswith("last line\n")


def test_a_script_dies_with_the_worker_process_that_started_it(tmp_path):
    # The worker process is killed with SIGKILL (no chance to clean up) while its step runs:
    # the step's process group goes too.
    import signal
    import subprocess

    (tmp_path / "step.py").write_text("import time\ntime.sleep(120)\n")
    worker = tmp_path / "worker.py"
    worker.write_text(
        textwrap.dedent(
            f"""
            import sys
            from pathlib import Path
            from runs.executor import StepJob, run_step

            job = StepJob(argv=[sys.executable, "step.py"], cwd=Path({str(tmp_path)!r}),
                          env={{"PATH": "/usr/bin:/bin"}},
                          log_path=Path({str(tmp_path)!r}) / "log.txt", log_cap=1 << 20)
            run_step(job, watch=lambda: False, heartbeat=lambda: None, heartbeat_seconds=60,
                     grace_seconds=1, on_start=lambda pid: print(pid, flush=True))
            """
        )
    )
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [sys.executable, str(worker)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
        start_new_session=True,
    )
    try:
        pid = int(proc.stdout.readline())
        assert not _is_gone(pid)
        os.killpg(proc.pid, signal.SIGKILL)  # the worker's whole process group
        proc.wait()
        deadline = time.monotonic() + 10
        while not _is_gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _is_gone(pid), "the step outlived its worker"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_new_helper_learns_the_steps_still_running_when_the_last_one_died(tmp_path):
    # The helper that would kill a worker's steps is itself killed while a step runs; the next
    # step's start brings up a new one that knows both steps.
    import signal
    import subprocess

    from runs import executor

    lifeline = executor._Lifeline()
    first = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    second = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        lifeline.hold(first.pid)
        helper = lifeline._proc
        helper.kill()
        helper.wait()
        lifeline.hold(second.pid)
        assert lifeline._proc is not helper
        lifeline._proc.stdin.close()  # what the worker's death does: the pipe ends
        lifeline._proc.wait(timeout=10)
        assert first.wait(timeout=10) == -signal.SIGKILL
        assert second.wait(timeout=10) == -signal.SIGKILL
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
