"""Pipeline parameter values: one coercion path, azureml's messages."""

from __future__ import annotations

import re

import pytest

from studio.core.errors import StudioError
from studio.core.parameters import coerce, format_value, resolve_parameters
from studio.core.spec import GraphSpec

SPEC = GraphSpec.from_dict(
    {
        "parameters": [
            {"name": "rate", "type": "float", "default": 0.5},
            {"name": "epochs", "type": "int", "default": 3},
            {"name": "shuffle", "type": "bool", "default": False},
            {"name": "mode", "type": "str", "default": "fast"},
        ],
        "steps": [{"node_id": "a", "name": "a", "script_name": "a.py", "snapshot": "a" * 64}],
    }
)


@pytest.mark.parametrize(
    ("ptype", "value", "expected"),
    [
        ("float", "0.1", 0.1),
        ("float", " 2 ", 2.0),
        ("float", 3, 3.0),
        ("float", 0.25, 0.25),
        ("int", "42", 42),
        ("int", 7, 7),
        ("bool", "true", True),
        ("bool", "True", True),
        ("bool", "yes", True),
        ("bool", "1", True),
        ("bool", "FALSE", False),
        ("bool", "0", False),
        ("bool", False, False),
        ("str", " as is ", " as is "),
    ],
)
def test_it_coerces_a_value_to_the_declared_type(ptype, value, expected):
    result = coerce("p", ptype, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("ptype", "value", "shown", "type_name"),
    [
        ("float", "fast", "'fast'", "str"),
        ("float", "nan", "'nan'", "str"),
        ("float", "inf", "'inf'", "str"),
        ("float", float("inf"), "inf", "float"),
        ("float", True, "True", "bool"),
        ("int", "1.5", "'1.5'", "str"),
        ("int", 1.0, "1.0", "float"),
        ("int", True, "True", "bool"),
        ("bool", "maybe", "'maybe'", "str"),
        ("bool", 1, "1", "int"),
        ("str", 5, "5", "int"),
        ("int", None, "None", "NoneType"),
    ],
)
def test_it_refuses_a_value_of_the_wrong_type_in_azureml_words(ptype, value, shown, type_name):
    with pytest.raises(StudioError) as caught:
        coerce("p", ptype, value)
    assert str(caught.value) == (
        f"Expected type of the pipeline parameter p is {ptype}, but the value {shown} provided is of type {type_name}"
    )
    assert caught.value.field == "pipeline_parameters.p"


def test_resolve_parameters_gives_the_defaults_without_overrides():
    assert resolve_parameters(SPEC, None) == {
        "rate": 0.5,
        "epochs": 3,
        "shuffle": False,
        "mode": "fast",
    }


def test_resolve_parameters_coerces_each_override():
    values = resolve_parameters(SPEC, {"rate": "0.1", "shuffle": "True", "epochs": "10"})
    assert values == {"rate": 0.1, "epochs": 10, "shuffle": True, "mode": "fast"}


def test_resolve_parameters_refuses_an_unknown_name():
    with pytest.raises(
        StudioError, match=r"^Pipeline parameter with name learning_rate does not exist$"
    ):
        resolve_parameters(SPEC, {"learning_rate": 0.1})


def test_resolve_parameters_refuses_a_bad_value():
    with pytest.raises(
        StudioError, match=r"^Expected type of the pipeline parameter rate is float, "
    ):
        resolve_parameters(SPEC, {"rate": "quick"})


def test_format_value_is_what_the_script_sees():
    assert [format_value(v) for v in (0.1, 3, True, "x y")] == ["0.1", "3", "True", "x y"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6d1f...", {"id": "6d1f..."}),
        ({"id": "abc", "kind": "file"}, {"id": "abc"}),
        ({"SavedDataSetReference": {"Id": "abc"}}, {"id": "abc"}),
        ({"saveddatasetreference": {"id": "abc"}}, {"id": "abc"}),
        ({"DataSetReference": {"Id": "abc", "Name": "n", "Version": "2"}}, {"id": "abc"}),
        ({"DataSetReference": {"Name": "iris", "Version": 2}}, {"name": "iris", "version": "2"}),
        ({"DataSetReference": {"Name": "iris"}}, {"name": "iris", "version": "latest"}),
        (
            {"LiteralValue": {"DataStoreName": "workspaceblobstore", "RelativePath": "a/b.csv"}},
            {"datastore": "workspaceblobstore", "path": "a/b.csv"},
        ),
    ],
)
def test_a_dataset_value_is_read_from_every_shape_azure_accepts(value, expected):
    assert coerce("ds", "dataset", value) == expected


@pytest.mark.parametrize(
    "value",
    [3, None, {}, {"SavedDataSetReference": "abc"}, {"LiteralValue": {"DataStoreName": "x"}}],
)
def test_a_value_that_names_no_dataset_is_refused_naming_the_parameter(value):
    with pytest.raises(StudioError, match="Pipeline parameter ds takes a dataset") as caught:
        coerce("ds", "dataset", value)
    assert caught.value.field == "pipeline_parameters.ds"


def test_a_literal_dataset_path_is_confined_to_its_datastore():
    with pytest.raises(StudioError, match=re.escape("'..' is not allowed")):
        coerce("ds", "dataset", {"LiteralValue": {"DataStoreName": "d", "RelativePath": "../x"}})


def test_split_known_keeps_declared_names_and_lists_the_others():
    from studio.core.parameters import split_known

    known, unknown = split_known(SPEC, {"rate": "0.1", "2": "city", "1": "united"})
    assert known == {"rate": "0.1"} and unknown == ["1", "2"]


def test_a_dataset_value_is_shown_to_a_script_as_its_id():
    assert format_value({"id": "abc", "kind": "file", "name": "n", "version": 1}) == "abc"
