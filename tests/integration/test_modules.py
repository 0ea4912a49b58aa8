"""Modules through the SDK, written as Microsoft's ModuleStep example writes them: a module with
two versions used by two pipelines, run by a real worker, reused, published and run by REST."""

from __future__ import annotations

import uuid

import pytest
import requests

from studio.sdk.core import Experiment, RunConfiguration
from studio.sdk.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineParameter,
    PipelineRun,
    Schedule,
    ScheduleRecurrence,
)
from studio.sdk.pipeline.core.graph import InputPortDef, OutputPortDef
from studio.sdk.pipeline.core.module import Module
from studio.sdk.pipeline.steps import ModuleStep, PythonScriptStep

pytestmark = pytest.mark.integration

# Version 1 adds its parameter to a number it is given; version 2 multiplies the numbers in
# the file it reads by it. Both write one number to the file at --out.
VERSION_1 = """
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--num")
parser.add_argument("--out")
args = parser.parse_args()
factor = int(os.environ["AML_PARAMETER_factor"])
result = int(args.num) + factor
print(f"calc version 1: {args.num} + {factor} = {result}")
os.makedirs(os.path.dirname(args.out), exist_ok=True)
open(args.out, "w").write(str(result))
"""
VERSION_2 = """
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--numbers")
parser.add_argument("--out")
args = parser.parse_args()
factor = int(os.environ["AML_PARAMETER_factor"])
numbers = [int(n) for n in open(args.numbers).read().split()]
result = factor
for n in numbers:
    result *= n
print(f"calc version 2: {numbers} * {factor} = {result}")
os.makedirs(os.path.dirname(args.out), exist_ok=True)
open(args.out, "w").write(str(result))
"""
SHOW = """
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--result")
print("result is", open(parser.parse_args().result).read())
"""
NUMBERS = """
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--out")
args = parser.parse_args()
os.makedirs(os.path.dirname(args.out), exist_ok=True)
open(args.out, "w").write("2 5")
"""


@pytest.fixture
def calc(ws, tmp_path):
    """A module with versions 1 and 2 (the default), from two folders of different code."""
    for name, text in [("v1", VERSION_1), ("v2", VERSION_2), ("show", SHOW), ("nums", NUMBERS)]:
        (tmp_path / name).mkdir()
        (tmp_path / name / ("calc.py" if name.startswith("v") else f"{name}.py")).write_text(text)
    module = Module.create(ws, name=f"calc-{uuid.uuid4().hex[:6]}", description="Calculates")
    out = OutputPortDef(name="result", default_datastore_mode="mount", label="The result")
    numbers = InputPortDef(name="numbers", default_datastore_mode="mount", label="Numbers")
    module.publish_python_script(
        "calc.py",
        "adds",
        inputs=[],
        outputs=[out],
        params={"factor": 10},
        version="1",
        source_directory=str(tmp_path / "v1"),
    )
    module.publish_python_script(
        "calc.py",
        "multiplies",
        inputs=[numbers],
        outputs=[out],
        params={"factor": 3},
        version="2",
        is_default=True,
        source_directory=str(tmp_path / "v2"),
    )
    return module, tmp_path


def _pipeline_a(ws, module, folder):
    """Version 1, named; its result shown by a script step."""
    result = PipelineData("a_result", is_directory=False)
    num = PipelineParameter(name="num", default_value=4)
    step = ModuleStep(
        module=module,
        version="1",
        outputs_map={"result": result},
        runconfig=RunConfiguration(),
        arguments=["--num", num, "--out", result],
    )
    show = PythonScriptStep(
        "show.py",
        name="show",
        arguments=["--result", result],
        inputs=[result],
        source_directory=str(folder / "show"),
    )
    return Pipeline(ws, [step, show])


def _pipeline_b(ws, module, folder):
    """The module's default version (2), reading numbers another step writes."""
    numbers = PipelineData("numbers_data", is_directory=False)
    result = PipelineData("b_result", is_directory=False)
    write = PythonScriptStep(
        "nums.py",
        name="numbers",
        arguments=["--out", numbers],
        outputs=[numbers],
        source_directory=str(folder / "nums"),
    )
    step = ModuleStep(
        module=module,
        inputs_map={"numbers": numbers},
        outputs_map={"result": result},
        arguments=["--numbers", numbers, "--out", result],
    )
    return Pipeline(ws, [write, step])


def _steps(run):
    run.wait_for_completion(show_output=False)
    return {s.name: s for s in run.get_steps()}


