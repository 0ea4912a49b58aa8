"""Azure's PipelineSubmissionInfo body, as its one serializer reads it: case-insensitive keys,
Azure's defaults, and refusals that name the field."""

from __future__ import annotations

import json

import pytest

from pipelines.api.submission import Submission, parse_submission
from studio.core.errors import StudioError

NAME_RULE = (
    "ExperimentName must start with a letter or digit and contain only letters, digits, "
    "'_' and '-', at most 255 characters."
)


def refusal(body) -> StudioError:
    with pytest.raises(StudioError) as caught:
        parse_submission(body)
    return caught.value


def from_json(text: str):
    """A body as the view gets it: Python's json accepts NaN and Infinity literals."""
    return json.loads(text)


def test_it_reads_a_minimal_body_with_azure_defaults():
    assert parse_submission({"ExperimentName": "train"}) == Submission(
        experiment_name="train",
        parameters={},
        description=None,
        run_source="API",
        tags={},
        properties={},
        continue_on_step_failure=None,
    )


def test_it_reads_every_field_of_a_full_body():
    body = from_json(
        """{
        "ExperimentName": "nightly-train_2",
        "Description": "retrain",
        "RunSource": "SDK",
        "ParameterAssignments": {"rate": 0.1, "epochs": 3, "shuffle": true, "mode": "fast"},
        "DataPathAssignments": {"raw": {"DataStoreName": "lake", "RelativePath": "in/2026"}},
        "Tags": {"team": "ml", "ticket": 42},
        "Properties": {"origin": "cron"},
        "ContinueRunOnStepFailure": true
        }"""
    )
    assert parse_submission(body) == Submission(
        experiment_name="nightly-train_2",
        parameters={
            "rate": 0.1,
            "epochs": 3,
            "shuffle": True,
            "mode": "fast",
            "raw": {"DataStoreName": "lake", "RelativePath": "in/2026"},
        },
        description="retrain",
        run_source="SDK",
        tags={"team": "ml", "ticket": "42"},
        properties={"origin": "cron"},
        continue_on_step_failure=True,
    )


@pytest.mark.parametrize(
    "keys",
    [
        ("experimentname", "parameterassignments", "tags", "continuerunonstepfailure"),
        ("EXPERIMENTNAME", "PARAMETERASSIGNMENTS", "TAGS", "CONTINUERUNONSTEPFAILURE"),
        ("experimentName", "parameterAssignments", "Tags", "continueRunOnStepFailure"),
    ],
)
def test_it_matches_keys_case_insensitively(keys):
    name, params, tags, cosf = keys
    parsed = parse_submission({name: "exp", params: {"x": 1}, tags: {"a": "b"}, cosf: False})
    assert parsed.experiment_name == "exp"
    assert parsed.parameters == {"x": 1}
    assert parsed.tags == {"a": "b"}
    assert parsed.continue_on_step_failure is False


def test_it_ignores_unknown_keys_as_azure_does():
    parsed = parse_submission(
        {"ExperimentName": "exp", "EnableEmailNotification": True, "Banana": [1, {"x": None}]}
    )
    assert parsed == parse_submission({"ExperimentName": "exp"})


@pytest.mark.parametrize("body", [None, [], "exp", 3, [{"ExperimentName": "exp"}]])
def test_it_refuses_a_body_that_is_not_an_object(body):
    error = refusal(body)
    assert error.field == "body"
    assert error.message == "The body must be a JSON object with at least ExperimentName."


@pytest.mark.parametrize(
    "body", [{}, {"ExperimentName": ""}, {"ExperimentName": None}, {"Name": "x"}]
)
def test_it_requires_an_experiment_name(body):
    error = refusal(body)
    assert (error.field, error.message) == ("ExperimentName", "ExperimentName is required.")


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "-leading-dash",
        "_leading",
        "with space",
        "a/b",
        "dot.name",
        "a" * 256,
        "x\x00",
        42,
        ["x"],
    ],
)
def test_it_refuses_an_experiment_name_outside_the_rule(name):
    error = refusal({"ExperimentName": name})
    assert (error.field, error.message) == ("ExperimentName", NAME_RULE)


@pytest.mark.parametrize("name", ["a", "7", "a" * 255, "Train_v2-final", "0-x"])
def test_it_accepts_an_experiment_name_inside_the_rule(name):
    assert parse_submission({"ExperimentName": name}).experiment_name == name


