"""Schedules end to end: recurrences and data-change triggers on a real scheduler and worker."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from studio.core.recurrence import fire_times, parse_recurrence
from studio.sdk.core import Datastore
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.data.datapath import DataPath, DataPathComputeBinding
from studio.sdk.pipeline.core import (
    Pipeline,
    PipelineParameter,
    PipelineRun,
    Schedule,
    ScheduleRecurrence,
)
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import PYTHON, ROOT, wait_until

pytestmark = pytest.mark.integration
STEPS = str(ROOT / "tests" / "sources" / "steps")


def _tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def noop_pipeline(studio):
    ws = studio.workspace()
    step = PythonScriptStep(name="noop", script_name="noop.py", source_directory=STEPS)
    return Pipeline(ws, [step]).publish(name=f"scheduled-{_tag()}", description="noop", version="1")


def _datapath_pipeline(ws, store_name: str):
    """A pipeline whose DataPath parameter 'changed' is what a data trigger sets."""
    changed = PipelineParameter("changed", DataPath(store_name, "incoming"))
    binding = (changed, DataPathComputeBinding(mode="mount"))
    step = PythonScriptStep(
        name="show",
        script_name="read_path.py",
        source_directory=str(ROOT / "tests" / "sources" / "schedule_steps"),
        arguments=["--path", binding],
        inputs=[binding],
    )
    return Pipeline(ws, [step]).publish(name=f"data-trigger-{_tag()}")


def test_the_seed_schedule_code_runs_as_written(studio, ws, noop_pipeline):
    published_pipeline = noop_pipeline
    daily = ScheduleRecurrence(frequency="Day", interval=1)
    pipeline_schedule = Schedule.create(
        ws,
        name="Daily Training",
        description="trains model every day",
        pipeline_id=published_pipeline.id,
        experiment_name="Training_Pipeline",
        recurrence=daily,
    )
    assert pipeline_schedule.status == "Active"
    first = pipeline_schedule.next_fire_times[0]
    assert timedelta(hours=23) < first - datetime.now(UTC) <= timedelta(days=1)
    assert pipeline_schedule.next_fire_times[1] - first == timedelta(days=1)

    admin = studio.workspace()
    Datastore.register_local(
        admin, "blob_data", str(studio.data_dir / "roots" / "blob_data"), overwrite=True
    )
    training_datastore = Datastore(workspace=ws, name="blob_data")
    published_pipeline_id = published_pipeline.id
    reactive = Schedule.create(
        ws,
        name="Reactive Training",
        description="trains model on data change",
        pipeline_id=published_pipeline_id,
        experiment_name="Training_Pipeline",
        datastore=training_datastore,
        path_on_datastore="data/training",
    )
    assert reactive.datastore_name == "blob_data" and reactive.path_on_datastore == "data/training"
    assert reactive.polling_interval == 5
    assert {s.id for s in Schedule.list(ws, pipeline_id=published_pipeline.id)} >= {
        pipeline_schedule.id,
        reactive.id,
    }
    pipeline_schedule.disable()
    reactive.disable()
    assert Schedule.get(ws, reactive.id).status == "Disabled"


def test_schedule_validation_follows_azureml(ws, noop_pipeline):
    daily = ScheduleRecurrence(frequency="Day", interval=1)
    store = ws.get_default_datastore()
    with pytest.raises(ValueError, match="Can not specify both a Recurrence and a Datastore"):
        Schedule.create(
            ws,
            name="x",
            pipeline_id=noop_pipeline.id,
            experiment_name="x",
            recurrence=daily,
            datastore=store,
        )
    with pytest.raises(ValueError, match="can only be used with a datastore"):
        Schedule.create(
            ws,
            name="x",
            pipeline_id=noop_pipeline.id,
            experiment_name="x",
            recurrence=daily,
            path_on_datastore="a",
        )
    with pytest.raises(ValueError, match="Interval must be"):
        ScheduleRecurrence(frequency="Day", interval=0)
    with pytest.raises(ValueError, match="Can only specify hours if frequency is Week or Day"):
        ScheduleRecurrence(frequency="Hour", interval=1, hours=[1])
    with pytest.raises(ValueError, match="Can only specify week days if frequency is Week"):
        ScheduleRecurrence(frequency="Day", interval=1, week_days=["Monday"])
    from studio.sdk.exceptions import UserErrorException

    with pytest.raises(UserErrorException, match="does not exist"):
        Schedule.create(
            ws,
            name="x",
            pipeline_id=noop_pipeline.id,
            experiment_name="x",
            recurrence=daily,
            pipeline_parameters={"nope": 1},
        )


def test_a_minute_recurrence_starts_runs_on_the_worker(ws, noop_pipeline):
    start = (datetime.now(UTC) + timedelta(seconds=3)).replace(tzinfo=None, microsecond=0)
    every_minute = ScheduleRecurrence(frequency="Minute", interval=1, start_time=start)
    schedule = Schedule.create(
        ws,
        name=f"minutely-{_tag()}",
        pipeline_id=noop_pipeline.id,
        experiment_name="minutely",
        recurrence=every_minute,
    )
    try:
        run = wait_until(
            schedule.get_last_pipeline_run, timeout=30, message="the first scheduled run"
        )
        assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
        assert run.tags["azureml.pipelineScheduleId"] == schedule.id
        assert len(schedule.get_pipeline_runs()) == 1
    finally:
        schedule.disable()


def _last_poll(studio, schedule_id: str) -> datetime | None:
    value = studio.api("GET", f"schedules/{schedule_id}/").json()["last_polled_at"]
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _polls_after(studio, schedule_id: str, since: datetime | None, count: int = 1) -> datetime:
    """Wait for the scheduler to look at the schedule's path ``count`` times after ``since``
    (None: once at all, which records the baseline); the time of the last look."""
    for _ in range(count):
        since = wait_until(
            lambda s=since: (p := _last_poll(studio, schedule_id)) and (s is None or p > s) and p,
            timeout=30,
            message="the scheduler to look at the path",
        )
    return since


def _nothing_more_fires(studio, schedule, runs: int) -> None:
    """Two complete polls after now (the second waits for anything the first recorded to be
    handed off) start no run beyond ``runs``."""
    _polls_after(studio, schedule.id, datetime.now(UTC), count=2)
    assert len(schedule.get_pipeline_runs()) == runs


def _write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_data_change_on_a_local_datastore_fires_once_per_change(studio, ws):
    name = f"watched_{_tag()}"
    folder = studio.data_dir / "roots" / name
    Datastore.register_local(ws, name, str(folder))
    pipeline = _datapath_pipeline(ws, name)
    schedule = Schedule.create(
        ws,
        name=f"on-data-{name}",
        pipeline_id=pipeline.id,
        experiment_name="on-data",
        datastore=Datastore(ws, name),
        path_on_datastore="incoming",
        polling_interval=0.02,
        data_path_parameter_name="changed",
    )
    try:
        _polls_after(studio, schedule.id, None)  # the first look records a baseline...
        _nothing_more_fires(studio, schedule, 0)  # ...and fires nothing
        _write(folder / "incoming" / "a.csv", "x\n1\n")
        run = wait_until(
            schedule.get_last_pipeline_run, timeout=20, message="a run for the new file"
        )
        assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
        assert "incoming/a.csv" in run.get_steps()[0].get_job_log()
        for i in range(3):  # a burst within one interval fires once
            _write(folder / "incoming" / "burst" / f"{i}.csv", "x\n")
        wait_until(
            lambda: len(schedule.get_pipeline_runs()) == 2,
            timeout=20,
            message="one run for the burst",
        )
        _nothing_more_fires(studio, schedule, 2)
    finally:
        schedule.disable()


def test_a_data_change_on_an_s3_datastore_fires_once_per_change(studio, ws, moto):
    name = f"s3_{_tag()}"
    store = Datastore.register_s3(
        ws,
        name,
        bucket_name=f"trigger-{_tag()}",
        access_key_id="testing",
        secret_access_key="testing",
        endpoint_url=moto,
        create_if_not_exists=True,
    )
    pipeline = _datapath_pipeline(ws, name)
    schedule = Schedule.create(
        ws,
        name=f"on-s3-{name}",
        pipeline_id=pipeline.id,
        experiment_name="on-s3",
        datastore=store,
        path_on_datastore="incoming",
        polling_interval=0.02,
        data_path_parameter_name="changed",
    )
    try:
        _polls_after(studio, schedule.id, None)
        import tempfile
        from pathlib import Path

        local = Path(tempfile.mkdtemp())
        (local / "new.csv").write_text("x\n1\n")
        store.upload(str(local), target_path="incoming", show_progress=False)
        run = wait_until(
            schedule.get_last_pipeline_run, timeout=30, message="a run for the new object"
        )
        assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
        assert "new.csv" in run.get_steps()[0].get_job_log()
        _nothing_more_fires(studio, schedule, 1)
    finally:
        schedule.disable()


def test_a_failed_submission_is_recorded_on_the_schedule(studio, ws):
    step = PythonScriptStep(name="noop", script_name="noop.py", source_directory=STEPS)
    pipeline = Pipeline(ws, [step]).publish(name=f"soon-disabled-{_tag()}")
    start = (datetime.now(UTC) + timedelta(seconds=2)).replace(tzinfo=None, microsecond=0)
    schedule = Schedule.create(
        ws,
        name=f"fails-{_tag()}",
        pipeline_id=pipeline.id,
        experiment_name="fails",
        recurrence=ScheduleRecurrence(frequency="Minute", interval=1, start_time=start),
    )
    pipeline.disable()
    try:
        code = (
            "from pipelines.models import ScheduleFire\n"
            f"print([(f.status, f.error) for f in ScheduleFire.objects.filter(schedule_id='{schedule.id}')])"
        )
        found = wait_until(
            lambda: "failed" in studio.manage("shell", "-c", code),
            timeout=20,
            message="a failed fire",
        )
        assert found
        assert "Disabled" in studio.manage("shell", "-c", code)
        assert schedule.get_pipeline_runs() == []
    finally:
        schedule.disable()


def _simulate(studio, start: str, end: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, "manage.py", "scheduler", "--simulate", start, end, "--step", "60", *extra],
        cwd=ROOT,
        env=studio.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _fires(studio, schedule_id: str) -> list[tuple[str, str | None]]:
    code = (
        "from pipelines.models import ScheduleFire\n"
        f"for f in ScheduleFire.objects.filter(schedule_id='{schedule_id}').order_by('fire_time'):\n"
        "    print(f.fire_time.isoformat(), f.status, f.run_id)"
    )
    out = studio.manage("shell", "-c", code).strip().splitlines()
    return [tuple(line.split()) for line in out if line[:2] == "20"]


def test_two_schedulers_for_a_simulated_day_start_exactly_one_run_per_fire_time(
    studio, ws, noop_pipeline
):
    recurrence = ScheduleRecurrence(
        frequency="Hour", interval=1, start_time="2027-03-28T00:00:00", time_zone="Europe/Berlin"
    )
    schedule = Schedule.create(
        ws,
        name=f"hourly-{_tag()}",
        pipeline_id=noop_pipeline.id,
        experiment_name="simulated",
        recurrence=recurrence,
    )
    begin, end = "2027-03-27T22:00:00", "2027-03-28T23:30:00"
    first, second = _simulate(studio, begin, end), _simulate(studio, begin, end)
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0, (
        first.stdout.read() + second.stdout.read()
    )
    rec = parse_recurrence(recurrence._to_json())
    expected = fire_times(
        rec, datetime.now(UTC), datetime(2027, 3, 27, 22, tzinfo=UTC) - timedelta(seconds=1), 100
    )
    expected = [t for t in expected if t <= datetime(2027, 3, 28, 23, 30, tzinfo=UTC)]
    berlin = [t.astimezone(rec.zone) for t in expected]
    assert (
        len([t for t in berlin if t.day == 28]) == 23
    )  # hourly by the wall clock: 02:00 does not exist that day
    fires = _fires(studio, schedule.id)
    assert [datetime.fromisoformat(f[0]) for f in fires] == expected
    # The schedulers handed the fires to the worker, which starts their runs.
    fires = wait_until(
        lambda: (
            (f := _fires(studio, schedule.id))
            and all(status == "submitted" for _, status, _ in f)
            and f
        ),
        timeout=120,
        message="every fire to be submitted",
    )
    runs = schedule.get_pipeline_runs()
    assert len(runs) == len(expected) == len({f[2] for f in fires})
    schedule.disable()


def test_a_scheduler_killed_between_recording_and_dispatching_loses_and_duplicates_nothing(
    studio, ws, noop_pipeline
):
    start = "2027-06-01T10:00:00"
    recurrence = ScheduleRecurrence(frequency="Day", interval=1, start_time=start)
    schedule = Schedule.create(
        ws,
        name=f"killed-{_tag()}",
        pipeline_id=noop_pipeline.id,
        experiment_name="killed",
        recurrence=recurrence,
    )
    moment = "2027-06-01T10:00:30"
    # A scheduler's first half (record the due fires, committed), then a wait in which it is
    # killed before it hands them off.
    paused = subprocess.Popen(
        [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            "import time; from datetime import datetime, UTC; from pipelines import scheduling; "
            f"scheduling.record_due_fires(datetime.fromisoformat('{moment}').replace(tzinfo=UTC)); "
            "time.sleep(60)",
        ],
        cwd=ROOT,
        env=studio.env,
        start_new_session=True,
    )
    wait_until(
        lambda: len(_fires(studio, schedule.id)) == 1, timeout=30, message="the fire to be recorded"
    )
    os.killpg(paused.pid, signal.SIGKILL)
    paused.wait()
    again = _simulate(studio, moment, moment)
    assert again.wait(timeout=60) == 0
    wait_until(
        lambda: _fires(studio, schedule.id)[0][1] == "submitted",
        timeout=60,
        message="the fire to be submitted",
    )
    again_too = _simulate(studio, moment, moment)
    assert again_too.wait(timeout=60) == 0
    fires = _fires(studio, schedule.id)
    assert len(fires) == 1 and fires[0][1] == "submitted"
    assert len(schedule.get_pipeline_runs()) == 1
    schedule.disable()


def test_an_edit_never_refires_and_reenabling_skips_the_time_it_was_off(studio, ws, noop_pipeline):
    recurrence = ScheduleRecurrence(frequency="Hour", interval=1, start_time="2027-07-01T00:00:00")
    schedule = Schedule.create(
        ws,
        name=f"edited-{_tag()}",
        pipeline_id=noop_pipeline.id,
        experiment_name="edited",
        recurrence=recurrence,
    )
    assert _simulate(studio, "2027-07-01T00:30:00", "2027-07-01T00:30:00").wait(timeout=60) == 0
    assert len(_fires(studio, schedule.id)) == 1
    schedule.update(
        recurrence=ScheduleRecurrence(
            frequency="Hour", interval=2, start_time="2027-07-01T00:00:00"
        )
    )
    assert schedule.recurrence.interval == 2
    assert _simulate(studio, "2027-07-01T00:40:00", "2027-07-01T00:40:00").wait(timeout=60) == 0
    assert len(_fires(studio, schedule.id)) == 1
    schedule.disable()
    schedule.enable()
    assert schedule.status == "Active"
    schedule.disable()


def test_run_now_starts_a_run_with_the_schedule_parameters_recorded_as_a_manual_fire(studio, ws):
    value = PipelineParameter("value", 1.5)
    step = PythonScriptStep(
        name="write",
        script_name="write.py",
        source_directory=STEPS,
        arguments=["--out", OutputFileDatasetConfig("out"), "--value", value],
    )
    pipeline = Pipeline(ws, [step]).publish(name=f"run-now-{_tag()}")
    schedule = Schedule.create(
        ws,
        name=f"run-now-{_tag()}",
        pipeline_id=pipeline.id,
        experiment_name="run-now",
        recurrence=ScheduleRecurrence(
            frequency="Week", interval=1, start_time="2030-01-07T00:00:00"
        ),
        pipeline_parameters={"value": 0.75},
    )
    try:
        answer = studio.api("POST", f"schedules/{schedule.id}/run-now/")
        assert answer.status_code == 201, answer.text
        fire = answer.json()
        assert fire["manual"] is True and fire["status"] == "submitted"
        run = PipelineRun.get(ws, fire["run_id"])
        assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
        assert "wrote 0.75" in run.find_step_run("write")[0].get_job_log()
        assert run.tags["azureml.pipelineScheduleId"] == schedule.id
        history = studio.api("GET", f"schedules/{schedule.id}/fires/").json()
        assert [(f["manual"], f["run_id"]) for f in history] == [(True, fire["run_id"])]
        assert [r.id for r in schedule.get_pipeline_runs()] == [fire["run_id"]]
        assert (
            studio.api("GET", f"schedules/{schedule.id}/")
            .json()["next_fire_at"]
            .startswith("2030-01-07")
        )
    finally:
        schedule.disable()