def test_a_module_with_two_versions_runs_in_two_pipelines(studio, ws, calc):
    module, folder = calc
    assert module.default_version == "2"
    assert [(v.version) for v in Module.get_versions(ws, module.name)] == ["1", "2"]
    experiment = Experiment(ws, f"modules-{uuid.uuid4().hex[:6]}")

    run_a = experiment.submit(_pipeline_a(ws, module, folder))
    steps = _steps(run_a)
    assert run_a.get_status() == "Finished"
    calc_a = steps[module.name]
    assert calc_a.get_details()["module"]["version"] == "1"
    assert "calc version 1: 4 + 10 = 14" in calc_a.get_job_log()
    assert "result is 14" in steps["show"].get_job_log()

    run_b = experiment.submit(_pipeline_b(ws, module, folder))
    steps_b = _steps(run_b)
    assert run_b.get_status() == "Finished"
    calc_b = steps_b[module.name]
    assert calc_b.get_details()["module"] == {
        "id": module.resolve("2").module_version_id,
        "name": module.name,
        "version": "2",
    }
    assert "calc version 2: [2, 5] * 3 = 30" in calc_b.get_job_log()
    graph = studio.api("GET", f"runs/{run_b.id}/").json()["graph"]
    inputs = next(s for s in graph["steps"] if s["name"] == module.name)["inputs"]
    assert [i["name"] for i in inputs] == ["numbers"]  # the port's name

    # The same pipeline again: the module step is reused like any step.
    again = experiment.submit(_pipeline_a(ws, module, folder), pipeline_parameters={})
    reused = _steps(again)[module.name].get_details()
    assert reused["reuse"]["reused"] is True
    assert reused["reuse"]["reused_from_step"] == calc_a.id
    assert reused["module"]["version"] == "1"

    # Published, and run through its REST endpoint.
    published = _pipeline_b(ws, module, folder).publish(name="calc-b", description="module b")
    response = requests.post(
        published.endpoint,
        headers=ws.auth.get_authentication_header(),
        json={"ExperimentName": experiment.name},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    rest_run = PipelineRun(experiment, response.json()["Id"])
    rest_steps = _steps(rest_run)
    assert rest_run.get_status() == "Finished"
    assert rest_steps[module.name].get_details()["module"]["version"] == "2"
    detail = studio.api("GET", f"runs/{rest_run.id}/").json()
    assert detail["published_pipeline"] == published.id

    # Scheduled: a fire of the schedule runs the module step too.
    schedule = Schedule.create(
        ws,
        name=f"calc-b-{uuid.uuid4().hex[:6]}",
        pipeline_id=published.id,
        experiment_name=experiment.name,
        recurrence=ScheduleRecurrence(
            frequency="Week", interval=1, start_time="2030-01-07T00:00:00"
        ),
    )
    try:
        fire = studio.api("POST", f"schedules/{schedule.id}/run-now/").json()
        scheduled = PipelineRun.get(ws, fire["run_id"])
        assert scheduled.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
        ran = scheduled.find_step_run(module.name)[0]
        assert ran.get_details()["module"]["version"] == "2"
        assert ran.get_details()["reuse"]["reused"] is True  # as B's REST run computed it
    finally:
        schedule.disable()


def test_versions_refuse_what_azureml_refuses_and_disabled_ones_do_not_run(studio, ws, calc):
    module, folder = calc
    with pytest.raises(Exception, match="provided version value already exist"):
        module.publish_python_script(
            "calc.py",
            "again",
            inputs=[],
            outputs=[],
            version="1",
            source_directory=str(folder / "v1"),
        )
    with pytest.raises(Exception, match="provided version is not part of the module"):
        module.set_default_version("7")
    again = Module.get(ws, name=module.name)
    assert again.id == module.id and again.default_version == "2"
    assert Module.get(ws, module_id=module.id).name == module.name

    version_1 = module.resolve("1")
    assert version_1.module().name == module.name
    assert [p.name for p in version_1.interface.outputs] == ["result"]
    assert [(p.name, p.default_value) for p in version_1.interface.parameters] == [("factor", 10)]
    version_1.disable()
    assert module.resolve("1").status == "Disabled"
    pipeline = _pipeline_a(ws, module, folder)
    with pytest.raises(Exception, match=r"module calc-\w+ version 1 is disabled"):
        Experiment(ws, "modules-disabled").submit(pipeline)
    version_1.enable()
    version_1.deprecate()
    run = Experiment(ws, "modules-deprecated").submit(_pipeline_a(ws, module, folder))
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Finished"
    warnings = studio.api("GET", f"runs/{run.id}/").json()["warnings"]
    assert warnings == [f"Module {module.name} version 1 is deprecated."]

    module.set_default_version("1")
    assert Module.get(ws, name=module.name).default_version == "1"
