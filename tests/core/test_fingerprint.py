"""Step fingerprints and the words that explain a reuse miss."""

from __future__ import annotations

import copy
import json

import pytest

from studio.core.fingerprint import (
    explain_difference,
    fingerprint,
    fingerprint_parts,
    snapshot_file_changes,
)
from studio.core.spec import Arg, OutputSpec, StepSpec

SNAP_A, SNAP_B = "a" * 64, "b" * 64

STEP = StepSpec(
    node_id="train",
    name="train",
    script_name="train.py",
    snapshot=SNAP_A,
    arguments=(
        Arg("literal", "--reg"),
        Arg("parameter", "reg"),
        Arg("literal", "--data"),
        Arg("input", "raw"),
        Arg("literal", "--out"),
        Arg("output", "model"),
    ),
    params=(("x", Arg("parameter", "x")),),
    outputs=(OutputSpec(name="model"),),
    version="1",
)
VALUES = {"reg": 0.01, "x": "a"}
INPUTS = {
    "raw": {"kind": "dataset", "name": "raw", "version": 2, "data": "d1"},
    "prep": {"kind": "step", "step": "s", "manifest": "m1"},
}
ENV = "python 3.12 / studio-env 1"


def parts(**changes) -> dict:
    base = fingerprint_parts(STEP, VALUES, INPUTS, ENV)
    return {**copy.deepcopy(base), **changes}


def test_it_lists_every_part_that_decides_the_outputs():
    assert fingerprint_parts(STEP, VALUES, INPUTS, ENV) == {
        "snapshot": SNAP_A,
        "script": "train.py",
        "arguments": ["--reg", "0.01", "--data", "<input:raw>", "--out", "<output:model>"],
        "params": {"x": "a"},
        "version": "1",
        "inputs": {
            "prep": {"kind": "step", "step": "s", "manifest": "m1"},
            "raw": {"kind": "dataset", "name": "raw", "version": 2, "data": "d1"},
        },
        "outputs": [["model", "OutputFileDatasetConfig", "", ""]],
        "environment": ENV,
    }


def test_the_parts_are_json_ready():
    made = fingerprint_parts(STEP, VALUES, INPUTS, ENV)
    assert json.loads(json.dumps(made)) == made


def test_a_fingerprint_is_a_sha256_hex_digest():
    digest = fingerprint(parts())
    assert len(digest) == 64 and set(digest) <= set("0123456789abcdef")


def test_a_fingerprint_is_stable_for_the_same_step():
    again = fingerprint_parts(STEP, dict(VALUES), copy.deepcopy(INPUTS), ENV)
    assert fingerprint(again) == fingerprint(parts())
    # a known value: the digest must not drift between releases, or nothing would be reused
    assert (
        fingerprint({"a": 1}) == "f9d86028c6e0d64e225186f96acb69338b2c59764df79162107f5c4bb34d1310"
    )


def test_a_fingerprint_does_not_depend_on_key_order():
    shuffled = {key: value for key, value in reversed(list(parts().items()))}
    shuffled["inputs"] = {
        name: dict(reversed(list(i.items()))) for name, i in reversed(list(INPUTS.items()))
    }
    assert fingerprint(shuffled) == fingerprint(parts())


def test_inputs_in_another_order_give_the_same_parts():
    reordered = dict(reversed(list(INPUTS.items())))
    assert fingerprint_parts(STEP, VALUES, reordered, ENV) == fingerprint_parts(
        STEP, VALUES, INPUTS, ENV
    )


