"""Step environments, built by a real worker with uv: each step imports its own packages.

The packages come from local wheels (tests/wheels.py builds ``studio-envtest`` 1.0, 2.0 and
3.0; ``make test`` downloads scikit-learn and pandas): no index is asked.
"""

from __future__ import annotations

import threading

import pytest

from studio.sdk.core import Environment, Experiment, RunConfiguration, ScriptRunConfig
from studio.sdk.core.conda_dependencies import CondaDependencies
from studio.sdk.exceptions import UserErrorException
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import CommandStep, PythonScriptStep
from tests.harness import ROOT

pytestmark = pytest.mark.integration

SOURCE = str(ROOT / "tests" / "sources" / "environments")
BUILD_LOG = "azureml-logs/20_image_build_log.txt"


def _env(name: str, *packages: str, python: str | None = None) -> Environment:
    environment = Environment(name)
    environment.python.conda_dependencies = CondaDependencies.create(
        pip_packages=list(packages), **({"python_version": python} if python else {})
    )
    environment.environment_variables = {"GREETING": f"hello from {name}"}
    return environment


def _step(name: str, environment: Environment, allow_reuse: bool = True) -> PythonScriptStep:
    config = RunConfiguration()
    config.environment = environment
    return PythonScriptStep(
        name=name,
        script_name="show.py",
        source_directory=SOURCE,
        runconfig=config,
        allow_reuse=allow_reuse,
    )


def _run(ws, steps, experiment: str = "environments", **kwargs):
    run = Experiment(ws, experiment).submit(Pipeline(ws, steps), **kwargs)
    run.wait_for_completion(show_output=False, timeout_seconds=240, raise_on_error=False)
    return run


def _text(studio, step_run, name: str) -> str:
    """A file of the step's outputs and logs, as the API downloads it."""
    response = studio.api("GET", f"/steps/{step_run.id}/files/download/", params={"name": name})
    return response.text if response.ok else ""


def _errors(studio, run) -> str:
    """Each step's error, for an assertion's message."""
    return "\n".join(f"{s.name}: {_details(studio, s)['error']}" for s in run.get_steps())


def _details(studio, step_run) -> dict:
    return studio.api("GET", f"/steps/{step_run.id}/").json()


def test_two_steps_of_one_pipeline_each_import_their_own_version(studio, ws):
    first = _step("uses_1", _env("envtest-one", "studio-envtest==1.0"))
    second = _step("uses_2", _env("envtest-two", "studio-envtest==2.0"))
    run = _run(ws, [first, second])
    assert run.get_status() == "Finished", _errors(studio, run)
    steps = {s.name: s for s in run.get_steps()}
    one, two = (
        _text(studio, steps["uses_1"], "user_logs/std_log.txt"),
        _text(studio, steps["uses_2"], "user_logs/std_log.txt"),
    )
    assert "studio_envtest 1.0" in one and "GREETING=hello from envtest-one" in one
    assert "studio_envtest 2.0" in two and "GREETING=hello from envtest-two" in two
    # Each ran in its own environment, not the worker's interpreter, and logged through the SDK.
    assert "/envs/" in one and "/envs/" in two
    assert steps["uses_1"].get_metrics()["envtest_version"] == 1.0
    build = _text(studio, steps["uses_2"], BUILD_LOG)
    assert "studio-envtest==2.0" in build and "Built in" in build


def test_a_second_run_uses_the_cached_environment_and_a_changed_one_says_why(studio, ws):
    environment = _env("envtest-cache", "studio-envtest==1.0")
    _run(ws, [_step("cached", environment)], experiment="env-cache")
    again = _run(
        ws, [_step("cached", environment)], experiment="env-cache", regenerate_outputs=True
    )
    step = next(iter(again.get_steps()))
    assert again.get_status() == "Finished", _errors(studio, again)
    assert "already built" in _text(studio, step, BUILD_LOG)
    changed = _run(
        ws, [_step("cached", _env("envtest-cache", "studio-envtest==2.0"))], experiment="env-cache"
    )
    step = next(iter(changed.get_steps()))
    reason = _details(studio, step)["reuse"]["reason"]
    assert "environment changed: studio-envtest 1.0 → 2.0" in reason


def test_a_bad_requirement_fails_the_step_with_the_installers_message(studio, ws):
    run = _run(ws, [_step("bad", _env("envtest-bad", "studio-envtest==9.9"))], experiment="env-bad")
    assert run.get_status() == "Failed"
    step = next(iter(run.get_steps()))
    error = _details(studio, step)["error"]
    assert "The environment could not be built" in error
    assert "studio-envtest==9.9" in error and "Traceback" not in error


def test_two_concurrent_steps_that_need_one_new_environment_build_it_once(studio, ws):
    environment = _env("envtest-shared", "studio-envtest==3.0")
    steps = [_step(f"parallel_{i}", environment, allow_reuse=False) for i in range(2)]
    run = _run(ws, steps, experiment="env-shared")
    assert run.get_status() == "Finished", _errors(studio, run)
    logs = [_text(studio, s, BUILD_LOG) for s in run.get_steps()]
    assert sum("Built in" in log and "Built meanwhile" not in log for log in logs) == 1, logs
    assert all(
        "studio_envtest 3.0" in _text(studio, s, "user_logs/std_log.txt") for s in run.get_steps()
    )


def test_a_python_version_the_worker_lacks_builds_on_the_nearest_with_a_warning(studio, ws):
    environment = _env("envtest-py38", "studio-envtest==1.0", python="3.8")
    run = _run(ws, [_step("old_python", environment)], experiment="env-python")
    assert run.get_status() == "Finished", _errors(studio, run)
    log = _text(studio, next(iter(run.get_steps())), BUILD_LOG)
    assert "WARNING: Python 3.8 is not on this worker" in log


def test_a_command_step_runs_inside_its_environment(studio, ws):
    source = ScriptRunConfig(
        source_directory=SOURCE,
        command="python show.py",
        environment=_env("envtest-command", "studio-envtest==2.0"),
    )
    run = _run(ws, [CommandStep(name="command", runconfig=source)], experiment="env-command")
    assert run.get_status() == "Finished", _errors(studio, run)
    log = _text(studio, next(iter(run.get_steps())), "user_logs/std_log.txt")
    assert "studio_envtest 2.0" in log


def test_registered_environments_have_versions(ws):
    environment = _env("registered-env", "studio-envtest==1.0")
    first = environment.register(ws)
    assert first.version == "1"
    assert _env("registered-env", "studio-envtest==1.0").register(ws).version == "1"
    second = _env("registered-env", "studio-envtest==2.0").register(ws)
    assert second.version == "2"
    latest = Environment.get(ws, "registered-env")
    assert latest.version == "2"
    assert latest.python.conda_dependencies.pip_packages == ["studio-envtest==2.0"]
    assert Environment.get(
        ws, "registered-env", version="1"
    ).python.conda_dependencies.pip_packages == ["studio-envtest==1.0"]
    assert "registered-env" in Environment.list(ws)
    with pytest.raises(Exception, match=r"curated environments.*registered-env"):
        Environment.get(ws, "AzureML-Minimal")
    with pytest.raises(UserErrorException, match="Only one of version or label can be specified"):
        Environment.get(ws, "registered-env", version="1", label="latest")


def test_concurrent_registers_make_one_version(ws):
    results = []

    def register() -> None:
        results.append(_env("concurrent-env", "studio-envtest==3.0").register(ws).version)

    threads = [threading.Thread(target=register) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["1"] * 8
