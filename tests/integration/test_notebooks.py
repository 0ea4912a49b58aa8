"""Notebooks as pipeline steps (NotebookRunnerStep), through the SDK against a real worker:
parameters into the cell tagged ``parameters``, data passed on to a script step, reuse, a
failing cell, the log while cells run, and the executed notebook kept and shown sanitized."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pytest
import requests

from studio.sdk.contrib.notebook import (
    AzureMLNotebookHandler,
    NotebookRunConfig,
    NotebookRunnerStep,
)
from studio.sdk.core import Environment, Experiment, RunConfiguration
from studio.sdk.core.conda_dependencies import CondaDependencies
from studio.sdk.pipeline.core import Pipeline, PipelineData, PipelineParameter, PipelineRun
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import PASSWORD

pytestmark = pytest.mark.integration


def write_notebook(path: Path, *cells: str, parameters: str = "") -> None:
    """A notebook of code cells; ``parameters`` is the cell tagged ``parameters``."""
    sources = ([(parameters, ["parameters"])] if parameters else []) + [(c, []) for c in cells]
    path.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "id": f"cell-{position}",
                        "cell_type": "code",
                        "execution_count": None,
                        "metadata": {"tags": tags},
                        "outputs": [],
                        "source": source,
                    }
                    for position, (source, tags) in enumerate(sources)
                ],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )


PREPARE_PARAMETERS = 'label = "default"\nrate = 0.1\nepochs = 1\nprepared = None'
PREPARE = """
import os
os.makedirs(prepared, exist_ok=True)
line = f"{label} rate={rate} epochs={epochs} ({type(epochs).__name__})"
open(os.path.join(prepared, "result.txt"), "w").write(line)
print("prepared:", line)
"""
READ = """
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--inp")
args = parser.parse_args()
print("read:", open(os.path.join(args.inp, "result.txt")).read())
"""


@pytest.fixture
def sources(tmp_path):
    (tmp_path / "nb").mkdir()
    write_notebook(tmp_path / "nb" / "prepare.ipynb", PREPARE, parameters=PREPARE_PARAMETERS)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "read.py").write_text(READ)
    return tmp_path


def _pipeline(ws, root: Path, label: str = "from the run config") -> Pipeline:
    prepared = PipelineData("prepared")
    config = NotebookRunConfig(
        source_directory=str(root / "nb"),
        notebook="prepare.ipynb",
        parameters={"label": label},
        handler=AzureMLNotebookHandler(timeout=120, progress_bar=False, log_output=True),
    )
    notebook = NotebookRunnerStep(
        name="prepare",
        notebook_run_config=config,
        params={"epochs": PipelineParameter("epochs", default_value=3), "rate": 0.5},
        outputs=[prepared],
        compute_target="local",
    )
    read = PythonScriptStep(
        name="read",
        script_name="read.py",
        arguments=["--inp", prepared],
        inputs=[prepared],
        source_directory=str(root / "scripts"),
    )
    return Pipeline(ws, [notebook, read])


def _reuse(run) -> dict:
    assert run.wait_for_completion(show_output=False) == "Finished", run.get_status()
    return {s.name: s.get_details()["reuse"] for s in run.get_steps()}


def _log(studio, step_id: str) -> str:
    return studio.api("GET", f"steps/{step_id}/log/", params={"offset": 0}).json()["data"]


def test_a_notebook_gets_its_parameters_and_its_output_feeds_a_script_step(studio, ws, sources):
    exp = Experiment(ws, f"notebook-{uuid.uuid4().hex[:6]}")
    first = exp.submit(_pipeline(ws, sources))
    assert {k: v["reused"] for k, v in _reuse(first).items()} == {"prepare": False, "read": False}
    expected = "from the run config rate=0.5 epochs=3 (int)"
    read = first.find_step_run("read")[0]
    assert f"read: {expected}" in _log(studio, read.id)
    prepare = first.find_step_run("prepare")[0]
    assert f"prepared: {expected}" in _log(studio, prepare.id)  # log_output=True

    # The same pipeline again: both steps reused.
    again = _reuse(exp.submit(_pipeline(ws, sources)))
    assert again["prepare"]["reused"] and again["read"]["reused"]

    # A changed notebook parameter re-runs the notebook and says why.
    changed = exp.submit(_pipeline(ws, sources), pipeline_parameters={"epochs": 4})
    reasons = _reuse(changed)
    assert reasons["prepare"]["reused"] is False
    assert "notebook parameter epochs 3 → 4" in reasons["prepare"]["reason"]
    assert "read: from the run config rate=0.5 epochs=4 (int)" in _log(
        studio, changed.find_step_run("read")[0].id
    )
    relabeled = _reuse(exp.submit(_pipeline(ws, sources, label="another")))
    assert "notebook parameter label" in relabeled["prepare"]["reason"]

    # A changed notebook re-runs it too.
    write_notebook(
        sources / "nb" / "prepare.ipynb", PREPARE + "\nprint('v2')", parameters=PREPARE_PARAMETERS
    )
    edited = _reuse(exp.submit(_pipeline(ws, sources)))
    assert edited["prepare"]["reason"].startswith("prepare.ipynb changed")


def test_a_published_notebook_pipeline_runs_from_its_rest_endpoint(studio, ws, sources):
    published = _pipeline(ws, sources).publish(
        name=f"notebook-{uuid.uuid4().hex[:6]}", description="a notebook step"
    )
    answer = requests.post(
        published.endpoint,
        headers={"Authorization": f"Bearer {studio.token}"},
        json={"ExperimentName": "notebook-rest", "ParameterAssignments": {"epochs": "6"}},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    run = PipelineRun.get(ws, answer.json()["Id"])
    assert run.wait_for_completion(show_output=False) == "Finished"
    log = _log(studio, run.find_step_run("read")[0].id)
    assert "read: from the run config rate=0.5 epochs=6 (int)" in log  # coerced to its type


def test_a_notebook_runs_in_its_steps_environment_with_the_sdk(studio, ws, tmp_path):
    write_notebook(
        tmp_path / "env.ipynb",
        "import sys, studio_envtest\n"
        "from studio.sdk.core import Run\n"
        "print('envtest', studio_envtest.VERSION, 'python', sys.executable)\n"
        "Run.get_context().log('rows', rows)",
        parameters="rows = 0",
    )
    environment = Environment("notebook-env")
    environment.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["studio-envtest==2.0"]
    )
    run_config = RunConfiguration()
    run_config.environment = environment
    config = NotebookRunConfig(
        source_directory=str(tmp_path),
        notebook="env.ipynb",
        parameters={"rows": 3},
        handler=AzureMLNotebookHandler(log_output=True),
        run_config=run_config,
    )
    step = NotebookRunnerStep(name="in env", notebook_run_config=config, compute_target="local")
    run = Experiment(ws, "notebook-env").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    step_run = run.find_step_run("in env")[0]
    log = _log(studio, step_run.id)
    # The kernel is the environment's own Python, which has the environment's packages.
    assert re.search(r"envtest 2\.0 python \S*/envs/[0-9a-f]+/bin/python", log), log[-3000:]
    assert step_run.get_metrics() == {"rows": 3}  # the SDK works in the notebook


def test_a_cell_past_the_handlers_timeout_fails_the_step_and_says_so(studio, ws, tmp_path):
    write_notebook(tmp_path / "slow.ipynb", "print('started')", "import time\ntime.sleep(60)")
    config = NotebookRunConfig(
        source_directory=str(tmp_path),
        notebook="slow.ipynb",
        handler=AzureMLNotebookHandler(timeout=2, progress_bar=False),
    )
    step = NotebookRunnerStep(name="slow", notebook_run_config=config, compute_target="local")
    run = Experiment(ws, "notebook-timeout").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    step_run = studio.api("GET", f"steps/{run.find_step_run('slow')[0].id}/").json()
    assert step_run["status"] == "Failed"
    assert (
        "CellTimeoutError: A cell timed out while it was being executed, after 2 seconds"
        in (step_run["error"].partition("\n")[0])
    ), step_run["error"]
    files = {f["name"] for f in studio.api("GET", f"steps/{step_run['id']}/files/").json()}
    assert "outputs/slow.output.ipynb" in files  # kept, up to the cell that timed out


HOSTILE = (
    "from IPython.display import HTML, display\n"
    'display(HTML(\'<b id="kept">kept output</b><script>document.title = "ran"</script>\''
    '\'<img src="x" onerror="document.title = 1">\'))'
)


@pytest.fixture(scope="module")
def failed_notebook(studio, tmp_path_factory):
    """A notebook that prints, shows hostile HTML, takes a while, then fails in a cell; and
    whether its first line was in the log while the step still ran."""
    ws = studio.workspace()
    root = tmp_path_factory.mktemp("failing-notebook")
    write_notebook(
        root / "explore.ipynb",
        "print('tick', n)",
        HOSTILE,
        "import time\ntime.sleep(8)",
        "ratio = n / 0",
        "print('never')",
        parameters="n = 1",
    )
    config = NotebookRunConfig(
        source_directory=str(root),
        notebook="explore.ipynb",
        output_notebook="explored.ipynb",
        parameters={"n": 7},
        handler=AzureMLNotebookHandler(log_output=True, progress_bar=False),
    )
    step = NotebookRunnerStep(name="explore", notebook_run_config=config, compute_target="local")
    run = Experiment(ws, "notebook-failing").submit(Pipeline(ws, [step]))
    step_id = None
    seen_while_running = False
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        step_row = studio.api("GET", f"runs/{run.id}/").json()["steps"][0]
        step_id = step_row["id"]
        if step_row["status"] in ("Completed", "Failed", "Canceled"):
            break
        if "tick 7" in _log(studio, step_id):
            # Still running once the line was read: it came while the cells ran.
            status = studio.api("GET", f"steps/{step_id}/").json()["status"]
            seen_while_running = status == "Running"
            break
        time.sleep(0.3)
    run.wait_for_completion(show_output=False, raise_on_error=False)
    return {
        "run": run,
        "step": studio.api("GET", f"steps/{step_id}/").json(),
        "live": seen_while_running,
    }


def test_cell_output_is_in_the_log_while_the_notebook_runs(failed_notebook):
    assert failed_notebook["live"]


def test_a_failing_cell_fails_the_step_with_the_cells_error(studio, failed_notebook):
    step = failed_notebook["step"]
    assert step["status"] == "Failed"
    assert step["error"].startswith(
        "Step failed with exit code 1: ZeroDivisionError: division by zero"
    ), step["error"]
    log = _log(studio, step["id"])
    assert "----> 1 ratio = n / 0" in log  # the cell's traceback
    assert "never" not in log.replace("print('never')", "")


def _session(studio) -> requests.Session:
    session = requests.Session()
    token = session.get(f"{studio.url}/login/", timeout=30).cookies["csrftoken"]
    session.post(
        f"{studio.url}/login/",
        data={"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{studio.url}/login/"},
        timeout=30,
    )
    return session


def test_the_executed_notebook_is_kept_and_shown_sanitized(studio, failed_notebook):
    step, run = failed_notebook["step"], failed_notebook["run"]
    files = studio.api("GET", f"steps/{step['id']}/files/").json()
    names = {f["name"] for f in files}
    assert {"outputs/explored.ipynb", "outputs/explored.html"} <= names, names
    session = _session(studio)
    executed = session.get(
        f"{studio.url}/steps/{step['id']}/file/",
        params={"name": "outputs/explored.ipynb"},
        timeout=30,
    ).json()
    errors = [
        o for c in executed["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert [(e["ename"], e["evalue"]) for e in errors] == [
        ("ZeroDivisionError", "division by zero")
    ]
    # The run page: a Notebook tab with the notebook in a sandboxed frame.
    page = session.get(
        f"{studio.url}/runs/{run.id}/", params={"step": step["id"], "tab": "notebook"}, timeout=30
    ).text
    assert (
        f'sandbox title="Executed notebook explore.ipynb" src="/steps/{step["id"]}/notebook/"'
        in page
    )
    parameters = session.get(
        f"{studio.url}/runs/{run.id}/",
        params={"step": step["id"], "tab": "parameters"},
        timeout=30,
    ).text
    assert "<h3>Notebook parameters</h3>" in parameters
    assert "<td><code>n</code></td><td><code>7</code></td>" in parameters
    shown = session.get(f"{studio.url}/steps/{step['id']}/notebook/", timeout=30)
    assert shown.status_code == 200 and 'id="kept"' in shown.text
    # No script element and no event handler on any element (the cell's source, shown as
    # text, still reads <script> and onerror, escaped).
    assert not re.search(r"<script", shown.text, re.IGNORECASE)
    assert not re.search(r"<[^>]*\son\w+\s*=", shown.text, re.IGNORECASE)
    assert "&lt;script&gt;" in shown.text
    assert "ZeroDivisionError" in shown.text
    policy = shown.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "script-src" not in policy and shown.headers["X-Frame-Options"] == "SAMEORIGIN"
    # Signed out, nothing is shown.
    anonymous = requests.get(
        f"{studio.url}/steps/{step['id']}/notebook/", timeout=30, allow_redirects=False
    )
    assert anonymous.status_code == 302
