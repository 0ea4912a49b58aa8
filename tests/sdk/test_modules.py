"""ModuleStep and Module in the SDK: azureml's signatures and messages, and the step spec a
module version becomes (no server: versions are made from the server's JSON)."""

from __future__ import annotations

import inspect

import pytest

from studio.core.spec import GraphSpec
from studio.sdk.pipeline.core import (
    Module,
    ModuleVersion,
    ModuleVersionDescriptor,
    Pipeline,
    PipelineData,
    PipelineParameter,
)
from studio.sdk.pipeline.core.graph import InputPortDef, OutputPortDef
from studio.sdk.pipeline.core.module import _pick
from studio.sdk.pipeline.steps import ModuleStep

DIGEST = "a" * 64


def _version(version="2", inputs=("in1", "in2"), outputs=("out_sum",), params=None, **more):
    return ModuleVersion(
        None,
        {
            "id": f"id-{version}",
            "module_id": "m-1",
            "module_name": "calc",
            "version": version,
            "status": "Active",
            "description": "",
            "snapshot": DIGEST,
            "files": ["calc.py"],
            "script_name": "calc.py",
            "inputs": [InputPortDef(n)._to_json() for n in inputs],
            "outputs": [OutputPortDef(n)._to_json() for n in outputs],
            "params": [
                {"name": k, "default": v, "type": type(v).__name__}
                for k, v in (params or {}).items()
            ],
            "arguments": [],
            "environment": None,
            "updated_at": "2026-01-01T00:00:00Z",
            **more,
        },
    )


def test_the_signatures_are_azuremls():
    assert list(inspect.signature(ModuleStep).parameters) == [
        "module", "version", "module_version", "inputs_map", "outputs_map", "compute_target",
        "runconfig", "runconfig_pipeline_params", "arguments", "params", "name",
        "_workflow_provider",
    ]  # fmt: skip
    assert list(inspect.signature(Module.publish_python_script).parameters) == [
        "self", "script_name", "description", "inputs", "outputs", "params",
        "create_sequencing_ports", "version", "is_default", "source_directory", "hash_paths",
        "category", "arguments", "runconfig",
    ]  # fmt: skip
    assert InputPortDef("a").data_types == ["AnyFile", "AnyDirectory"]
    assert OutputPortDef("a").data_type == "AnyFile"
    assert OutputPortDef("a", is_directory=True).data_type == "AnyDirectory"


def test_exactly_one_of_module_or_module_version():
    with pytest.raises(ValueError, match="but both are missing"):
        ModuleStep()
    module = Module(None, "m-1", "calc", "", "Active", None, [])
    with pytest.raises(ValueError, match="but both are provided"):
        ModuleStep(module=module, module_version=_version())


def test_ports_that_the_version_lacks_or_that_are_left_unbound_are_named():
    data = PipelineData("a")
    with pytest.raises(
        ValueError,
        match=r"inputs_map names input port in3, which module calc version 2 does not have \(its input ports: in1, in2\)",
    ):
        ModuleStep(module_version=_version(), inputs_map={"in1": data, "in2": data, "in3": data})
    with pytest.raises(ValueError, match="outputs_map names output port out_x"):
        ModuleStep(
            module_version=_version(),
            inputs_map={"in1": data, "in2": data},
            outputs_map={"out_x": PipelineData("b")},
        )
    with pytest.raises(ValueError, match="input port in2 of module calc version 2 is not optional"):
        ModuleStep(module_version=_version(), inputs_map={"in1": data})
    with pytest.raises(ValueError, match="params names rate, which is not a parameter"):
        ModuleStep(module_version=_version(inputs=()), params={"rate": 1})
    parameter = PipelineParameter("factor", 2)
    with pytest.raises(Exception, match="Parameter name factor is already in use"):
        ModuleStep(
            module_version=_version(inputs=(), params={"factor": 1}),
            arguments=["--f", parameter],
            params={"factor": 5},
        )


def test_without_a_default_the_highest_version_not_disabled_is_used():
    versions = [_version("1"), _version("1.10"), _version("1.9"), _version("2", status="Disabled")]
    assert _pick("calc", versions).version == "1.10"
    named = [_version("b", updated_at="2026-01-02T00:00:00Z"), _version("a")]
    assert _pick("calc", named).version == "b"  # not all numbers: the one updated last
    with pytest.raises(ValueError, match=r"Module calc has no version that is not disabled\."):
        _pick("calc", [_version("2", status="Disabled")])


def test_a_missing_version_is_refused_before_anything_is_sent(tmp_path):
    (tmp_path / "calc.py").write_text("print(1)\n")
    descriptors = [ModuleVersionDescriptor("1", "id-1"), ModuleVersionDescriptor("2", "id-2")]
    module = Module(None, "m-1", "calc", "", "Active", None, descriptors)
    with pytest.raises(ValueError, match=r"Module calc has no version 7; its versions: 1, 2\."):
        module.resolve("7")
    with pytest.raises(Exception, match="provided version value already exist"):
        module.publish_python_script(
            "calc.py", "", [], [], version="1", source_directory=str(tmp_path)
        )
    with pytest.raises(Exception, match="provided version is not part of the module"):
        module.set_default_version("7")
    with pytest.raises(ValueError, match="script not found at"):
        module.publish_python_script(
            "nope.py", "", [], [], version="3", source_directory=str(tmp_path)
        )


def test_a_module_step_is_a_step_of_the_version_with_its_ports_named():
    first_sum, first_prod = PipelineData("sum_out"), PipelineData("prod_out")
    entry = ModuleStep(
        module_version=_version(
            "1",
            inputs=(),
            outputs=("out_sum", "out_prod"),
            params={"initialNum": 12, "unset": None},
        ),
        outputs_map={"out_sum": first_sum, "out_prod": first_prod},
        arguments=[
            "--out",
            first_sum,
            "--prod",
            first_prod,
            "--n",
            PipelineParameter("initialNum", 17),
        ],
    )
    middle = ModuleStep(
        module_version=_version("2"),
        inputs_map={"in1": first_sum, "in2": first_prod},
        arguments=["--a", first_sum, "--b", first_prod],
        name="middle",
    )
    pipeline = Pipeline(None, [entry, middle])
    spec = GraphSpec.from_dict(pipeline.graph_spec.to_dict())
    one, two = spec.steps
    assert (one.name, one.snapshot, one.script_name) == ("calc", DIGEST, "calc.py")
    assert one.module.to_dict() == {"id": "id-1", "name": "calc", "version": "1"}
    assert dict(one.params)["initialNum"].to_dict() == {"kind": "parameter", "value": "initialNum"}
    assert "unset" not in dict(one.params)
    assert [o.name for o in one.outputs] == ["sum_out", "prod_out"]
    assert [i.name for i in two.inputs] == ["in1", "in2"]
    assert [a.to_dict() for a in two.arguments][1] == {"kind": "input", "value": "in1"}
    assert pipeline._snapshots == {}  # on the server already: nothing to upload
