"""A ParallelRunStep in the graph spec: its settings parsed and checked naming the field, kept
only on parallel steps, and part of the step's fingerprint (with pipeline parameters resolved)
only when set."""

from __future__ import annotations

import re

import pytest

from studio.core.errors import StudioError
from studio.core.fingerprint import explain_difference, fingerprint, fingerprint_parts
from studio.core.spec import GraphSpec, ParallelSpec, mini_batch_size_to_int
from studio.core.validation import validate_graph

DIGEST = "b" * 64


def _graph(parallel: dict | None) -> dict:
    step = {
        "node_id": "pr",
        "name": "predict",
        "script_name": "score.py",
        "snapshot": DIGEST,
        "arguments": [
            {"kind": "literal", "value": "--model_name"},
            {"kind": "literal", "value": "iris"},
        ],
        "inputs": [
            {"name": "images", "dataset": "d1", "mode": "mount"},
            {"name": "labels", "dataset": "d2", "mode": "download"},
        ],
        "outputs": [{"name": "inferences", "kind": "PipelineData"}],
    }
    if parallel is not None:
        step["parallel"] = parallel
    return {
        "parameters": [
            {"name": "nodes", "type": "int", "default": 2},
            {"name": "batch", "type": "str", "default": "5"},
        ],
        "steps": [step],
    }


PARALLEL = {
    "input_kind": "file",
    "inputs": ["images"],
    "mini_batch_size": 5,
    "error_threshold": 10,
    "output_action": "append_row",
    "output": "inferences",
    "node_count": 2,
    "process_count_per_node": 2,
    "run_invocation_timeout": 600,
    "allowed_failed_percent": 12.5,
    "parameters": {"node_count": "nodes"},
}


def test_a_parallel_step_goes_there_and_back():
    spec = GraphSpec.from_dict(_graph(PARALLEL))
    assert spec.steps[0].parallel == ParallelSpec(
        input_kind="file",
        inputs=("images",),
        mini_batch_size=5,
        error_threshold=10,
        output_action="append_row",
        output="inferences",
        append_row_file_name="parallel_run_step.txt",
        node_count=2,
        process_count_per_node=2,
        run_invocation_timeout=600,
        run_max_try=3,
        allowed_failed_percent=12.5,
        logging_level="INFO",
        parameters=(("node_count", "nodes"),),
    )
    assert GraphSpec.from_dict(spec.to_dict()) == spec
    assert validate_graph(spec) == []


def test_only_a_parallel_step_has_the_field():
    spec = GraphSpec.from_dict(_graph(None))
    assert spec.steps[0].parallel is None
    assert "parallel" not in spec.to_dict()["steps"][0]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"input_kind": "image"}, "input_kind", 'must be "file" or "tabular"'),
        ({"inputs": []}, "inputs", "must name at least one input"),
        ({"inputs": ["elsewhere"]}, "inputs[0]", "names no input of the step"),
        ({"inputs": "images"}, "inputs", "must be a list"),
        ({"mini_batch_size": 0}, "mini_batch_size", "a whole number from 1"),
        ({"mini_batch_size": "1MB"}, "mini_batch_size", "a whole number from 1"),
        ({"mini_batch_size": None}, "mini_batch_size", "a whole number from 1"),
        ({"error_threshold": -2}, "error_threshold", "a whole number from -1"),
        ({"error_threshold": True}, "error_threshold", "a whole number from -1"),
        ({"output_action": "Append_Row"}, "output_action", '"append_row" or "summary_only"'),
        ({"output": "elsewhere"}, "output", "names no output of the step"),
        ({"output": None}, "output", "is needed for append_row"),
        ({"append_row_file_name": "a/b.txt"}, "append_row_file_name", "valid UNIX file name"),
        ({"node_count": 0}, "node_count", "a whole number from 1"),
        ({"process_count_per_node": 1.5}, "process_count_per_node", "a whole number from 1"),
        ({"run_invocation_timeout": 0}, "run_invocation_timeout", "a whole number from 1"),
        ({"run_max_try": 0}, "run_max_try", "a whole number from 1"),
        ({"allowed_failed_count": -3}, "allowed_failed_count", "a whole number from -1"),
        ({"allowed_failed_percent": 101}, "allowed_failed_percent", "from 0 to 100"),
        ({"allowed_failed_percent": "5"}, "allowed_failed_percent", "from 0 to 100"),
        ({"partition_keys": [1]}, "partition_keys[0]", "must be a string"),
        ({"logging_level": "LOUD"}, "logging_level", "must be one of"),
        ({"parameters": {"error_threshold": "nodes"}}, "parameters", "cannot be given by"),
        ({"parameters": {"node_count": 3}}, "parameters.node_count", "name of a pipeline"),
    ],
)
def test_a_bad_parallel_setting_is_refused_naming_the_field(change, field, message):
    with pytest.raises(StudioError) as raised:
        GraphSpec.from_dict(_graph({**PARALLEL, **change}))
    assert raised.value.field == f"graph.steps[0].parallel.{field}"
    assert re.search(re.escape(message), raised.value.message), raised.value.message


def test_a_summary_only_step_needs_no_output():
    spec = GraphSpec.from_dict(
        _graph({**PARALLEL, "output_action": "summary_only", "output": None})
    )
    assert spec.steps[0].parallel.output is None


def test_a_setting_given_by_an_unknown_parameter_is_named():
    spec = GraphSpec.from_dict(_graph({**PARALLEL, "parameters": {"mini_batch_size": "size"}}))
    assert [e.message for e in validate_graph(spec)] == [
        "Pipeline parameter size used by step predict is not defined."
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(10, 10), ("10", 10), ("1KB", 1024), ("1MB", 1048576), ("2gb", 2 * 1024**3), ("3Kb", 3072)],
)
def test_mini_batch_size_is_a_count_or_a_size(value, expected):
    assert mini_batch_size_to_int(value) == expected


@pytest.mark.parametrize("value", ["1 MB", "MB", "1.5MB", "1TB", "-1"])
def test_a_bad_mini_batch_size_follows_azuremls_message(value):
    with pytest.raises(ValueError, match=r"^Parameter mini_batch_size must follow regex rule"):
        mini_batch_size_to_int(value)


def _parts(parallel: dict | None, nodes: int = 2) -> dict:
    node = GraphSpec.from_dict(_graph(parallel)).steps[0]
    return fingerprint_parts(node, {"nodes": nodes, "batch": "5"}, {}, None)


def test_the_settings_are_part_of_the_fingerprint_with_parameters_resolved():
    parts = _parts(PARALLEL)
    assert parts["parallel"]["node_count"] == "2"
    assert "parameters" not in parts["parallel"]
    assert fingerprint(_parts(PARALLEL)) == fingerprint(parts)
    assert fingerprint(_parts(PARALLEL, nodes=3)) != fingerprint(parts)
    assert explain_difference(_parts(PARALLEL, nodes=3), parts) == ["node_count 2 → 3"]
    bigger = _parts({**PARALLEL, "mini_batch_size": 50})
    assert explain_difference(bigger, parts) == ["mini_batch_size 5 → 50"]


def test_a_script_steps_parts_are_unchanged():
    assert "parallel" not in _parts(None)
