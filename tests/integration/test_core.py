"""The core, end to end: real server, real Celery worker, real subprocesses, driven by the SDK."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import requests

from studio.sdk.core import Experiment
from studio.sdk.core.compute import AmlCompute, ComputeTarget, ComputeTargetException
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.exceptions import ActivityFailedException, UserErrorException
from studio.sdk.pipeline.core import (
    Pipeline,
    PipelineData,
    PipelineParameter,
    PipelineRun,
    StepSequence,
)
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import PASSWORD, ROOT, MakeRun, Studio, isolated_services, wait_until

pytestmark = pytest.mark.integration
STEPS = str(ROOT / "tests" / "sources" / "steps")


def _step(name, script, arguments=(), **kwargs):
    return PythonScriptStep(
        name=name, script_name=script, source_directory=STEPS, arguments=list(arguments), **kwargs
    )


def _when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _run_json(studio, run_id):
    return studio.api("GET", f"runs/{run_id}/").json()


def test_parameters_and_pipeline_data_reach_the_script(studio, ws):
    reg = PipelineParameter(name="reg_rate", default_value=0.01)
    data = PipelineData("handoff")
    write = _step(
        "write",
        "write.py",
        ["--out", data, "--value", reg],
        outputs=[data],
        params={"mode": "fast"},
    )
    read = _step("read", "read.py", ["--in", data], inputs=[data])
    run = Experiment(ws, "params-and-data").submit(Pipeline(ws, [write, read]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    log = run.find_step_run("read")[0].get_job_log()
    assert "value.txt: 0.01" in log
    assert "AML_PARAMETER_mode=fast" in log
    assert "AML_PARAMETER_reg_rate=0.01" in log
    assert (
        run.find_step_run("write")[0]
        .get_output_data("handoff")
        .path_on_datastore.startswith("azureml/")
    )


def test_a_fan_out_runs_its_middle_steps_at_the_same_time(studio, ws):
    first = OutputFileDatasetConfig("first")
    middles = []
    outs = []
    for i in range(3):
        out = OutputFileDatasetConfig(f"middle_{i}")
        outs.append(out)
        middles.append(
            _step(
                f"middle {i}",
                "sleep.py",
                ["--seconds", "2", "--out", out],
                inputs=[first.as_input(f"start_{i}")],
            )
        )
    start = _step("start", "sleep.py", ["--seconds", "0", "--out", first])
    end = _step("end", "read.py", [x for out in outs for x in ("--in", out.as_input())])
    run = Experiment(ws, "fan-out").submit(Pipeline(ws, [start, *middles, end]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    steps = {s["name"]: s for s in _run_json(ws_studio(ws), run.id)["steps"]}
    spans = [
        (_when(steps[f"middle {i}"]["started_at"]), _when(steps[f"middle {i}"]["ended_at"]))
        for i in range(3)
    ]
    assert max(s for s, _ in spans) < min(e for _, e in spans), (
        f"middle steps did not overlap: {spans}"
    )
    assert _when(steps["end"]["started_at"]) >= max(e for _, e in spans)


def test_wait_for_completion_names_the_step_of_each_line_when_steps_run_in_parallel(ws, capsys):
    left = _step("left", "sleep.py", ["--seconds", "3"], allow_reuse=False)
    right = _step("right", "sleep.py", ["--seconds", "3"], allow_reuse=False)
    run = Experiment(ws, "parallel-logs").submit(Pipeline(ws, [left, right]))
    assert run.wait_for_completion(show_output=True) == "Finished"
    out = capsys.readouterr().out
    for name in ("left", "right"):
        assert f"[{name}] slept" in out
        assert re.search(rf"^\[{name}\] tick \d+$", out, re.MULTILINE)


def test_a_chain_streams_its_logs_without_prefixes(ws, capsys):
    first = _step("first", "sleep.py", ["--seconds", "0.3"], allow_reuse=False)
    second = _step("second", "sleep.py", ["--seconds", "0.3"], allow_reuse=False)
    second.run_after(first)
    run = Experiment(ws, "chain-logs").submit(Pipeline(ws, [first, second]))
    assert run.wait_for_completion(show_output=True) == "Finished"
    out = capsys.readouterr().out
    assert re.search(r"^slept$", out, re.MULTILINE) and "[first]" not in out


def ws_studio(ws):
    class _Api:
        def api(self, method, path, **kwargs):
            return requests.request(
                method,
                f"{ws.url}/api/{path}",
                headers=ws.auth.get_authentication_header(),
                timeout=30,
                **kwargs,
            )

    return _Api()


def test_a_failing_step_fails_the_run_with_its_exit_code_and_log(studio, ws):
    fail = _step("fail", "fail.py")
    after = _step("after", "noop.py")
    run = Experiment(ws, "failing").submit(Pipeline(ws, [StepSequence([fail, after])]))
    with pytest.raises(ActivityFailedException) as caught:
        run.wait_for_completion(show_output=False)
    assert "exit code 3" in str(caught.value)
    assert run.get_status() == "Failed"
    data = _run_json(studio, run.id)
    steps = {s["name"]: s for s in data["steps"]}
    assert steps["fail"]["status"] == "Failed" and steps["fail"]["exit_code"] == 3
    assert "the reason is on this line" in steps["fail"]["error"]
    assert steps["after"]["status"] == "Canceled"
    assert "exit code 3" in data["error"] and "boom" in data["error"]
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"


def test_continue_on_step_failure_lets_independent_branches_finish(studio, ws):
    fail = _step("fail", "fail.py")
    downstream = _step("downstream", "noop.py")
    downstream.run_after(fail)
    other = _step("other", "sleep.py", ["--seconds", "1"])
    run = Experiment(ws, "continue").submit(
        Pipeline(ws, [fail, downstream, other]), continue_on_step_failure=True
    )
    run.wait_for_completion(show_output=False, raise_on_error=False)
    steps = {s["name"]: s["status"] for s in _run_json(studio, run.id)["steps"]}
    assert steps == {"fail": "Failed", "downstream": "Canceled", "other": "Completed"}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}/stat").exists()
        and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    )


def test_cancel_kills_the_running_step_and_cancels_the_rest(studio, ws):
    slow = _step("slow", "sleep.py", ["--seconds", "60"])
    later = _step("later", "noop.py")
    run = Experiment(ws, "cancel").submit(Pipeline(ws, [StepSequence([slow, later])]))
    step = wait_until(
        lambda: next(
            (
                s
                for s in _run_json(studio, run.id)["steps"]
                if s["status"] == "Running" and s["pid"]
            ),
            None,
        ),
        message="a running step",
    )
    wait_until(
        lambda: "tick 1" in studio.api("GET", f"steps/{step['id']}/log/").json()["data"],
        message="the log to grow",
    )
    asked = time.monotonic()
    run.cancel()
    wait_until(
        lambda: _run_json(studio, run.id)["status"] == "Canceled",
        timeout=10,
        message="the run to be canceled",
    )
    assert time.monotonic() - asked < 10
    steps = {s["name"]: s["status"] for s in _run_json(studio, run.id)["steps"]}
    assert steps == {"slow": "Canceled", "later": "Canceled"}
    assert not _pid_alive(step["pid"])


def test_a_step_log_is_readable_while_the_step_runs(studio, ws):
    run = Experiment(ws, "live-log").submit(
        # Not reusable: a step of another test with the same script and arguments may exist.
        Pipeline(ws, [_step("slow", "sleep.py", ["--seconds", "4"], allow_reuse=False)])
    )
    step = wait_until(
        lambda: next(
            (s for s in _run_json(studio, run.id)["steps"] if s["status"] == "Running"), None
        ),
        message="the step to run",
    )
    seen = wait_until(
        lambda: studio.api("GET", f"steps/{step['id']}/log/").json()["data"].count("tick") >= 3,
        timeout=5,
        message="ticks in the log",
    )
    assert seen
    assert studio.api("GET", f"steps/{step['id']}/").json()["status"] == "Running"
    run.wait_for_completion(show_output=False)


def test_snapshots_are_checked_once_per_client_and_resent_when_the_server_lost_them(
    studio, ws, tmp_path
):
    calls = []
    ws._client.session.hooks["response"].append(
        lambda response, *args, **kwargs: calls.append(response.request.path_url)
    )
    experiment = Experiment(ws, "snapshot-memo")
    pipeline = Pipeline(ws, [_step("a", "noop.py")])
    experiment.submit(pipeline).wait_for_completion(show_output=False)
    assert "/api/snapshots/missing/" in calls

    calls.clear()
    experiment.submit(pipeline).wait_for_completion(show_output=False)
    assert "/api/snapshots/missing/" not in calls  # confirmed before: not asked again

    # A client that believes the server holds a snapshot it never received (as after the
    # server's data directory was replaced): the refusal names it, and it is sent.
    source = tmp_path / "fresh"
    source.mkdir()
    (source / "hello.py").write_text(f"print('fresh {uuid.uuid4().hex}')\n")
    fresh = Pipeline(
        ws, [PythonScriptStep(name="fresh", script_name="hello.py", source_directory=str(source))]
    )
    ws._client.known_snapshots.update(fresh._snapshots)
    calls.clear()
    run = experiment.submit(fresh)
    assert calls.count("/api/runs/") == 2 and "/api/snapshots/missing/" in calls
    assert run.wait_for_completion(show_output=False) == "Finished"


def test_submissions_are_validated_by_the_server(studio, ws):
    pipeline = Pipeline(ws, [_step("a", "noop.py", compute_target="no-such-cluster")])
    body = {"experiment_name": "validation", "graph": pipeline.graph_spec.to_dict()}
    pipeline._upload_snapshots(ws._client)
    answer = studio.api("POST", "runs/", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "graph.steps[0].compute_target"
    assert "no-such-cluster does not exist" in answer.json()["error"]["message"]

    graph = pipeline.graph_spec.to_dict()
    graph["steps"][0]["compute_target"] = None
    graph["steps"][0]["run_after"] = [graph["steps"][0]["node_id"]]
    answer = studio.api("POST", "runs/", json={"experiment_name": "validation", "graph": graph})
    assert answer.status_code == 400 and "Cycle detected" in answer.json()["error"]["message"]

    graph["steps"][0]["run_after"] = []
    graph["steps"][0]["snapshot"] = "0" * 64
    answer = studio.api("POST", "runs/", json={"experiment_name": "validation", "graph": graph})
    assert (
        answer.status_code == 400 and answer.json()["error"]["field"] == "graph.steps[0].snapshot"
    )

    answer = studio.api("POST", "runs/", json={"experiment_name": "../bad", "graph": graph})
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "experiment_name"

    with pytest.raises(
        UserErrorException, match="Pipeline parameter with name nope does not exist"
    ):
        Experiment(ws, "validation").submit(
            Pipeline(ws, [_step("a", "noop.py")]), pipeline_parameters={"nope": 1}
        )


def test_anonymous_and_bad_tokens_are_refused(studio):
    assert requests.get(f"{studio.url}/api/runs/", timeout=10).status_code == 401
    bad = requests.get(
        f"{studio.url}/api/runs/", headers={"Authorization": "Bearer st_nope_nope"}, timeout=10
    )
    assert bad.status_code == 401 and "token" in bad.json()["error"]["message"].lower()
    assert (
        requests.get(f"{studio.url}/experiments/", timeout=10, allow_redirects=False).status_code
        == 302
    )


def test_a_compute_target_created_while_running_is_served_without_a_restart(studio, ws):
    name = f"late-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ComputeTargetException):
        ComputeTarget(workspace=ws, name=name)
    target = ComputeTarget.create(ws, name, AmlCompute.provisioning_configuration(max_nodes=1))
    target.wait_for_completion(timeout_in_minutes=0.5)
    assert ComputeTarget(workspace=ws, name=name).workers
    run = Experiment(ws, "late-target").submit(
        Pipeline(ws, [_step("on late", "noop.py", compute_target=target)])
    )
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    assert _run_json(studio, run.id)["steps"][0]["compute_target"] == name


def test_get_runs_lists_newest_first_and_get_finds_a_run(studio, ws):
    exp = Experiment(ws, "listing")
    first = exp.submit(Pipeline(ws, [_step("a", "noop.py")]))
    second = exp.submit(Pipeline(ws, [_step("a", "noop.py")]))
    assert [r.id for r in exp.get_runs()][:2] == [second.id, first.id]
    assert PipelineRun.get(ws, first.id).id == first.id
    assert "listing" in ws.experiments
    second.wait_for_completion(show_output=False)
    first.wait_for_completion(show_output=False)


@pytest.fixture
def own_studio(tmp_path):
    server = Studio(tmp_path / "own", **isolated_services("own"))
    try:
        yield server.start()
    finally:
        server.stop()


def test_a_worker_killed_mid_step_leaves_the_step_failed_not_running(own_studio):
    ws = own_studio.workspace()
    run = Experiment(ws, "worker-lost").submit(
        Pipeline(ws, [_step("slow", "sleep.py", ["--seconds", "120"])])
    )
    step = wait_until(
        lambda: next(
            (
                s
                for s in _run_json(own_studio, run.id)["steps"]
                if s["status"] == "Running" and s["pid"]
            ),
            None,
        ),
        message="a running step",
    )
    own_studio.kill("worker", signal.SIGKILL)
    data = wait_until(
        lambda: (
            (d := _run_json(own_studio, run.id))["status"] in ("Failed", "Completed", "Canceled")
            and d
        ),
        timeout=60,
        message="the reaper to end the run",
    )
    assert data["status"] == "Failed"
    assert data["steps"][0]["status"] == "Failed"
    assert "Worker lost" in data["steps"][0]["error"]
    wait_until(
        lambda: not _pid_alive(step["pid"]), timeout=10, message="the script to die with its worker"
    )


def test_runstudio_starts_everything_and_ctrl_c_stops_it(tmp_path):
    studio = MakeRun(tmp_path, "runstudio").start()
    try:
        wait_until(studio.answers, timeout=30, message="the web server")
        wait_until(
            lambda: len(studio.roles()) >= 3, timeout=10, message="web, worker and scheduler"
        )

        def _descendants():
            found = [p for role in studio.roles() for p in _pgrep("-s", role)]
            return (
                found if len(found) >= 5 else None
            )  # web master + workers, celery + pool, scheduler

        children = wait_until(_descendants, timeout=20, message="gunicorn's and celery's children")
        studio.interrupt()
        assert f"Studio is running at {studio.url}/" in studio.said
        assert "Studio stopped." in studio.said
        # runstudio returned once its children exited; their own children go with them
        wait_until(
            lambda: not [p for p in children if _pid_alive(int(p))],
            timeout=10,
            message=f"no process of {children} to be left running",
        )
    finally:
        studio.kill()


def _pgrep(flag: str, pid) -> list[str]:
    return subprocess.run(["pgrep", flag, str(pid)], capture_output=True, text=True).stdout.split()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_step_that_raises_is_summed_up_by_its_exception_and_every_failed_step_is_listed(
    studio, ws
):
    raising = _step("raising", "raise.py")
    failing = _step("failing", "fail.py")
    run = Experiment(ws, "failures").submit(
        Pipeline(ws, [raising, failing]), continue_on_step_failure=True
    )
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    steps = {s["name"]: s for s in _run_json(studio, run.id)["steps"]}
    assert steps["raising"]["error"].splitlines()[0] == (
        "Step failed with exit code 1: ValueError: cannot parse data/train.csv: "
        "expected 3 columns, found 2"
    )
    assert steps["failing"]["error"].splitlines()[0] == "Step failed with exit code 3."
    page = requests.Session()
    page.post(
        f"{studio.url}/login/",
        data={
            "username": "admin",
            "password": PASSWORD,
            "csrfmiddlewaretoken": _csrf(page, studio),
        },
        headers={"Referer": f"{studio.url}/login/"},
    )
    html = page.get(f"{studio.url}/runs/{run.id}/").text
    assert "Failed steps" in html
    assert html.count('class="failed-steps"') == 1
    listed = html.split('class="failed-steps"')[1].split("</ul>")[0]
    for name in ("raising", "failing"):
        assert f'<a href="?step={steps[name]["id"]}"' in listed and f">{name}</a>" in listed


def _csrf(session, studio) -> str:
    session.get(f"{studio.url}/login/")
    return session.cookies["csrftoken"]
