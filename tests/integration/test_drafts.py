"""Pipeline drafts through the SDK against a real worker: create, update, submit, publish."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
import yaml

from studio.sdk.core import Experiment
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.exceptions import UserErrorException
from studio.sdk.pipeline.core import (
    Pipeline,
    PipelineDraft,
    PipelineParameter,
    PipelineRun,
    PublishedPipeline,
)
from studio.sdk.pipeline.steps import PythonScriptStep

pytestmark = pytest.mark.integration

SCRIPT = """
import argparse, os
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
print("result:", text)
"""


@pytest.fixture
def sources(tmp_path):
    for folder, label in (("prep", "prep"), ("train", "train"), ("train2", "train v2")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "step.py").write_text(SCRIPT.replace("{label}", label))
    return tmp_path


def _pipeline(ws, root: Path, train_folder: str, rate_default: float) -> Pipeline:
    """prep → train; train takes the pipeline parameter ``rate``."""
    prepared = OutputFileDatasetConfig("prepared")
    trained = OutputFileDatasetConfig("trained")
    prep = PythonScriptStep(
        name="prep",
        script_name="step.py",
        source_directory=str(root / "prep"),
        arguments=["--out", prepared],
    )
    train = PythonScriptStep(
        name="train",
        script_name="step.py",
        source_directory=str(root / train_folder),
        arguments=[
            "--out",
            trained,
            "--inp",
            prepared.as_input("prepared"),
            "--rate",
            PipelineParameter("rate", rate_default),
        ],
    )
    return Pipeline(ws, [prep, train])


def _finished(run) -> dict:
    assert run.wait_for_completion(show_output=False, timeout_seconds=180) == "Finished"
    return {s.name: s for s in run.get_steps()}


def _result(step) -> str:
    return next(line for line in step.get_job_log().splitlines() if line.startswith("result:"))


def test_a_draft_is_created_updated_submitted_and_published(studio, ws, sources, tmp_path):
    name = f"draft-{uuid.uuid4().hex[:6]}"
    pipeline = _pipeline(ws, sources, "train", 0.1)
    draft = PipelineDraft.create(
        ws,
        name=name,
        description="draft description",
        experiment_name="drafts",
        pipeline=pipeline,
        pipeline_parameters={"rate": 0.2},
        continue_on_step_failure=True,
        tags={"dev": "true"},
        properties={"train": "value"},
    )
    assert (draft.name, draft.description, draft.tags, draft.properties) == (
        name,
        "draft description",
        {"dev": "true"},
        {"train": "value"},
    )
    assert draft.last_submitted_pipeline_run_id is None
    assert str(draft).startswith(
        f"Pipeline(Name: {name},\nId: {draft.id},\nTags: {{'dev': 'true'}}"
    )
    assert draft.id in [d.id for d in PipelineDraft.list(ws, tags={"dev": "true"})]
    assert draft.id not in [d.id for d in PipelineDraft.list(ws, tags={"dev": "false"})]

    # Submitted in its experiment, with its parameter value and continue_on_step_failure.
    first = PipelineDraft.get(ws, id=draft.id).submit_run()
    assert isinstance(first, PipelineRun) and first.experiment.name == "drafts"
    steps = _finished(first)
    assert _result(steps["train"]) == "result: train rate=0.2 | prep rate=0"
    detail = studio.api("GET", f"runs/{first.id}/").json()
    assert detail["continue_on_step_failure"] is True
    assert detail["parameters"] == {"rate": 0.2}

    # A new pipeline (train changed, a new default) and a new value; prep is reused.
    draft.update(
        pipeline=_pipeline(ws, sources, "train2", 0.5),
        name=f"{name}-updated",
        description="has updated train step",
        pipeline_parameters={"rate": 0.3},
    )
    assert (draft.name, draft.description) == (f"{name}-updated", "has updated train step")
    second = draft.submit_run()
    steps = _finished(second)
    reuse = {n: s.get_details()["reuse"] for n, s in steps.items()}
    assert reuse["prep"]["reused"] is True
    assert reuse["prep"]["reason"].startswith(f"Reused from run {first.id}")
    assert reuse["train"]["reused"] is False
    assert _result(steps["train"]) == "result: train v2 rate=0.3 | prep rate=0"

    again = PipelineDraft.get(ws, draft.id)
    assert again.last_submitted_pipeline_run_id == second.id
    assert studio.api("GET", f"pipelinedrafts/{draft.id}/").json()["run_ids"] == [
        second.id,
        first.id,
    ]
    assert [p.name for p in again.get_graph().parameters] == ["rate"]

    # Published with the draft's value as the default; its REST endpoint runs it.
    published = again.publish()
    assert isinstance(published, PublishedPipeline)
    assert published.name == f"{name}-updated" and published.get_step_names() == ["prep", "train"]
    assert published.parameters == [{"name": "rate", "type": "float", "default": 0.3}]
    answer = requests.post(
        published.endpoint,
        headers={"Authorization": f"Bearer {studio.token}"},
        json={"ExperimentName": "drafts-rest", "ParameterAssignments": {"rate": "0.7"}},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    steps = _finished(PipelineRun.get(ws, answer.json()["Id"]))
    assert steps["prep"].get_details()["reuse"]["reused"] is True
    assert _result(steps["train"]) == "result: train v2 rate=0.7 | prep rate=0"

    # Experiment.submit(draft) runs it in that experiment.
    other = Experiment(ws, "drafts-other").submit(again)
    assert other.experiment.name == "drafts-other"
    _finished(other)

    # save() writes the pipeline as YAML, named after the draft.
    again.save(str(tmp_path))
    saved = yaml.safe_load((tmp_path / f"{name}-updated.yml").read_text())["pipeline"]
    assert saved["name"] == f"{name}-updated"
    assert saved["parameters"] == {"rate": {"type": "float", "default": 0.5}}
    assert list(saved["steps"]) == ["prep", "train"]
    assert saved["steps"]["train"]["inputs"]["prepared"]["type"] == "mount"

    again.delete()
    with pytest.raises(UserErrorException):
        PipelineDraft.get(ws, draft.id)
    assert PublishedPipeline.get(ws, published.id).status == "Active"
    assert studio.api("GET", f"runs/{second.id}/").status_code == 200


def test_a_draft_is_cloned_from_a_run_a_published_pipeline_and_a_draft(ws, sources):
    pipeline = _pipeline(ws, sources, "train", 0.1)
    draft = PipelineDraft.create(
        ws, pipeline, name="origin", experiment_name="drafts-clone", pipeline_parameters={"rate": 2}
    )
    copy = PipelineDraft.create(ws, draft)
    assert copy.id != draft.id and copy.parent_pipeline_draft_id == draft.id
    assert copy.name == "origin"

    run = pipeline.submit("drafts-clone", pipeline_parameters={"rate": 0.9})
    run.wait_for_completion(show_output=False)
    from_run = PipelineDraft.create(ws, PipelineRun.get(ws, run.id))
    assert from_run.parent_pipeline_run_id == run.id
    assert len(from_run.parent_step_run_ids) == 2
    assert from_run._experiment_name == "drafts-clone"
    steps = _finished(from_run.submit_run())
    assert _result(steps["train"]) == "result: train rate=0.9 | prep rate=0"

    published = pipeline.publish(name="to-draft")
    from_published = PipelineDraft.create(ws, published)
    assert from_published.parent_pipeline_id == published.id
    assert from_published.name == "to-draft"


def test_the_sdk_refuses_what_azureml_refuses(ws, sources):
    pipeline = _pipeline(ws, sources, "train", 0.1)
    with pytest.raises(
        ValueError, match=r"^pipeline should be of type Pipeline, PublishedPipeline"
    ):
        PipelineDraft.create(ws, "not a pipeline", name="x", experiment_name="e")
    with pytest.raises(ValueError, match=r"^name can not be None$"):
        PipelineDraft.create(ws, pipeline, experiment_name="e")
    with pytest.raises(ValueError, match=r"^experiment_name can not be None$"):
        PipelineDraft.create(ws, pipeline, name="x")
    with pytest.raises(Exception, match=r"^Pipeline parameter with name speed does not exist$"):
        PipelineDraft.create(
            ws, pipeline, name="x", experiment_name="e", pipeline_parameters={"speed": 1}
        )
    draft = PipelineDraft.create(ws, pipeline, name="x", experiment_name="e")
    published = pipeline.publish(name="not-a-pipeline")
    with pytest.raises(ValueError, match=r"^pipeline should be of type Pipeline$"):
        draft.update(pipeline=published)
    with pytest.raises(UserErrorException, match="Expected type of the pipeline parameter rate"):
        draft.update(pipeline_parameters={"rate": "fast"})
    with pytest.raises(UserErrorException, match="Experiment name must start"):
        draft.update(experiment_name="../up")
    assert PipelineDraft.get(ws, draft.id)._experiment_name == "e"
