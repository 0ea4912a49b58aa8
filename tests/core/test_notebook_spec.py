"""A notebook step in the graph spec: parsed and checked like the rest of a step, its path
kept inside the step's folder, and part of the step's fingerprint."""

from __future__ import annotations

import re

import pytest

from studio.core.errors import StudioError
from studio.core.fingerprint import explain_difference, fingerprint, fingerprint_parts
from studio.core.spec import Arg, GraphSpec, NotebookSpec
from studio.core.validation import validate_graph

DIGEST = "a" * 64


def _graph(notebook: dict, **step) -> dict:
    return {
        "parameters": [{"name": "epochs", "type": "int", "default": 3}],
        "steps": [
            {
                "node_id": "nb",
                "name": "train",
                "script_name": "train.ipynb",
                "snapshot": DIGEST,
                "outputs": [{"name": "scored", "kind": "PipelineData"}],
                "notebook": notebook,
                **step,
            }
        ],
    }


NOTEBOOK = {
    "path": "notebooks/train.ipynb",
    "output": "train.output.ipynb",
    "parameters": {
        "label": {"kind": "literal", "value": '"x"'},
        "epochs": {"kind": "parameter", "value": "epochs"},
        "scored": {"kind": "output", "value": "scored"},
    },
    "timeout": 600,
    "progress_bar": False,
    "log_output": True,
    "output_data": "scored",
}


def test_a_notebook_step_goes_there_and_back():
    spec = GraphSpec.from_dict(_graph(NOTEBOOK))
    notebook = spec.steps[0].notebook
    assert notebook == NotebookSpec(
        path="notebooks/train.ipynb",
        output="train.output.ipynb",
        parameters=(
            ("label", Arg("literal", '"x"')),
            ("epochs", Arg("parameter", "epochs")),
            ("scored", Arg("output", "scored")),
        ),
        timeout=600,
        progress_bar=False,
        log_output=True,
        kernel="python3",
        output_data="scored",
    )
    assert GraphSpec.from_dict(spec.to_dict()) == spec
    assert validate_graph(spec) == []
    assert GraphSpec.from_dict(_graph(None)).steps[0].notebook is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"path": "../secret.ipynb"}, "path", "'..' is not allowed"),
        ({"path": "/etc/passwd.ipynb"}, "path", "Absolute paths are not allowed"),
        ({"path": "train.py"}, "path", "must name a .ipynb notebook"),
        ({"path": None}, "path", "is required"),
        ({"output": "../../out.ipynb"}, "output", "'..' is not allowed"),
        ({"cwd": "../.."}, "cwd", "'..' is not allowed"),
        ({"timeout": 0}, "timeout", "whole number of seconds"),
        ({"timeout": True}, "timeout", "whole number of seconds"),
        ({"progress_bar": "no"}, "progress_bar", "true or false"),
        ({"output_data": "elsewhere"}, "output_data", "names no output of the step"),
        (
            {"parameters": {"not a name": {"kind": "literal", "value": "1"}}},
            "parameters",
            "is not a Python name",
        ),
        (
            {"parameters": {"x": {"kind": "script", "value": "1"}}},
            "parameters.x.kind",
            "must be one of",
        ),
        ({"parameters": []}, "parameters", "must be an object"),
    ],
)
def test_a_bad_notebook_is_refused_naming_the_field(change, field, message):
    with pytest.raises(StudioError) as raised:
        GraphSpec.from_dict(_graph({**NOTEBOOK, **change}))
    assert raised.value.field == f"graph.steps[0].notebook.{field}"
    assert re.search(re.escape(message), raised.value.message), raised.value.message


def test_a_notebook_parameter_must_name_a_port_or_parameter_of_the_step():
    spec = GraphSpec.from_dict(
        _graph(
            {
                **NOTEBOOK,
                "parameters": {
                    "data": {"kind": "input", "value": "missing"},
                    "rate": {"kind": "parameter", "value": "rate"},
                },
            }
        )
    )
    assert [e.message for e in validate_graph(spec)] == [
        "Input missing appears in arguments list but is not in the input list",
        "Pipeline parameter rate used by step train is not defined.",
    ]


def _parts(notebook: dict, epochs: int = 3) -> dict:
    node = GraphSpec.from_dict(_graph(notebook)).steps[0]
    return fingerprint_parts(node, {"epochs": epochs}, {}, None)


def test_the_notebook_and_its_resolved_parameters_are_part_of_the_fingerprint():
    parts = _parts(NOTEBOOK)
    assert parts["notebook"]["parameters"] == {
        "label": '"x"',
        "epochs": "3",
        "scored": "<output:scored>",
    }
    assert fingerprint(_parts(NOTEBOOK)) == fingerprint(parts)
    assert fingerprint(_parts(NOTEBOOK, epochs=4)) != fingerprint(parts)
    assert explain_difference(_parts(NOTEBOOK, epochs=4), parts) == [
        "notebook parameter epochs 3 → 4"
    ]
    faster = _parts({**NOTEBOOK, "timeout": 60})
    assert explain_difference(faster, parts) == ["notebook timeout 600 → 60"]


def test_a_script_steps_parts_have_no_notebook():
    node = GraphSpec.from_dict(_graph(None)).steps[0]
    assert "notebook" not in fingerprint_parts(node, {"epochs": 3}, {}, None)
