"""Rerun failed: a failed run submitted again reuses what completed and runs the rest."""

from __future__ import annotations

import uuid

import pytest

from studio.sdk.core import Experiment
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.data.data_reference import DataReference
from studio.sdk.pipeline.core import Pipeline, PipelineRun
from studio.sdk.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.integration

SCRIPT = """
import argparse, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--inp", default=None)
parser.add_argument("--fail-if", default=None)
args = parser.parse_args()
if args.fail_if and os.path.exists(os.path.join(args.fail_if, "fail-now")):
    raise RuntimeError("the flag file is there")
os.makedirs(args.out, exist_ok=True)
text = "{label}"
if args.inp:
    text = open(os.path.join(args.inp, "result.txt")).read() + " > " + text
open(os.path.join(args.out, "result.txt"), "w").write(text)
print("ran {label}")
"""


def rerun_chain(ws, root, flags: str):
    """first → middle → last, passing a file along; middle reads the folder ``flags`` of the
    default datastore and fails while it holds the file ``fail-now``; first is never reused
    by the ordinary rule (allow_reuse=False)."""
    store = ws.get_default_datastore()
    ref = DataReference(store, data_reference_name="flags", path_on_datastore=flags)
    for name in ("first", "middle", "last"):
        (root / name).mkdir(exist_ok=True)
        (root / name / f"{name}.py").write_text(SCRIPT.replace("{label}", name))
    outs = {name: OutputFileDatasetConfig(f"out_{name}") for name in ("first", "middle", "last")}
    steps, previous = [], None
    for name in ("first", "middle", "last"):
        args = ["--out", outs[name]]
        if previous is not None:
            args += ["--inp", outs[previous].as_input(f"in_{name}")]
        if name == "middle":
            args += ["--fail-if", ref]
        steps.append(
            PythonScriptStep(
                name=name,
                script_name=f"{name}.py",
                source_directory=str(root / name),
                arguments=args,
                allow_reuse=name != "first",
                inputs=[ref] if name == "middle" else None,
            )
        )
        previous = name
    return Pipeline(ws, steps)


def test_a_rerun_reuses_the_completed_step_and_runs_the_failed_one_and_those_after(
    studio, ws, tmp_path
):
    flags = f"flags/{uuid.uuid4().hex[:8]}"
    (tmp_path / "ok").write_text("x")
    (tmp_path / "fail-now").write_text("x")
    ws.get_default_datastore().upload_files(
        [str(tmp_path / "ok"), str(tmp_path / "fail-now")], target_path=flags, show_progress=False
    )
    exp = Experiment(ws, f"rerun-{uuid.uuid4().hex[:6]}")
    failed = exp.submit(rerun_chain(ws, tmp_path, flags))
    assert failed.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    before = {s["name"]: s for s in studio.api("GET", f"runs/{failed.id}/").json()["steps"]}
    assert [before[n]["status"] for n in ("first", "middle", "last")] == [
        "Completed",
        "Failed",
        "Canceled",
    ]
    (studio.data_dir / "datastores" / "workspaceblobstore" / flags / "fail-now").unlink()

    answer = studio.api("POST", f"runs/{failed.id}/rerun-failed/")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["rerun_of"] == failed.id and body["run_source"] == "Rerun"
    rerun = PipelineRun(exp, body["id"])
    assert rerun.wait_for_completion(show_output=False, raise_on_error=False) == "Finished"

    steps = {s["name"]: s for s in studio.api("GET", f"runs/{rerun.id}/").json()["steps"]}
    number = studio.api("GET", f"runs/{failed.id}/").json()["number"]
    assert steps["first"]["reuse"] == {
        "reused": True,
        "reused_from_step": before["first"]["id"],
        "reused_from_run": failed.id,
        "reason": f"rerun of run {number}: completed there",
    }
    assert not steps["middle"]["reuse"]["reused"] and not steps["last"]["reuse"]["reused"]
    last = rerun.find_step_run("last")[0].get_output_data("out_last")
    written = studio.data_dir / "datastores" / "workspaceblobstore" / last.path_on_datastore
    assert (written / "result.txt").read_text() == "first > middle > last"

    # Only a failed or canceled run is rerun.
    again = studio.api("POST", f"runs/{rerun.id}/rerun-failed/")
    assert again.status_code == 409
    assert again.json()["error"]["message"].endswith("only a failed or canceled run can be rerun.")