@pytest.mark.parametrize(
    "change",
    [
        {"snapshot": SNAP_B},
        {"script": "train2.py"},
        {"arguments": ["--reg", "0.1", "--data", "<input:raw>", "--out", "<output:model>"]},
        {"arguments": ["--data", "<input:raw>", "--reg", "0.01", "--out", "<output:model>"]},
        {"params": {"x": "b"}},
        {"params": {"x": "a", "y": "a"}},
        {"version": "2"},
        {"version": None},
        {"inputs": {**INPUTS, "raw": {**INPUTS["raw"], "version": 3}}},
        {"inputs": {**INPUTS, "raw": {**INPUTS["raw"], "data": "d2"}}},
        {"inputs": {**INPUTS, "prep": {**INPUTS["prep"], "manifest": "m2"}}},
        {"outputs": [["model", "PipelineData", "", ""]]},
        {"outputs": [["model", "OutputFileDatasetConfig", "lake", "models/"]]},
        {"environment": "python 3.13 / studio-env 1"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_fingerprint_changes_with_each_part(change):
    assert fingerprint(parts(**change)) != fingerprint(parts())


def test_a_fingerprint_changes_with_a_parameter_value_used_by_the_step():
    assert fingerprint(fingerprint_parts(STEP, {**VALUES, "reg": 0.1}, INPUTS, ENV)) != fingerprint(
        parts()
    )
    assert fingerprint(fingerprint_parts(STEP, {**VALUES, "x": "b"}, INPUTS, ENV)) != fingerprint(
        parts()
    )


def test_a_fingerprint_ignores_a_parameter_the_step_does_not_use():
    unused = fingerprint_parts(STEP, {**VALUES, "epochs": 10}, INPUTS, ENV)
    assert fingerprint(unused) == fingerprint(parts())


def test_the_same_datapath_value_gives_the_same_fingerprint_whatever_its_key_order():
    step = StepSpec(
        node_id="s",
        name="s",
        script_name="s.py",
        snapshot=SNAP_A,
        arguments=(Arg("literal", "--data"), Arg("parameter", "data")),
    )
    one = fingerprint_parts(step, {"data": {"datastore": "lake", "path": "in"}}, {}, ENV)
    other = fingerprint_parts(step, {"data": {"path": "in", "datastore": "lake"}}, {}, ENV)
    assert fingerprint(one) == fingerprint(other)


# --- explain_difference ------------------------------------------------------------------


def test_nothing_is_explained_when_nothing_changed():
    assert explain_difference(parts(), parts()) == []


def test_it_names_a_changed_argument_by_its_flag():
    now = parts(arguments=["--reg", "0.1", "--data", "<input:raw>", "--out", "<output:model>"])
    assert explain_difference(now, parts()) == ["argument --reg 0.01 → 0.1"]


def test_it_names_a_changed_positional_argument_by_its_position():
    assert explain_difference(parts(arguments=["a", "c"]), parts(arguments=["a", "b"])) == [
        "argument #1 b → c"
    ]


def test_it_names_a_renamed_flag():
    now = parts(arguments=["--lr", "0.01", "--data", "<input:raw>", "--out", "<output:model>"])
    assert explain_difference(now, parts()) == ["argument --reg → --lr"]


def test_it_names_added_and_removed_arguments():
    assert explain_difference(parts(arguments=["--a", "--b"]), parts(arguments=["--a"])) == [
        "argument --b added"
    ]
    assert explain_difference(parts(arguments=["--a"]), parts(arguments=["--a", "--b"])) == [
        "argument --b removed"
    ]


def test_it_names_a_changed_negative_number_by_its_flag():
    now = parts(arguments=["--shift", "-2"])
    assert explain_difference(now, parts(arguments=["--shift", "-1"])) == [
        "argument --shift -1 → -2"
    ]


def test_it_names_a_changed_param():
    assert explain_difference(parts(params={"x": "b"}), parts()) == ["param x a → b"]


def test_it_names_a_param_that_appeared_or_went():
    assert explain_difference(parts(params={"x": "a", "y": "1"}), parts()) == ["param y None → 1"]
    assert explain_difference(parts(params={}), parts()) == ["param x a → None"]


def test_it_names_a_new_dataset_version():
    now = parts(inputs={**INPUTS, "raw": {**INPUTS["raw"], "version": 3, "data": "d3"}})
    assert explain_difference(now, parts()) == ["input raw: new version 3"]


def test_it_names_changed_data_under_the_same_dataset_version():
    now = parts(inputs={**INPUTS, "raw": {**INPUTS["raw"], "data": "d2"}})
    assert explain_difference(now, parts()) == ["input raw: data changed"]


def test_it_names_another_dataset():
    now = parts(inputs={**INPUTS, "raw": {**INPUTS["raw"], "name": "raw_eu"}})
    assert explain_difference(now, parts()) == ["input raw: dataset raw → raw_eu"]


def test_it_names_new_output_of_an_upstream_step():
    before = parts(inputs={"x": {"kind": "step", "step": "s", "manifest": "m1"}})
    now = parts(inputs={"x": {"kind": "step", "step": "s", "manifest": "m2"}})
    assert explain_difference(now, before) == ["input x: upstream step s produced new output"]


def test_it_names_new_output_of_an_unnamed_upstream_step_without_a_double_space():
    before = parts(inputs={"x": {"kind": "step", "manifest": "m1"}})
    now = parts(inputs={"x": {"kind": "step", "manifest": "m2"}})
    assert explain_difference(now, before) == ["input x: upstream step produced new output"]


def test_it_names_a_datapath_input_that_moved_or_whose_data_changed():
    def datapath(path, data):
        return {
            "inputs": {"d": {"kind": "datapath", "datastore": "lake", "path": path, "data": data}}
        }

    assert explain_difference(parts(**datapath("b", "1")), parts(**datapath("a", "1"))) == [
        "input d: lake/a → lake/b"
    ]
    assert explain_difference(parts(**datapath("a", "2")), parts(**datapath("a", "1"))) == [
        "input d: data changed"
    ]


def test_it_names_inputs_that_were_added_or_removed():
    assert explain_difference(parts(inputs={}), parts(inputs={"x": INPUTS["raw"]})) == [
        "input x removed"
    ]
    assert explain_difference(parts(inputs={"x": INPUTS["raw"]}), parts(inputs={})) == [
        "input x added"
    ]


def test_it_names_an_input_that_changed_kind():
    now = parts(inputs={"x": {"kind": "dataset", "name": "raw", "version": 1}})
    before = parts(inputs={"x": {"kind": "datapath", "datastore": "lake", "path": "raw"}})
    assert explain_difference(now, before) == ["input x changed"]


def test_it_names_a_new_version():
    assert explain_difference(parts(version="2"), parts(version="1")) == ["version 1 → 2"]


def test_it_names_a_new_environment():
    assert explain_difference(parts(environment="py3.13"), parts(environment="py3.12")) == [
        "environment py3.12 → py3.13"
    ]


def test_it_names_a_new_script_and_changed_outputs():
    assert explain_difference(parts(script="b.py"), parts(script="a.py")) == [
        "script_name a.py → b.py"
    ]
    assert explain_difference(parts(outputs=[]), parts()) == ["outputs changed"]


def test_it_names_the_changed_source_files():
    manifests = {
        SNAP_A: {"train.py": "h1", "util.py": "h2", "old.py": "h3"},
        SNAP_B: {"train.py": "h1b", "util.py": "h2", "new.py": "h4"},
    }

    def changes(old, new):
        return snapshot_file_changes(manifests[old], manifests[new])

    assert explain_difference(parts(snapshot=SNAP_B), parts(), changes) == [
        "new.py added",
        "old.py removed",
        "train.py changed",
    ]


def test_it_says_the_source_directory_changed_when_the_files_are_unknown():
    assert explain_difference(parts(snapshot=SNAP_B), parts()) == ["source directory changed"]
    assert explain_difference(parts(snapshot=SNAP_B), parts(), lambda old, new: []) == [
        "source directory changed"
    ]


def test_it_lists_every_reason_in_a_fixed_order():
    now = parts(
        snapshot=SNAP_B,
        arguments=["--reg", "0.1", "--data", "<input:raw>", "--out", "<output:model>"],
        params={"x": "b"},
        version="2",
        inputs={**INPUTS, "raw": {**INPUTS["raw"], "version": 3}},
        environment="py3.13",
    )
    assert explain_difference(now, parts()) == [
        "source directory changed",
        "argument --reg 0.01 → 0.1",
        "param x a → b",
        "version 1 → 2",
        "input raw: new version 3",
        f"environment {ENV} → py3.13",
    ]


def test_it_explains_against_parts_stored_by_an_older_release():
    old = {"snapshot": SNAP_A, "script": "train.py", "version": "1"}
    reasons = explain_difference(parts(), old)
    assert "argument --reg added" in reasons
    assert "input prep added" in reasons
    assert f"environment None → {ENV}" in reasons


# --- snapshot_file_changes -----------------------------------------------------------------


def test_snapshot_file_changes_lists_changed_added_and_removed_files_sorted():
    old = {"data_prep.py": "1", "b/x.py": "2", "y.py": "3"}
    new = {"data_prep.py": "1b", "b/x.py": "2", "a.py": "4"}
    assert snapshot_file_changes(old, new) == ["a.py added", "data_prep.py changed", "y.py removed"]


def test_snapshot_file_changes_is_empty_for_the_same_files():
    assert snapshot_file_changes({"a.py": "1"}, {"a.py": "1"}) == []
