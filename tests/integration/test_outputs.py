"""Steps with several outputs of each kind, on the local, S3 and Azure Blob datastores.

Every output of a successful attempt is published; a failed attempt publishes none of them;
Studio's own markers and attempt folders never show in what a user lists, downloads or reads.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from studio.sdk.core import Datastore, Experiment
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline, PipelineData
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.integration

SCRIPTS = str(ROOT / "tests" / "sources" / "outputs")


@pytest.fixture(scope="module", params=["local", "s3", "azure"])
def store(request, studio):
    """A datastore of each kind: the default one, or a new bucket/container on an emulator."""
    ws = studio.workspace()
    if request.param == "local":
        return ws.get_default_datastore()
    backend = request.getfixturevalue("backend_" + request.param)
    return backend.register(ws, uuid.uuid4().hex[:10])


@pytest.fixture(scope="module")
def backend_s3(moto):
    from tests.integration.emulators import Backend

    return Backend("s3", moto)


@pytest.fixture(scope="module")
def backend_azure(azurite):
    from tests.integration.emulators import Backend

    return Backend("azure", azurite)


def _pipeline_data(store: Datastore, name: str, **kwargs) -> PipelineData:
    return PipelineData(name, datastore=store, **kwargs)


def _dataset_output(store: Datastore, name: str) -> OutputFileDatasetConfig:
    return OutputFileDatasetConfig(name, destination=(store, "out/{run-id}/{output-name}"))


def _writer(name: str, outputs: list, files=(), empty=(), fail: bool = False) -> PythonScriptStep:
    arguments: list = []
    for output in outputs:
        flag = "--file" if output in files else "--empty" if output in empty else "--dir"
        arguments += [flag, output.name, output]
    listed = [o for o in outputs if isinstance(o, PipelineData)]
    return PythonScriptStep(
        name=name,
        script_name="write_outputs.py",
        source_directory=SCRIPTS,
        arguments=arguments + (["--fail"] if fail else []),
        outputs=listed,
    )


def _listing(ws, store: Datastore) -> list[str]:
    """Every file of the datastore, as its file listing shows them."""
    entries = ws._client.get(f"datastores/{store.name}/files/", path="", recursive="true")
    return [e["path"] for e in entries]


def test_every_output_of_every_step_is_published_and_read(ws, store, tmp_path):
    groups = {
        "pipeline data x1": [_pipeline_data(store, "pd1_a")],
        "pipeline data x2": [_pipeline_data(store, f"pd2_{i}") for i in range(2)],
        "pipeline data x5": [_pipeline_data(store, f"pd5_{i}") for i in range(5)],
        "dataset output x1": [_dataset_output(store, "od1_a")],
        "dataset output x2": [_dataset_output(store, f"od2_{i}") for i in range(2)],
        "dataset output x5": [_dataset_output(store, f"od5_{i}") for i in range(5)],
    }
    file_output = _pipeline_data(store, "mixed_file", is_directory=False)
    empty_output = _dataset_output(store, "mixed_empty")
    mixed = [
        _pipeline_data(store, "mixed_pd_a"),
        _dataset_output(store, "mixed_od_a"),
        _pipeline_data(store, "mixed_pd_b", is_directory=True),
        _dataset_output(store, "mixed_od_b"),
        file_output,
        empty_output,
    ]
    steps = [_writer(name, outputs) for name, outputs in groups.items()]
    steps.append(_writer("mixed", mixed, files=[file_output], empty=[empty_output]))
    every_output = [o for outputs in [*groups.values(), mixed] for o in outputs]
    reader_arguments: list = []
    for output in every_output:
        source = output if isinstance(output, PipelineData) else output.as_input(output.name)
        reader_arguments += ["--in", output.name, source]
    reader = PythonScriptStep(
        name="read everything",
        script_name="read_inputs.py",
        source_directory=SCRIPTS,
        arguments=reader_arguments,
        inputs=[o for o in every_output if isinstance(o, PipelineData)],
    )
    run = Experiment(ws, f"outputs-{store.name}").submit(Pipeline(ws, [*steps, reader]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", [
        (s.name, s.get_details()["error"]) for s in run.get_steps() if s.get_status() != "Finished"
    ]

    log = run.find_step_run("read everything")[0].get_job_log()
    for output in every_output:
        if output is file_output:
            assert "mixed_file: file mixed_file file" in log
        elif output is empty_output:
            assert "mixed_empty: folder []" in log  # no marker inside
        else:
            assert (
                f"{output.name}: folder [data.txt={output.name} data; "
                f"sub/more.txt={output.name} more]" in log
            ), log

    listing = _listing(ws, store)
    assert not [p for p in listing if ".studio-" in p], listing
    for name, outputs in [*groups.items(), ("mixed", mixed)]:
        step = run.find_step_run(name)[0]
        recorded = step.get_outputs()
        assert sorted(recorded) == sorted(o.name for o in outputs)
        for output in outputs:
            reference = recorded[output.name].get_port_data_reference()
            assert reference.datastore_name == store.name
            prefix = "azureml" if isinstance(output, PipelineData) else "out"
            assert reference.path_on_datastore == f"{prefix}/{step.id}/{output.name}"
            under = [p for p in listing if p.startswith(reference.path_on_datastore)]
            if output is empty_output:
                assert under == []
            elif output is file_output:
                assert under == [reference.path_on_datastore]
            else:
                assert len(under) == 2, (output.name, under)

    downloaded = tmp_path / "downloaded"
    mixed_step = run.find_step_run("mixed")[0]
    mixed_step.get_output_data("mixed_empty").download(str(downloaded))
    mixed_step.get_output_data("mixed_od_a").download(str(downloaded))
    files = sorted(
        p.relative_to(downloaded).as_posix() for p in downloaded.rglob("*") if p.is_file()
    )
    assert files == [
        f"out/{mixed_step.id}/mixed_od_a/data.txt",
        f"out/{mixed_step.id}/mixed_od_a/sub/more.txt",
    ]


def test_an_unchanged_resubmit_reuses_steps_with_empty_and_file_outputs(ws, store):
    file_output = _pipeline_data(store, "only_file", is_directory=False)
    empty_output = _dataset_output(store, "only_empty")
    pipeline = Pipeline(
        ws,
        [
            _writer(
                "file and empty",
                [file_output, empty_output],
                files=[file_output],
                empty=[empty_output],
            )
        ],
    )
    experiment = Experiment(ws, f"outputs-reuse-{store.name}")
    first = experiment.submit(pipeline)
    assert first.wait_for_completion(show_output=False) == "Finished"
    second = experiment.submit(pipeline)
    assert second.wait_for_completion(show_output=False) == "Finished"
    reuse = second.find_step_run("file and empty")[0].get_details()["reuse"]
    assert reuse["reused"], reuse


def test_a_failed_attempt_publishes_none_of_its_outputs(studio, ws, store):
    outputs = [
        _pipeline_data(store, "failed_pd_a"),
        _pipeline_data(store, "failed_pd_b"),
        _dataset_output(store, "failed_od_a"),
        _dataset_output(store, "failed_od_b"),
        _pipeline_data(store, "failed_file", is_directory=False),
    ]
    step = _writer("write then fail", outputs, files=[outputs[-1]], fail=True)
    run = Experiment(ws, f"outputs-failed-{store.name}").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    failed = run.find_step_run("write then fail")[0]
    assert "wrote failed_pd_a" in failed.get_job_log()
    assert failed.get_outputs() == {}
    published = [p for p in _listing(ws, store) if not p.startswith("ExperimentRun/")]  # logs
    assert not [p for p in published if failed.id in p or ".studio-" in p]
    if store.name == "workspaceblobstore":
        attempts = Path(studio.data_dir) / "datastores" / "workspaceblobstore" / ".studio-attempts"
        assert not any(attempts.glob(f"{failed.id}*"))


def test_a_file_output_that_the_script_never_wrote_fails_the_step_with_the_reason(ws):
    promised = PipelineData("promised", is_directory=False)
    step = PythonScriptStep(
        name="writes nothing",
        script_name="write_outputs.py",  # given no arguments, it writes nothing at all
        source_directory=SCRIPTS,
        outputs=[promised],
    )
    run = Experiment(ws, "outputs-missing-file").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    error = run.find_step_run("writes nothing")[0].get_details()["error"]["error"]["message"]
    assert "output promised: the script wrote no file" in error