def test_it_refuses_an_experiment_name_with_a_trailing_newline():
    error = refusal({"ExperimentName": "exp\n"})
    assert error.field == "ExperimentName"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"fast"', "fast"),
        ("3", 3),
        ("-2.5", -2.5),
        ("true", True),
        ("false", False),
        ('""', ""),
        ("18446744073709551616", 2**64),
    ],
)
def test_it_keeps_string_number_and_boolean_parameter_values(text, value):
    parsed = parse_submission(
        from_json(f'{{"ExperimentName": "e", "ParameterAssignments": {{"p": {text}}}}}')
    )
    assert parsed.parameters == {"p": value}
    assert type(parsed.parameters["p"]) is type(value)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_it_refuses_a_parameter_that_is_not_a_finite_number(literal):
    error = refusal(
        from_json(f'{{"ExperimentName": "e", "ParameterAssignments": {{"rate": {literal}}}}}')
    )
    assert error.field == "ParameterAssignments.rate"
    assert error.message == "ParameterAssignments.rate must be a finite number."


@pytest.mark.parametrize("value", [[1, 2], [], {"a": 1}, None])
def test_it_refuses_a_parameter_that_is_a_list_object_or_null(value):
    error = refusal({"ExperimentName": "e", "ParameterAssignments": {"p": value}})
    assert error.field == "ParameterAssignments.p"
    assert error.message == "ParameterAssignments.p must be a string, number or boolean."


@pytest.mark.parametrize("value", ["a\x00b", "x" * 100_001])
def test_it_refuses_a_parameter_string_with_nul_or_over_the_limit(value):
    error = refusal({"ExperimentName": "e", "ParameterAssignments": {"p": value}})
    assert error.field == "ParameterAssignments.p"
    assert (
        error.message
        == "ParameterAssignments.p is too long or contains NUL characters or unpaired surrogates."
    )


def test_it_accepts_a_parameter_string_at_the_limit():
    value = "x" * 100_000
    assert parse_submission(
        {"ExperimentName": "e", "ParameterAssignments": {"p": value}}
    ).parameters == {"p": value}


@pytest.mark.parametrize("assignments", [[], ["p", 1], "p=1", 5])
def test_it_refuses_parameter_assignments_that_are_not_an_object(assignments):
    error = refusal({"ExperimentName": "e", "ParameterAssignments": assignments})
    assert error.field == "ParameterAssignments"
    assert error.message == "ParameterAssignments must be an object of name: value."


def test_it_merges_data_path_assignments_into_the_parameters():
    path = {"DataStoreName": "lake", "RelativePath": "raw/2026"}
    parsed = parse_submission(
        {
            "ExperimentName": "e",
            "ParameterAssignments": {"rate": 0.5},
            "DataPathAssignments": {"input_data": path},
        }
    )
    assert parsed.parameters == {"rate": 0.5, "input_data": path}


def test_a_data_path_assignment_wins_over_a_parameter_of_the_same_name():
    path = {"DataStoreName": "lake", "RelativePath": "raw"}
    parsed = parse_submission(
        {
            "ExperimentName": "e",
            "ParameterAssignments": {"d": "old"},
            "DataPathAssignments": {"d": path},
        }
    )
    assert parsed.parameters == {"d": path}


@pytest.mark.parametrize("value", ["lake/raw", ["lake", "raw"], None, 3])
def test_it_refuses_a_data_path_assignment_that_is_not_an_object(value):
    error = refusal({"ExperimentName": "e", "DataPathAssignments": {"d": value}})
    assert error.field == "DataPathAssignments.d"
    assert (
        error.message
        == "DataPathAssignments.d must be an object with DataStoreName and RelativePath."
    )


def test_it_refuses_data_path_assignments_that_are_not_an_object():
    error = refusal({"ExperimentName": "e", "DataPathAssignments": [{"DataStoreName": "x"}]})
    assert error.field == "DataPathAssignments"
    assert error.message == (
        "DataPathAssignments must be an object of name: {DataStoreName, RelativePath}."
    )


@pytest.mark.parametrize(("key", "name"), [("Tags", "tags"), ("Properties", "Properties")])
def test_it_reads_tags_and_properties_as_string_maps(key, name):
    parsed = parse_submission({"ExperimentName": "e", key: {"a": "x", "n": 3, "f": 0.5}})
    assert getattr(parsed, name.lower()) == {"a": "x", "n": "3", "f": "0.5"}


@pytest.mark.parametrize(("key", "name"), [("Tags", "tags"), ("Properties", "Properties")])
@pytest.mark.parametrize("value", [None, [1], {"x": 1}])
def test_it_refuses_a_tag_or_property_value_that_is_not_a_scalar(key, name, value):
    error = refusal({"ExperimentName": "e", key: {"k": value}})
    assert (error.field, error.message) == (f"{name}.k", f"{name}.k must be a string.")


