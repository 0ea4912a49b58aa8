"""A step runs sandboxed: the server's files, other processes and other steps are out of its
reach, while its SDK, inputs and outputs work."""

from __future__ import annotations

import json
import shutil

import pytest

from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]


def test_a_step_cannot_read_or_change_what_the_server_owns(studio, ws):
    data_dir = studio.data_dir
    targets = {
        "secret_key": str(data_dir / "secret_key"),
        "database": str(data_dir / "studio.sqlite3"),
        "checkout_settings": str(ROOT / "studio" / "settings.py"),
        "worker_log": str(data_dir / "worker.log"),
        "data_dir": str(data_dir),
    }
    step = PythonScriptStep(
        name="probe",
        script_name="probe.py",
        source_directory=str(ROOT / "tests" / "sources" / "sandbox"),
        arguments=[json.dumps(targets)],
        allow_reuse=False,
    )
    run = Experiment(ws, "sandbox").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    assert run.get_status() == "Finished"
    step_run = next(iter(run.get_steps()))
    log = studio.api(
        "GET", f"/steps/{step_run.id}/files/download/", params={"name": "user_logs/std_log.txt"}
    ).text
    found = json.loads(log.split("PROBE ", 1)[1].splitlines()[0])
    for name in ("secret_key", "database", "checkout_settings", "worker_log"):
        assert found[name] == "FileNotFoundError", (name, found)
    # (whatever the step wrote there went to its own private file system)
    assert not (data_dir / "planted-by-step").exists()
    assert found["secrets_in_proc"] == [] and found["env_secrets"] == []
    assert found["processes_seen"] <= 3  # its own PID namespace: bubblewrap and the step
    assert step_run.get_metrics()["probe"] == 1  # the SDK reaches Studio over HTTP
