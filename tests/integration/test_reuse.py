"""Step reuse, and why a step was not reused, through the SDK against a real worker."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from studio.sdk.core import Dataset, Experiment
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline, PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.integration

SCRIPT = """
import argparse, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--inp", default=None)
parser.add_argument("--rate", default="0")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
text = "{label} rate=" + args.rate
if args.inp:
    for name in sorted(os.listdir(args.inp)):
        text += " | " + open(os.path.join(args.inp, name)).read().strip()
open(os.path.join(args.out, "result.txt"), "w").write(text)
print("ran {label}")
"""


def _chain(ws, root: Path, rate=None, allow_reuse_b=True):
    """a → b → c, each in its own source folder, passing a file along."""
    outs = {name: OutputFileDatasetConfig(f"out_{name}") for name in "abc"}
    steps = []
    previous = None
    for name in "abc":
        folder = root / name
        args = ["--out", outs[name]]
        if previous is not None:
            args += ["--inp", outs[previous].as_input(f"in_{name}")]
        if rate is not None and name == "b":
            args += ["--rate", rate]
        steps.append(
            PythonScriptStep(
                name=f"step {name}",
                script_name=f"{name}.py",
                source_directory=str(folder),
                arguments=args,
                allow_reuse=allow_reuse_b if name == "b" else True,
            )
        )
        previous = name
    return Pipeline(ws, steps)


@pytest.fixture
def sources(tmp_path):
    for name in "abc":
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.py").write_text(SCRIPT.replace("{label}", name))
    return tmp_path


def _reuse(run):
    run.wait_for_completion(show_output=False)
    return {s.name: s.get_details()["reuse"] for s in run.get_steps()}


def test_an_unchanged_pipeline_is_reused_with_azureml_properties(ws, sources):
    exp = Experiment(ws, f"reuse-{uuid.uuid4().hex[:6]}")
    first = exp.submit(_chain(ws, sources))
    assert {k: v["reason"] for k, v in _reuse(first).items()} == {
        f"step {n}": "first run" for n in "abc"
    }
    second = exp.submit(_chain(ws, sources))
    reuse = _reuse(second)
    assert all(r["reused"] for r in reuse.values())
    step_b = second.find_step_run("step b")[0]
    props = step_b.get_details()["properties"]
    assert props["azureml.reusedpipeline"] == first.id
    assert props["azureml.reusedrunid"] == first.find_step_run("step b")[0].id
    assert "azureml.reusednodeid" in props
    assert reuse["step b"]["reason"].startswith(f"Reused from run {first.id}")


def test_changing_one_script_reruns_that_step_and_downstream_and_says_why(ws, sources):
    exp = Experiment(ws, f"reuse-{uuid.uuid4().hex[:6]}")
    _reuse(exp.submit(_chain(ws, sources)))
    (sources / "b" / "b.py").write_text(SCRIPT.replace("{label}", "b2"))
    reuse = _reuse(exp.submit(_chain(ws, sources)))
    assert reuse["step a"]["reused"] is True
    assert reuse["step b"]["reused"] is False and reuse["step b"]["reason"] == "b.py changed"
    assert reuse["step c"]["reused"] is False
    assert reuse["step c"]["reason"] == "input in_c: upstream step step b produced new output"


def test_a_changed_parameter_value_is_explained(ws, sources):
    exp = Experiment(ws, f"reuse-{uuid.uuid4().hex[:6]}")
    rate = PipelineParameter("rate", 0.01)
    _reuse(exp.submit(_chain(ws, sources, rate=rate)))
    reuse = _reuse(exp.submit(_chain(ws, sources, rate=rate), pipeline_parameters={"rate": "0.1"}))
    assert reuse["step a"]["reused"] is True
    assert reuse["step b"]["reason"] == "argument --rate 0.01 → 0.1"


def test_regenerate_outputs_and_allow_reuse_false_force_execution(ws, sources):
    exp = Experiment(ws, f"reuse-{uuid.uuid4().hex[:6]}")
    _reuse(exp.submit(_chain(ws, sources)))
    reuse = _reuse(exp.submit(_chain(ws, sources), regenerate_outputs=True))
    assert {r["reason"] for r in reuse.values()} == {"regenerate_outputs"}
    assert not any(r["reused"] for r in reuse.values())
    reuse = _reuse(exp.submit(_chain(ws, sources, allow_reuse_b=False)))
    assert reuse["step a"]["reused"] is True
    assert reuse["step b"] == {**reuse["step b"], "reused": False, "reason": "reuse disabled"}


def test_a_deleted_output_is_run_again(studio, ws, sources):
    exp = Experiment(ws, f"reuse-{uuid.uuid4().hex[:6]}")
    first = exp.submit(_chain(ws, sources))
    _reuse(first)
    output = first.find_step_run("step c")[0].get_output_data("out_c")
    shutil.rmtree(studio.data_dir / "datastores" / "workspaceblobstore" / output.path_on_datastore)
    reuse = _reuse(exp.submit(_chain(ws, sources)))
    assert reuse["step a"]["reused"] and reuse["step b"]["reused"]
    assert reuse["step c"]["reused"] is False
    assert reuse["step c"]["reason"] == "the outputs of the earlier run were deleted or changed"


def test_a_failed_step_is_never_reused(ws, tmp_path):
    (tmp_path / "fail.py").write_text("import sys\nprint('failing')\nsys.exit(2)\n")
    exp = Experiment(ws, f"reuse-{uuid.uuid4().hex[:6]}")
    step = PythonScriptStep(name="fails", script_name="fail.py", source_directory=str(tmp_path))
    first = exp.submit(Pipeline(ws, [step]))
    assert first.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    second = exp.submit(Pipeline(ws, [step]))
    assert second.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    details = second.get_steps()[0].get_details()
    assert details["reuse"]["reused"] is False
    assert (
        details["reuse"]["reason"]
        == "the earlier run of this step with the same inputs ended Failed"
    )
    assert "failing" in second.get_steps()[0].get_job_log()


def test_data_changed_under_a_dataset_path_is_noticed(ws, tmp_path):
    tag = uuid.uuid4().hex[:6]
    store = ws.get_default_datastore()
    data = tmp_path / "data"
    data.mkdir()
    (data / "part.csv").write_text("a,b\n1,2\n")
    store.upload(str(data), target_path=f"files-{tag}", overwrite=True, show_progress=False)
    dataset = Dataset.File.from_files(path=(store, f"files-{tag}")).register(ws, f"files-{tag}")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "count.py").write_text(
        "import os, sys\nfolder = sys.argv[1]\nprint('files', sorted(os.listdir(folder)))\n"
    )

    def submit(ds):
        step = PythonScriptStep(
            name="count",
            script_name="count.py",
            source_directory=str(tmp_path / "src"),
            arguments=[ds.as_named_input("raw").as_mount()],
        )
        return Experiment(ws, f"data-{tag}").submit(Pipeline(ws, [step]))

    assert _reuse(submit(dataset))["count"]["reason"] == "first run"
    assert _reuse(submit(dataset))["count"]["reused"] is True
    (data / "part.csv").write_text("a,b\n1,2\n3,4\n")
    store.upload(str(data), target_path=f"files-{tag}", overwrite=True, show_progress=False)
    assert _reuse(submit(dataset))["count"]["reason"] == "input raw: data changed"
    (data / "more.csv").write_text("a,b\n5,6\n")
    store.upload_files([str(data / "more.csv")], target_path=f"files-{tag}", show_progress=False)
    second = Dataset.File.from_files(path=(store, f"files-{tag}")).register(
        ws, f"files-{tag}", create_new_version=True
    )
    assert second.version == 2
    run = submit(second)
    assert _reuse(run)["count"]["reason"] == "input raw: new version 2"
    assert "files ['more.csv', 'part.csv']" in run.get_steps()[0].get_job_log()
