"""Datasets and reuse end to end: real server, worker and subprocesses, driven by the SDK."""

from __future__ import annotations

import pytest

from studio.sdk.core import Dataset, Experiment

pytestmark = pytest.mark.integration


def test_an_output_registered_on_complete_becomes_a_new_dataset_version(studio, ws, tmp_path):
    import uuid

    from studio.sdk.data import OutputFileDatasetConfig
    from studio.sdk.pipeline.core import Pipeline
    from studio.sdk.pipeline.steps import PythonScriptStep

    name = f"scores_{uuid.uuid4().hex[:6]}"
    (tmp_path / "score.py").write_text(
        "import os, sys\nout = sys.argv[1]\nos.makedirs(out, exist_ok=True)\n"
        "open(os.path.join(out, 'scores.csv'), 'w').write('id;score\\n1;0.5\\n2;0.75\\n')\n"
    )
    scores = (
        OutputFileDatasetConfig("scores")
        .read_delimited_files(separator=";")
        .register_on_complete(name)
    )
    step = PythonScriptStep(
        name="score", script_name="score.py", source_directory=str(tmp_path), arguments=[scores]
    )
    run = Experiment(ws, "register-on-complete").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    dataset = Dataset.get_by_name(ws, name)
    assert dataset.version == 1 and type(dataset).__name__ == "TabularDataset"
    frame = dataset.to_pandas_dataframe()
    assert list(frame.columns) == ["id", "score"] and frame["score"].tolist() == [0.5, 0.75]

    again = Experiment(ws, "register-on-complete").submit(
        Pipeline(ws, [step]), regenerate_outputs=True
    )
    again.wait_for_completion(show_output=False)
    assert Dataset.get_by_name(ws, name).version == 2
    assert Dataset.get_by_name(ws, name, version=1).id == dataset.id
    (tmp_path / "score.py").write_text((tmp_path / "score.py").read_text() + "sys.exit(1)\n")
    failing = Experiment(ws, "register-on-complete").submit(Pipeline(ws, [step]))
    assert failing.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    assert Dataset.get_by_name(ws, name).version == 2  # a failed step registers nothing
