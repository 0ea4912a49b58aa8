"""DataPath pipeline parameters: a datastore and a path confined to it."""

from __future__ import annotations

import pytest

from studio.core.errors import StudioError
from studio.core.parameters import (
    coerce,
    coerce_datapath,
    format_value,
    resolve_parameters,
)
from studio.core.spec import GraphSpec

DEFAULT = {"datastore": "lake", "path": "raw/2026"}
SPEC = GraphSpec.from_dict(
    {
        "parameters": [
            {"name": "input_data", "type": "datapath", "default": DEFAULT},
            {"name": "rate", "type": "float", "default": 0.5},
        ],
        "steps": [{"node_id": "a", "name": "a", "script_name": "a.py", "snapshot": "a" * 64}],
    }
)


def type_message(name: str, value) -> str:
    return (
        f"Expected type of the pipeline parameter {name} is DataPath (a datastore name and a "
        f"relative path), but the value {value!r} provided is of type {type(value).__name__}"
    )


@pytest.mark.parametrize(
    "value",
    [
        {"datastore": "lake", "path": "in/x.csv"},
        {"DataStoreName": "lake", "RelativePath": "in/x.csv"},
        {"datastorename": "lake", "relativepath": "in/x.csv"},
        {"DATASTORE": "lake", "Path": "in/x.csv"},
    ],
)
def test_it_reads_a_mapping_with_a_datastore_and_a_path_in_either_spelling(value):
    assert coerce_datapath("d", value) == {"datastore": "lake", "path": "in/x.csv"}


def test_it_prefers_the_short_keys_when_both_spellings_are_given():
    value = {"datastore": "a", "DataStoreName": "b", "path": "p", "RelativePath": "q"}
    assert coerce_datapath("d", value) == {"datastore": "a", "path": "p"}


def test_it_ignores_extra_keys_of_a_mapping():
    value = {"DataStoreName": "lake", "RelativePath": "x", "PathOnCompute": "/mnt/x"}
    assert coerce_datapath("d", value) == {"datastore": "lake", "path": "x"}


def test_it_reads_a_string_as_a_path_on_the_default_datastore():
    assert coerce_datapath("d", "in/2027", DEFAULT) == {"datastore": "lake", "path": "in/2027"}


def test_it_refuses_a_string_without_a_default_to_take_the_datastore_from():
    with pytest.raises(StudioError) as caught:
        coerce_datapath("d", "in/2027")
    assert str(caught.value) == type_message("d", "in/2027")
    assert caught.value.field == "pipeline_parameters.d"


@pytest.mark.parametrize(
    ("given", "clean"),
    [
        ("./in//x/", "in/x"),
        ("in/./x.csv", "in/x.csv"),
        ("", ""),
        ("in/*.csv", "in/*.csv"),
        ("in/part-[0-9].csv", "in/part-[0-9].csv"),
    ],
)
def test_it_normalises_the_path_and_allows_wildcards(given, clean):
    assert coerce_datapath("d", {"datastore": "lake", "path": given}) == {
        "datastore": "lake",
        "path": clean,
    }


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../x", "'..' is not allowed in datastore paths: '../x'"),
        ("in/../../x", "'..' is not allowed in datastore paths: 'in/../../x'"),
        ("in/..", "'..' is not allowed in datastore paths: 'in/..'"),
        (".../x", "Dot-only path parts are not allowed: '.../x'"),
        ("/etc/passwd", "Absolute paths are not allowed in datastores: '/etc/passwd'"),
        ("..\\x", "Backslashes are not allowed in datastore paths: '..\\\\x'"),
        ("%2e%2e/x", "Percent-encoded characters are not allowed in datastore paths: '%2e%2e/x'"),
        (
            "s3://bucket/x",
            "A datastore path must be relative to the datastore, not a URL or drive: 's3://bucket/x'",
        ),
        ("C:x", "A datastore path must be relative to the datastore, not a URL or drive: 'C:x'"),
        ("~/x", "A datastore path must be relative to the datastore, not a URL or drive: '~/x'"),
        ("a\x00b", "A datastore path must not contain NUL characters."),
    ],
)
def test_it_refuses_a_path_that_could_leave_the_datastore(path, reason):
    with pytest.raises(StudioError) as caught:
        coerce_datapath("d", {"datastore": "lake", "path": path})
    assert str(caught.value) == f"Pipeline parameter d: {reason}"
    assert caught.value.field == "pipeline_parameters.d"


def test_it_refuses_a_path_escape_given_as_a_string_on_the_default_datastore():
    with pytest.raises(StudioError, match=r"^Pipeline parameter d: '\.\.' is not allowed"):
        coerce_datapath("d", "../x", DEFAULT)


@pytest.mark.parametrize(
    "value",
    [
        {"datastore": "lake"},
        {"path": "x"},
        {"datastore": "", "path": "x"},
        {"datastore": 3, "path": "x"},
        {"datastore": "lake", "path": None},
        {"datastore": "lake", "path": ["x"]},
        {},
        ["lake", "x"],
        3,
        None,
    ],
)
def test_it_refuses_a_value_that_is_not_a_datastore_and_a_path(value):
    with pytest.raises(StudioError) as caught:
        coerce_datapath("d", value, DEFAULT)
    assert str(caught.value) == type_message("d", value)


def test_coerce_sends_a_datapath_value_through_the_same_rules():
    assert coerce("d", "datapath", "in/x", DEFAULT) == {"datastore": "lake", "path": "in/x"}
    with pytest.raises(StudioError, match=r"^Pipeline parameter d: '\.\.' is not allowed"):
        coerce("d", "datapath", {"DataStoreName": "lake", "RelativePath": "../x"})


def test_coerce_refuses_a_datastore_mapping_for_a_plain_type():
    with pytest.raises(StudioError, match=r"^Expected type of the pipeline parameter p is str, "):
        coerce("p", "str", {"datastore": "lake", "path": "x"})


def test_resolve_parameters_keeps_the_datapath_default():
    assert resolve_parameters(SPEC, {}) == {"input_data": DEFAULT, "rate": 0.5}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("in/2027", {"datastore": "lake", "path": "in/2027"}),
        (
            {"DataStoreName": "archive", "RelativePath": "old/"},
            {"datastore": "archive", "path": "old"},
        ),
        ({"datastore": "lake", "path": "./a//b"}, {"datastore": "lake", "path": "a/b"}),
    ],
)
def test_resolve_parameters_coerces_a_datapath_override(override, expected):
    values = resolve_parameters(SPEC, {"input_data": override, "rate": "0.25"})
    assert values == {"input_data": expected, "rate": 0.25}


@pytest.mark.parametrize(
    "override", ["../secrets", {"DataStoreName": "lake", "RelativePath": "/etc"}, 5, ["lake", "x"]]
)
def test_resolve_parameters_refuses_a_bad_datapath_override(override):
    with pytest.raises(StudioError) as caught:
        resolve_parameters(SPEC, {"input_data": override})
    assert caught.value.field == "pipeline_parameters.input_data"


def test_resolve_parameters_does_not_change_the_spec_default():
    resolve_parameters(SPEC, {"input_data": "elsewhere"})
    assert SPEC.parameter("input_data").default == {"datastore": "lake", "path": "raw/2026"}


def test_a_datapath_value_reaches_the_script_as_datastore_slash_path():
    assert format_value({"datastore": "lake", "path": "in/x"}) == "lake/in/x"
