"""What a ParallelRunStep's run is told by the worker: the entry script and its resolved
arguments, where each input to split is, the output folder, and the settings with the run's
pipeline parameter values (a bad value named)."""

from __future__ import annotations

import pytest

from runs.execution import _parallel_job
from runs.models import Run
from studio.core.errors import StudioError
from studio.core.spec import GraphSpec

GRAPH = {
    "parameters": [
        {"name": "nodes", "type": "int", "default": 1},
        {"name": "size", "type": "str", "default": "5"},
    ],
    "steps": [
        {
            "node_id": "pr",
            "name": "predict",
            "script_name": "score.py",
            "snapshot": "c" * 64,
            "inputs": [
                {"name": "images", "dataset": "d1", "mode": "mount"},
                {"name": "labels", "dataset": "d2", "mode": "download"},
            ],
            "outputs": [{"name": "inferences", "kind": "PipelineData"}],
            "parallel": {
                "input_kind": "file",
                "inputs": ["images"],
                "mini_batch_size": 5,
                "error_threshold": 10,
                "output_action": "append_row",
                "output": "inferences",
                "process_count_per_node": 2,
                "parameters": {"mini_batch_size": "size", "node_count": "nodes"},
            },
        }
    ],
}
PATHS = {
    ("input", "images"): "/data/images",
    ("input", "labels"): "/data/labels",
    ("output", "inferences"): "/work/outputs/inferences",
}


def _job(**parameters):
    node = GraphSpec.from_dict(GRAPH).steps[0]
    run = Run(parameters={"nodes": 1, "size": "5", **parameters})
    return _parallel_job(node, node.parallel, run, PATHS, ["--model_name", "m"])


def test_the_job_names_the_script_inputs_output_and_settings():
    job = _job(size="2KB", nodes=3)
    assert job["entry_script"] == "score.py"
    assert job["arguments"] == ["--model_name", "m"]
    assert job["inputs"] == [{"name": "images", "location": "/data/images"}]
    assert job["output_dir"] == "/work/outputs/inferences"
    settings = job["settings"]
    assert (settings["mini_batch_size"], settings["node_count"]) == (2048, 3)
    assert (settings["process_count_per_node"], settings["run_max_try"]) == (2, 3)
    assert settings["append_row_file_name"] == "parallel_run_step.txt"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"size": "1 MB"}, "Pipeline parameter size: Parameter mini_batch_size must follow regex"),
        ({"nodes": 0}, "Pipeline parameter nodes gives node_count 0: a whole number from 1"),
        ({"size": "0"}, "Pipeline parameter size gives mini_batch_size '0': a whole number"),
    ],
)
def test_a_bad_parameter_value_is_named(parameters, message):
    with pytest.raises(StudioError, match=message):
        _job(**parameters)