@pytest.mark.parametrize("literal", ["NaN", "Infinity"])
def test_it_refuses_a_tag_that_is_not_a_finite_number(literal):
    error = refusal(from_json(f'{{"ExperimentName": "e", "Tags": {{"k": {literal}}}}}'))
    assert (error.field, error.message) == ("tags.k", "tags.k must be a string.")


@pytest.mark.parametrize(
    ("pair", "field"),
    [
        (("k", "a\x00b"), "tags.k"),
        (("k\x00", "v"), "tags.k\x00"),
        (("k", "v" * 10_001), "tags.k"),
        (("k" * 256, "v"), "tags." + "k" * 256),
    ],
)
def test_it_refuses_a_tag_with_nul_or_over_the_limits(pair, field):
    key, value = pair
    error = refusal({"ExperimentName": "e", "Tags": {key: value}})
    assert error.field == field
    assert (
        error.message == f"{field} is too long or contains NUL characters or unpaired surrogates."
    )


def test_it_accepts_tags_at_the_limits():
    tags = {"k" * 255: "v" * 10_000}
    assert parse_submission({"ExperimentName": "e", "Tags": tags}).tags == tags


@pytest.mark.parametrize(("key", "name"), [("Tags", "tags"), ("properties", "Properties")])
@pytest.mark.parametrize("value", [["a"], "a=b", 1])
def test_it_refuses_tags_or_properties_that_are_not_an_object(key, name, value):
    error = refusal({"ExperimentName": "e", key: value})
    assert (error.field, error.message) == (name, f"{name} must be an object of strings.")


@pytest.mark.parametrize("value", [True, False])
def test_it_reads_continue_on_step_failure_as_a_boolean(value):
    parsed = parse_submission({"ExperimentName": "e", "ContinueRunOnStepFailure": value})
    assert parsed.continue_on_step_failure is value


@pytest.mark.parametrize("value", ["true", "false", 1, 0, [], {}])
def test_it_refuses_continue_on_step_failure_that_is_not_a_boolean(value):
    error = refusal({"ExperimentName": "e", "ContinueRunOnStepFailure": value})
    assert error.field == "ContinueRunOnStepFailure"
    assert error.message == "ContinueRunOnStepFailure must be true or false."


@pytest.mark.parametrize("value", [3, "x" * 1001, "a\x00", ["x"]])
def test_it_refuses_a_description_that_is_not_a_short_string(value):
    error = refusal({"ExperimentName": "e", "Description": value})
    assert error.field == "Description"
    assert error.message == "Description must be a string of at most 1000 characters."


@pytest.mark.parametrize("value", ["", "x" * 33, "a\x00", 7, None])
def test_it_refuses_a_run_source_that_is_not_a_short_string(value):
    error = refusal({"ExperimentName": "e", "RunSource": value})
    assert (error.field, error.message) == ("RunSource", "RunSource must be a short string.")


def test_it_names_the_first_bad_field_only_after_checking_the_experiment_name():
    error = refusal({"ExperimentName": "../x", "ParameterAssignments": {"p": float("nan")}})
    assert error.field == "ExperimentName"


def test_a_body_error_is_a_value_error_with_its_message():
    error = refusal({"ExperimentName": "e", "ContinueRunOnStepFailure": "yes"})
    assert isinstance(error, ValueError)
    assert str(error) == error.message


def test_dataset_assignments_join_the_parameters_in_azure_s_shape():
    submission = parse_submission(
        {
            "ExperimentName": "e",
            "DataSetDefinitionValueAssignments": {
                "file_ds_param": {"SavedDataSetReference": {"Id": "abc"}}
            },
        }
    )
    assert submission.parameters == {"file_ds_param": {"SavedDataSetReference": {"Id": "abc"}}}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ([], "DataSetDefinitionValueAssignments"),
        ({"p": "abc"}, "DataSetDefinitionValueAssignments.p"),
    ],
)
def test_badly_shaped_dataset_assignments_name_the_field(value, field):
    error = refusal({"ExperimentName": "e", "DataSetDefinitionValueAssignments": value})
    assert error.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ParameterAssignments", 1),
        ("DataPathAssignments", {"DataStoreName": "d", "RelativePath": "p"}),
        ("DataSetDefinitionValueAssignments", {"SavedDataSetReference": {"Id": "x"}}),
    ],
)
def test_it_refuses_an_assignment_whose_name_a_database_cannot_store(field, value):
    # An undeclared name is ignored but still named in the run's warnings: it must be storable.
    error = refusal({"ExperimentName": "e", field: {"\x00\x96#": value}})
    assert error.field == f"{field}.\x00\x96#"
    assert error.message.endswith("is too long or contains NUL characters or unpaired surrogates.")
