"""Timeouts: azureml's max_run_duration_seconds on a step's run configuration, and
STUDIO_MAX_STEP_SECONDS as the ceiling every step has. A timed-out step fails with the reason
and frees its slot; every process it started goes with it."""

from __future__ import annotations

import os
import sys
import textwrap
import time

import pytest

from runs.execution import step_timeout
from runs.executor import StepJob, run_step
from studio.core.errors import StudioError
from studio.core.spec import GraphSpec, StepSpec
from studio.sdk.core import Experiment
from studio.sdk.core.runconfig import RunConfiguration
from studio.sdk.core.script_run_config import ScriptRunConfig
from studio.sdk.exceptions import ActivityFailedException
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import CommandStep, PythonScriptStep
from tests.harness import ROOT
from tests.reliability.invariants import assert_invariants

STEPS = str(ROOT / "tests" / "sources" / "steps")


def _node(timeout=None) -> StepSpec:
    return StepSpec(
        node_id="a", name="a", script_name="a.py", snapshot="c" * 64, timeout_seconds=timeout
    )


def test_the_ceiling_caps_a_step_and_a_shorter_limit_wins(settings):
    settings.STUDIO_MAX_STEP_SECONDS = 100
    assert step_timeout(_node()) == 100
    assert step_timeout(_node(30)) == 30
    assert step_timeout(_node(3000)) == 100
    settings.STUDIO_MAX_STEP_SECONDS = 0
    assert step_timeout(_node()) is None
    assert step_timeout(_node(30)) == 30


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True, 2**31])
def test_a_submitted_timeout_must_be_a_whole_positive_number(bad):
    graph = {
        "steps": [
            {
                "node_id": "a",
                "name": "a",
                "script_name": "a.py",
                "snapshot": "c" * 64,
                "timeout_seconds": bad,
            }
        ]
    }
    with pytest.raises(StudioError) as caught:
        GraphSpec.from_dict(graph)
    assert caught.value.field == "graph.steps[0].timeout_seconds"


def test_a_script_past_its_timeout_is_killed_with_what_it_started(tmp_path):
    """The script and a grandchild in its process group die at the deadline, not later."""
    script = tmp_path / "step.py"
    script.write_text(
        textwrap.dedent(
            """
            import subprocess, sys, time
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            print(child.pid, flush=True)
            time.sleep(600)
            """
        )
    )
    job = StepJob(
        argv=[sys.executable, "step.py"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        log_path=tmp_path / "std_log.txt",
        log_cap=1 << 20,
    )
    started = time.monotonic()
    outcome = run_step(
        job,
        watch=lambda: False,
        heartbeat=lambda: None,
        heartbeat_seconds=60,
        grace_seconds=0.5,
        timeout_seconds=1.5,
    )
    took = time.monotonic() - started
    assert outcome.timed_out and not outcome.stopped
    assert 1.4 < took < 5, took
    child = int((tmp_path / "std_log.txt").read_text().split()[0])
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        try:
            with open(f"/proc/{child}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except OSError:  # gone between the check and the read
            break
        time.sleep(0.05)
    else:
        assert not os.path.exists(f"/proc/{child}"), "the grandchild outlived the timeout"


def test_the_run_configuration_carries_max_run_duration_seconds_to_the_step(tmp_path):
    (tmp_path / "a.py").write_text("print('a')\n")
    config = RunConfiguration()
    config.max_run_duration_seconds = 90
    step = PythonScriptStep(
        name="a", script_name="a.py", source_directory=str(tmp_path), runconfig=config
    )
    command = CommandStep(
        name="c",
        runconfig=ScriptRunConfig(
            source_directory=str(tmp_path), command="echo hi", max_run_duration_seconds=45
        ),
    )
    graph = Pipeline(None, [step, command]).graph_spec
    assert {s.name: s.timeout_seconds for s in graph.steps} == {"a": 90, "c": 45}


@pytest.mark.integration
def test_a_step_past_its_max_run_duration_fails_and_frees_its_slot(studio, ws):
    config = RunConfiguration()
    config.max_run_duration_seconds = 2
    forever = PythonScriptStep(
        name="forever", script_name="forever.py", source_directory=STEPS, runconfig=config
    )
    run = Experiment(ws, "timeouts").submit(Pipeline(ws, [forever]))
    started = time.monotonic()
    with pytest.raises(ActivityFailedException) as caught:
        run.wait_for_completion(show_output=False)
    assert time.monotonic() - started < 30
    assert "timed out after 2 s" in str(caught.value)
    step = studio.api("GET", f"runs/{run.id}/").json()["steps"][0]
    assert step["status"] == "Failed" and step["error"] == "Step timed out after 2 s."
    # The slot is free: a one-line step runs at once.
    quick = PythonScriptStep(name="quick", script_name="noop.py", source_directory=STEPS)
    after = Experiment(ws, "timeouts").submit(Pipeline(ws, [quick]))
    after.wait_for_completion(show_output=False)
    assert after.get_status() == "Finished"
    assert_invariants(studio, run_ids=[run.id, after.id])  # the suite's Studio: these runs
