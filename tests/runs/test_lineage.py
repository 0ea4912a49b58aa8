"""A step's data on the run page (runs.lineage): where each input and output lives, its size
and dataset, and which later steps and other runs read an output. Against the database, with
steps ended through the engine as a worker would end them."""

from __future__ import annotations

import pytest
from django.utils import timezone

from runs import execution, lineage, services, transitions
from runs.models import DatasetUse, StepRun
from studio.core.status import Status
from studio.workspace import storage
from studio.workspace.services import register_dataset
from tests import factories

pytestmark = pytest.mark.django_db

STORE = storage.DEFAULT_DATASTORE
WRITTEN = {
    "datastore": STORE,
    "path": "dataset/s1/prepped",
    "manifest": "m1",
    "files": 3,
    "bytes": 1200,
}


def _graph() -> dict:
    """a writes ``prepped`` (registered as the dataset prepped_ds); b reads it and files on
    the datastore."""
    return {
        "steps": [
            factories.step(
                "a",
                outputs=[{"name": "prepped", "register": {"name": "prepped_ds"}}],
                arguments=[{"kind": "output", "value": "prepped"}],
            ),
            factories.step(
                "b",
                inputs=[
                    {"name": "in_b", "source_step": "a", "source_output": "prepped"},
                    {"name": "raw", "datastore": STORE, "path": "raw/2026/*.csv"},
                ],
                outputs=[{"name": "scored", "kind": "PipelineData"}],
                arguments=[
                    {"kind": "input", "value": "in_b"},
                    {"kind": "input", "value": "raw"},
                    {"kind": "output", "value": "scored"},
                ],
            ),
        ]
    }


def _end_first_step(run, settings) -> StepRun:
    """Run a's attempt to its end with ``WRITTEN`` as its output, and register the dataset."""
    settings.STUDIO_WORKER_TARGETS = ["*"]
    first = StepRun.objects.get(run=run, node_id="a")
    claim = execution.claim_step(first.id)
    assert claim is not None
    services.finish_step(
        first.id,
        claim.step.attempt,
        run_id=run.id,
        status=Status.COMPLETED,
        outputs={"prepped": WRITTEN},
    )
    dataset = register_dataset(
        name="prepped_ds",
        kind="file",
        paths=[[STORE, WRITTEN["path"]]],
        options={},
        created_by_step_id=first.id,
    )
    DatasetUse.objects.create(dataset=dataset, step_run=first, direction="write")
    return StepRun.objects.select_related("run").get(id=first.id)


def _data(step: StepRun) -> lineage.StepData:
    step = StepRun.objects.select_related("run__experiment", "run__graph").get(id=step.id)
    return lineage.step_data(step, step.run.graph.graph())


def test_an_output_says_where_it_is_how_big_its_dataset_and_the_steps_that_read_it(alice, settings):
    run = factories.submitted(_graph(), alice, experiment="lineage")
    first = _end_first_step(run, settings)

    (output,) = _data(first).outputs
    assert (output.name, output.kind, output.datastore, output.path) == (
        "prepped",
        "OutputFileDatasetConfig",
        STORE,
        "dataset/s1/prepped",
    )
    assert (output.files, output.bytes, output.written) == (3, 1200, True)
    assert [d.label for d in output.datasets] == ["prepped_ds:1"]
    assert [(r.step_name, r.input_name, r.via) for r in output.readers] == [("b", "in_b", "")]
    assert output.other_readers == []


def test_an_input_names_the_step_that_made_it_and_a_data_reference_its_folder(alice, settings):
    run = factories.submitted(_graph(), alice, experiment="lineage")
    first = _end_first_step(run, settings)
    second = StepRun.objects.get(run=run, node_id="b")

    data = _data(second)
    made, folder = data.inputs
    assert (made.name, made.kind, made.producer.id, made.files) == (
        "in_b",
        "OutputFileDatasetConfig",
        first.id,
        3,
    )
    assert (folder.name, folder.kind, folder.datastore, folder.path) == (
        "raw",
        "DataReference",
        STORE,
        "raw/2026/*.csv",
    )
    assert (folder.folder, made.folder) == ("raw/2026", "dataset/s1/prepped")  # to browse
    (scored,) = data.outputs  # not written yet: where it will be is not known
    assert (scored.kind, scored.written, scored.files, scored.readers) == (
        "PipelineData",
        False,
        None,
        [],
    )


def test_an_output_lists_the_runs_that_reused_it_and_those_that_read_its_dataset(alice, settings):
    run = factories.submitted(_graph(), alice, experiment="lineage")
    first = _end_first_step(run, settings)
    # A later run reuses a's output; its b reads it there.
    later = services.submit_run(experiment_name="lineage", graph_data=run.graph.spec, user=alice)
    copy = StepRun.objects.get(run=later, node_id="a")
    assert transitions.reuse(copy.id, first, {"reuse_reason": "reused"}, timezone.now())
    # Another pipeline reads the dataset registered from the output.
    dataset = DatasetUse.objects.get(step_run=first, direction="write").dataset
    reader_run = factories.submitted(
        {
            "steps": [
                factories.step(
                    "score",
                    inputs=[{"name": "data", "dataset": str(dataset.id)}],
                    arguments=[{"kind": "input", "value": "data"}],
                )
            ]
        },
        alice,
        experiment="scoring",
    )
    reader = StepRun.objects.get(run=reader_run)
    DatasetUse.objects.get_or_create(dataset=dataset, step_run=reader, direction="read")

    (output,) = _data(first).outputs
    assert {(r.run_number, r.experiment, r.step_name, r.via) for r in output.other_readers} == {
        (later.number, "lineage", "b", "reused"),
        (reader_run.number, "scoring", "score", "dataset prepped_ds:1"),
    }
    # Seen from the copy: its own run's b; the run that wrote it, and the dataset's reader.
    (copied,) = _data(StepRun.objects.get(id=copy.id)).outputs
    assert (copied.files, [d.label for d in copied.datasets]) == (3, ["prepped_ds:1"])
    assert [r.run_id for r in copied.readers] == [later.id]
    assert {(r.run_id, r.via) for r in copied.other_readers} == {
        (run.id, "written there"),
        (reader_run.id, "dataset prepped_ds:1"),
    }
