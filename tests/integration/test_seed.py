"""The seed's code, every block verbatim (prefix changed), run end to end.

Each test runs, in a copy of tests/sources/seed/, one program: ``preamble.py`` (what the
seed's prose assumes: ``ws``, ``Dataset``, ``run_config``, a registered ``raw_dataset``, the
cluster ``aml-cluster``), then seed blocks in the seed's order, with the test's own lines
between them where the seed's prose leaves something out (which pipeline to submit, the
``auth_header``...). The blocks build on each other as the seed's sections do: later blocks
run after the first block, which defines ``prepped_data``, ``step1`` and ``step2``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.emulators import AZURITE_ACCOUNT, AZURITE_KEY
from tests.seed import SEED, block

pytestmark = pytest.mark.integration


def _program(*parts: str | int) -> str:
    """The preamble, then each part: a seed block by number, or the test's own lines."""
    text = [(SEED / "preamble.py").read_text()]
    for part in parts:
        if isinstance(part, int):
            text.append(f"# --- seed block {part}, verbatim\n{block(part)}")
        else:
            text.append(f"# --- the test's own lines\n{part.strip()}\n")
    return "\n".join(text)


def _run(studio, tmp_path: Path, *parts, implied: str | None = None, **env) -> str:
    folder = tmp_path / "seed"
    shutil.copytree(SEED, folder, ignore=shutil.ignore_patterns("implied", "blocks"))
    if implied:  # the scripts a block implies where the seed's own script does not fit it
        shutil.copytree(SEED / "implied" / implied, folder, dirs_exist_ok=True)
    (folder / "program.py").write_text(_program(*parts))
    done = subprocess.run(
        [sys.executable, "program.py"],
        cwd=folder,
        env={**os.environ, "STUDIO_URL": studio.url, "STUDIO_TOKEN": studio.token, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    return done.stdout


def _value(output: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)} (\S+)", output, re.MULTILINE)
    assert match, f"{label} not printed:\n{output[-3000:]}"
    return match.group(1)


def _run_json(studio, run_id: str) -> dict:
    return studio.api("GET", f"runs/{run_id}/").json()


SUBMIT_FIRST_PIPELINE = """
from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline

pipeline = Pipeline(workspace=ws, steps=[step1, step2])
experiment = Experiment(workspace=ws, name="training-pipeline")
"""


def test_the_first_block_runs_the_data_prep_script_and_trains(studio, tmp_path):
    out = _run(
        studio,
        tmp_path,
        1,
        SUBMIT_FIRST_PIPELINE
        + """
pipeline_run = experiment.submit(pipeline)
pipeline_run.wait_for_completion(show_output=True)
print("run:", pipeline_run.id)
again = experiment.submit(pipeline)
again.wait_for_completion(show_output=False)
print("reused:", all(s.get_details()["reuse"]["reused"] for s in again.get_steps()))
""",
    )
    assert "PipelineRun Status: Finished" in out
    assert "reused: True" in out  # an unchanged resubmit runs nothing again
    assert "training on 100 rows with columns ['col1', 'col2', 'col3']" in out
    run = _run_json(studio, _value(out, "run:"))
    prep, train = run["steps"]
    assert prep["name"] == "prepare data" and prep["compute_target"] == "aml-cluster"
    assert prep["outputs"]["prepped"]["path"] == f"dataset/{prep['id']}/prepped"
    assert (
        f"parent run: {run['id']}" in studio.api("GET", f"steps/{train['id']}/log/").json()["data"]
    )
    graph = {s["name"]: s for s in run["graph"]["steps"]}
    assert [i["name"] for i in graph["prepare data"]["inputs"]] == ["raw_data"]


def test_the_reuse_block_disables_reuse_of_its_step(studio, tmp_path):
    out = _run(
        studio,
        tmp_path,
        1,
        3,
        """
from studio.sdk.core import Experiment
from studio.sdk.pipeline.core import Pipeline

for attempt in (1, 2):
    run = Experiment(ws, "seed-reuse").submit(Pipeline(ws, [step1]))
    run.wait_for_completion(show_output=False)
    print("reuse", attempt, run.find_step_run("prepare data")[0].get_details()["reuse"])
""",
        implied="reuse",
    )
    second = next(line for line in out.splitlines() if line.startswith("reuse 2 "))
    assert "'reused': False" in second and "reuse disabled" in second
    assert "(This step will run and generate new outputs)" in out  # allow_reuse=False


def test_regenerate_outputs_runs_every_step(studio, tmp_path):
    out = _run(
        studio,
        tmp_path,
        1,
        SUBMIT_FIRST_PIPELINE
        + """
train_pipeline = pipeline
experiment.submit(train_pipeline).wait_for_completion(show_output=False)
""",
        4,
        """
pipeline_run.wait_for_completion(show_output=False)
for step in pipeline_run.get_steps():
    print("reason", step.name, step.get_details()["reuse"]["reason"])
""",
    )
    assert "reason prepare data regenerate_outputs" in out
    assert "reason train model regenerate_outputs" in out
    assert "(This step will run and generate new outputs)" in out


def test_publishing_and_the_rest_endpoint(studio, tmp_path):
    out = _run(
        studio,
        tmp_path,
        1,
        SUBMIT_FIRST_PIPELINE
        + """
experiment.submit(pipeline)  # the most recent run: publishing it does not wait for its end
""",
        5,
        """
print("published:", published_pipeline.id)
""",
        6,
        7,
        """
from studio.sdk.core.authentication import ServicePrincipalAuthentication

auth = ServicePrincipalAuthentication(
    tenant_id="tenant", service_principal_id="ci", service_principal_password="not-used"
)
auth_header = auth.get_authentication_header()
""",
        8,
        """
from studio.sdk.pipeline.core import PipelineRun

print("rest run:", run_id, PipelineRun.get(ws, run_id).wait_for_completion(show_output=False))
""",
    )
    endpoint = next(line for line in out.splitlines() if "/PipelineRuns/PipelineSubmit/" in line)
    assert endpoint.startswith(studio.url + "/pipelines/v1.0/PipelineRuns/PipelineSubmit/")
    run_id, status = re.search(r"^rest run: (\S+) (\S+)$", out, re.MULTILINE).groups()
    assert status == "Finished"
    run = _run_json(studio, run_id)
    assert run["experiment"] == "run_training_pipeline" and run["status"] == "Completed"
    assert run["published_pipeline"] == endpoint.rsplit("/", 1)[-1]
    from_run = studio.api("GET", f"publishedpipelines/{run['published_pipeline']}/").json()
    assert from_run["name"] == "training_pipeline" and from_run["version"] == "1.0"
    assert from_run["source_run"]  # published from the experiment's most recent run
    first = studio.api("GET", f"publishedpipelines/{_value(out, 'published:')}/").json()
    assert first["description"] == "Model training pipeline" and first["source_run"] is None


def test_pipeline_parameters_from_their_definition_to_the_rest_body(studio, tmp_path):
    out = _run(
        studio,
        tmp_path,
        1,
        9,
        """
import requests

from studio.sdk.core.authentication import InteractiveLoginAuthentication
from studio.sdk.pipeline.core import Pipeline

pipeline = Pipeline(workspace=ws, steps=[step1, step2])
published_pipeline = pipeline.publish(name="training_pipeline",
                                      description="Model training pipeline",
                                      version="1.0")
rest_endpoint = published_pipeline.endpoint
auth_header = InteractiveLoginAuthentication().get_authentication_header()
default = requests.post(rest_endpoint, headers=auth_header,
                        json={"ExperimentName": "run_training_pipeline"})
print("default run:", default.json()["Id"])
""",
        10,
        """
from studio.sdk.pipeline.core import PipelineRun

print("override run:", response.json()["Id"])
for run_id in (default.json()["Id"], response.json()["Id"]):
    PipelineRun.get(ws, run_id).wait_for_completion(show_output=False)
""",
        implied="parameters",
    )
    for label, expected in [("default run:", 0.01), ("override run:", 0.1)]:
        run = _run_json(studio, _value(out, label))
        assert run["status"] == "Completed" and run["parameters"] == {"reg_rate": expected}
        train = next(s for s in run["steps"] if s["name"] == "train model")
        log = studio.api("GET", f"steps/{train['id']}/log/").json()["data"]
        assert f"training on 100 rows with reg_rate={expected}" in log


def test_schedules_by_the_clock_and_on_data_change(studio, tmp_path, azurite):
    out = _run(
        studio,
        tmp_path,
        1,
        SUBMIT_FIRST_PIPELINE
        + """
import os

from studio.sdk.core import Datastore

published_pipeline = pipeline.publish(name="training_pipeline",
                                      description="Model training pipeline", version="1.0")
published_pipeline_id = published_pipeline.id
Datastore.register_azure_blob_container(ws, "blob_data", container_name="data",
                                        account_name=os.environ["ACCOUNT"],
                                        account_key=os.environ["ACCOUNT_KEY"],
                                        endpoint=os.environ["BLOB_ENDPOINT"],
                                        create_if_not_exists=True, overwrite=True)
""",
        11,
        """
print("daily:", pipeline_schedule.id, pipeline_schedule.recurrence.frequency)
daily_schedule = pipeline_schedule
""",
        12,
        """
import time

from studio.sdk.core import Experiment

pipeline_schedule.update(polling_interval=0.02)  # minutes: poll every ~1 s, not every 5 min
deadline = time.monotonic() + 60  # the first look records what is there now
while time.monotonic() < deadline and not ws._client.get(
    f"schedules/{pipeline_schedule.id}/"
)["last_polled_at"]:
    time.sleep(0.2)
with open("new_training_data.csv", "w") as f:
    f.write("col1,col2\\n1,2\\n")
training_datastore.upload_files(["new_training_data.csv"], target_path="data/training",
                                overwrite=True, show_progress=False)
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not pipeline_schedule.get_pipeline_runs():
    time.sleep(1)
fired = pipeline_schedule.get_pipeline_runs()[0]
print("fired:", fired.id, fired.wait_for_completion(show_output=False))
pipeline_schedule.disable()
daily_schedule.disable()
""",
        ACCOUNT=AZURITE_ACCOUNT,
        ACCOUNT_KEY=AZURITE_KEY,
        BLOB_ENDPOINT=azurite,
    )
    assert re.search(r"^daily: \S+ Day$", out, re.MULTILINE)
    fired = _run_json(studio, _value(out, "fired:"))
    assert fired["experiment"] == "Training_Pipeline" and fired["status"] == "Completed"
    assert out.rstrip().endswith("Finished")
