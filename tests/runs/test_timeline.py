"""The run timeline as a plotly figure: a row per step, queued / preparing / running bars,
reuse marked, rows in the order the steps started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runs.timeline import (
    PREPARING_COLOUR,
    QUEUED_COLOUR,
    StepTimes,
    segments,
    short_name,
    timeline_figure,
    waited_for,
)
from studio.core.status import Status, colour

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def times(step_id: str, status: Status, **fields) -> StepTimes:
    return StepTimes(
        step_id=step_id, name=fields.pop("name", step_id), status=str(status), **fields
    )


def trace(figure: dict, name: str) -> dict:
    return next(t for t in figure["data"] if t["name"] == name)


def bars(figure: dict) -> dict[str, list[tuple[str, float, float]]]:
    """Per trace name: (step id, start, end) of each bar."""
    return {
        t["name"]: [
            (step, base, round(base + length, 3))
            for step, base, length in zip(t["customdata"], t["base"], t["x"], strict=True)
        ]
        for t in figure["data"]
        if t["type"] == "bar"
    }


def test_a_finished_step_waited_in_the_queue_then_ran():
    step = times("a", Status.COMPLETED, queued_at=at(0), started_at=at(2), ended_at=at(7))
    figure = timeline_figure([step], T0, now=at(100))
    assert bars(figure) == {"Waiting": [("a", 0.0, 2.0)], "Completed": [("a", 2.0, 7.0)]}
    assert trace(figure, "Completed")["marker"]["color"] == colour(Status.COMPLETED)
    assert trace(figure, "Waiting")["marker"]["color"] == QUEUED_COLOUR
    assert all(t["orientation"] == "h" for t in figure["data"])


def test_running_and_waiting_steps_end_at_now():
    running = times("run", Status.RUNNING, queued_at=at(0), started_at=at(1))
    waiting = times("wait", Status.QUEUED, queued_at=at(3))
    figure = timeline_figure([running, waiting], T0, now=at(10))
    assert bars(figure) == {
        "Waiting": [("run", 0.0, 1.0), ("wait", 3.0, 10.0)],
        "Running": [("run", 1.0, 10.0)],
    }
    later = timeline_figure([running, waiting], T0, now=at(12))
    assert bars(later)["Running"] == [("run", 1.0, 12.0)]


def test_each_bar_is_coloured_by_the_status_the_step_ended_with():
    steps = [
        times("ok", Status.COMPLETED, queued_at=at(0), started_at=at(0), ended_at=at(1)),
        times("bad", Status.FAILED, queued_at=at(0), started_at=at(0), ended_at=at(2)),
        times("stopped", Status.CANCELED, queued_at=at(0), started_at=at(0), ended_at=at(3)),
    ]
    figure = timeline_figure(steps, T0, now=at(5))
    for name, status in (("Completed", "ok"), ("Failed", "bad"), ("Canceled", "stopped")):
        assert trace(figure, name)["customdata"] == [status]
        assert trace(figure, name)["marker"]["color"] == colour(name)


def test_a_reused_step_is_a_marker_at_the_moment_of_reuse_naming_its_run():
    step = times(
        "r",
        Status.COMPLETED,
        queued_at=at(1),
        started_at=at(1.5),
        ended_at=at(1.5),
        reused=True,
        reused_from_run=3,
    )
    figure = timeline_figure([step], T0, now=at(9))
    assert "Completed" not in bars(figure)  # no running bar
    marker = trace(figure, "Reused")
    assert marker["type"] == "scatter"
    assert marker["x"] == [1.5] and marker["y"] == [0] and marker["customdata"] == ["r"]
    assert marker["text"] == ["reused from run 3"]
    assert "Reused from run 3" in marker["hovertext"][0]


def test_a_step_reused_from_another_experiment_says_which_in_its_hover():
    step = times(
        "r",
        Status.COMPLETED,
        started_at=at(0),
        ended_at=at(0),
        reused=True,
        reused_from_run=7,
        reused_from_experiment="older <b>",
    )
    marker = trace(timeline_figure([step], T0, now=at(1)), "Reused")
    assert marker["text"] == ["reused from run 7"]
    assert "of experiment older &lt;b&gt;" in marker["hovertext"][0]


def test_an_environment_build_is_a_preparing_bar_before_the_running_one():
    step = times(
        "env",
        Status.COMPLETED,
        queued_at=at(0),
        started_at=at(1),
        ended_at=at(20),
        preparing=(at(1.2), at(15)),
    )
    figure = timeline_figure([step], T0, now=at(30))
    assert bars(figure)["Preparing"] == [("env", 1.0, 15.0)]
    assert bars(figure)["Completed"] == [("env", 15.0, 20.0)]
    assert trace(figure, "Preparing")["marker"]["color"] == PREPARING_COLOUR


def test_a_step_preparing_now_is_preparing_until_now():
    step = times("env", Status.PREPARING, queued_at=at(0), started_at=at(1))
    figure = timeline_figure([step], T0, now=at(6))
    assert bars(figure) == {"Waiting": [("env", 0.0, 1.0)], "Preparing": [("env", 1.0, 6.0)]}


def test_a_step_waited_for_a_build_under_way_while_it_started():
    build = (at(1), at(5))
    assert waited_for(build, at(2), at(9)) == (at(2), at(5))
    assert waited_for(build, at(0.5), at(9)) == (at(0.5), at(5))  # claimed before the build began
    assert waited_for((at(1), None), at(2), None) == (at(2), None)  # still building
    assert waited_for(build, at(6), at(9)) is None  # built before the step started
    assert waited_for((at(10), at(12)), at(2), at(9)) is None  # built again after it ended


def test_a_step_queued_again_after_its_worker_stopped_only_waits():
    # requeue keeps the old started_at: the step is waiting again since queued_at
    step = times("again", Status.QUEUED, queued_at=at(8), started_at=at(2))
    assert [(s.kind, s.start, s.end) for s in segments(step, T0, at(10))] == [("Queued", 8.0, 10.0)]


def test_steps_that_never_ran_have_an_empty_row():
    steps = [
        times("later", Status.NOT_STARTED, position=1),
        times("dropped", Status.CANCELED, position=2, ended_at=at(4)),
    ]
    figure = timeline_figure(steps, T0, now=at(5))
    assert bars(figure) == {}
    assert figure["layout"]["yaxis"]["ticktext"] == ["later", "dropped"]


def test_rows_follow_the_start_times_then_the_queue_then_the_rest():
    steps = [
        times("never", Status.NOT_STARTED, position=0),
        times("late", Status.RUNNING, position=1, queued_at=at(0), started_at=at(5)),
        times("waiting", Status.QUEUED, position=2, queued_at=at(1)),
        times(
            "early", Status.COMPLETED, position=3, queued_at=at(0), started_at=at(1), ended_at=at(4)
        ),
        times(
            "side", Status.COMPLETED, position=4, queued_at=at(0), started_at=at(1), ended_at=at(3)
        ),
    ]
    figure = timeline_figure(steps, T0, now=at(6))
    assert figure["layout"]["yaxis"]["ticktext"] == ["early", "side", "late", "waiting", "never"]
    assert figure["layout"]["yaxis"]["tickvals"] == [0, 1, 2, 3, 4]
    assert trace(figure, "Completed")["y"] == [0, 1]
    assert trace(figure, "Running")["y"] == [2]


def test_names_are_escaped_for_plotly_and_cut_short_on_the_axis():
    name = "<a href='x'>evil</a> & a very long name of a fan-out step 0123"
    step = times(
        "s", Status.COMPLETED, name=name, queued_at=at(0), started_at=at(0), ended_at=at(1)
    )
    figure = timeline_figure([step], T0, now=at(2))
    tick = figure["layout"]["yaxis"]["ticktext"][0]
    assert "<" not in tick and tick.startswith("&lt;a href='x'&gt;")
    assert tick.endswith("step 0123")
    hover = trace(figure, "Completed")["hovertext"][0]
    assert "&lt;a href='x'&gt;evil&lt;/a&gt; &amp; a very long name of a fan-out step 0123" in hover
    assert "<a" not in hover


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("train", "train"),
        ("a" * 24, "a" * 24),
        ("prepare_partition_000_of_300_0137", "prepare_part…of_300_0137"),
    ],
)
def test_short_names_keep_the_start_and_the_end(name, short):
    assert short_name(name) == short
    assert len(short_name(name)) <= 24


def test_the_chart_grows_with_its_rows_and_the_legend_names_each_kind_once():
    steps = [
        times(
            f"s{i}",
            Status.COMPLETED,
            position=i,
            queued_at=at(0),
            started_at=at(i),
            ended_at=at(i + 1),
        )
        for i in range(300)
    ]
    figure = timeline_figure(steps, T0, now=at(400))
    assert len(figure["layout"]["yaxis"]["tickvals"]) == 300
    assert 300 * 16 <= figure["layout"]["height"] <= 300 * 16 + 200
    assert [t["name"] for t in figure["data"]] == ["Waiting", "Completed"]
    assert len(trace(figure, "Completed")["x"]) == 300


def test_a_long_run_is_drawn_in_minutes_and_a_longer_one_in_hours():
    short = times("a", Status.COMPLETED, queued_at=at(0), started_at=at(30), ended_at=at(590))
    assert timeline_figure([short], T0, now=at(600))["layout"]["xaxis"]["ticksuffix"] == " s"
    long = times("a", Status.COMPLETED, queued_at=at(0), started_at=at(60), ended_at=at(5400))
    figure = timeline_figure([long], T0, now=at(6000))
    assert figure["layout"]["xaxis"]["ticksuffix"] == " min"
    assert bars(figure)["Completed"] == [("a", 1.0, 90.0)]
    assert "Completed: ran 1 h 29 min" in trace(figure, "Completed")["hovertext"][0]
    longer = times("a", Status.RUNNING, queued_at=at(0), started_at=at(0))
    figure = timeline_figure([longer], T0, now=at(4 * 3600))
    assert figure["layout"]["xaxis"]["ticksuffix"] == " h"
    assert bars(figure)["Running"] == [("a", 0.0, 4.0)]


def test_the_figure_is_built_without_django():
    from tests.sdk.test_imports import _django_modules_loaded_by

    assert _django_modules_loaded_by("runs.timeline") == []


# --- read from the database, served to the run page ---------------------------------------


@pytest.fixture
def reused_and_built(db, alice):
    """Run 2 of an experiment: its step "a" reused run 1's, "b" built its environment, then
    ran; "c" waited for that build on the same host, then ran."""
    from runs.models import Run, StepRun
    from studio.workspace.models import EnvironmentBuild
    from tests import factories

    earlier = factories.submitted(factories.chain("a"), alice, experiment="timeline")
    run = factories.submitted(factories.chain("a", "b", "c"), alice, experiment="timeline")
    Run.objects.filter(id=run.id).update(started_at=at(0), status=Status.RUNNING)
    original = StepRun.objects.get(run=earlier, node_id="a")
    StepRun.objects.filter(run=run, node_id="a").update(
        status=Status.COMPLETED,
        queued_at=at(0),
        started_at=at(0.5),
        ended_at=at(0.5),
        reused_from=original,
    )
    built = StepRun.objects.get(run=run, node_id="b")
    StepRun.objects.filter(id=built.id).update(
        status=Status.RUNNING,
        queued_at=at(0.5),
        started_at=at(1),
        worker="here:1",
        environment_hash="h" * 20,
    )
    StepRun.objects.filter(run=run, node_id="c").update(
        status=Status.RUNNING,
        queued_at=at(0.5),
        started_at=at(2),
        worker="here:2",
        environment_hash="h" * 20,
    )
    EnvironmentBuild.objects.create(
        build_hash="h" * 20, host="here", step_id=built.id, started_at=at(1.5), finished_at=at(4)
    )
    return Run.objects.select_related("experiment").get(id=run.id)


def test_the_service_reads_reuse_and_environment_builds_in_two_queries(
    reused_and_built, django_assert_num_queries
):
    from runs.services import run_timeline

    with django_assert_num_queries(2):
        figure = run_timeline(reused_and_built, at(10))
    assert trace(figure, "Reused")["text"] == ["reused from run 1"]
    assert [(a, b) for _, a, b in bars(figure)["Preparing"]] == [(1.0, 4.0), (2.0, 4.0)]
    assert [(a, b) for _, a, b in bars(figure)["Running"]] == [(4.0, 10.0), (4.0, 10.0)]


def test_the_run_page_gets_the_timeline_as_json_while_live(reused_and_built, alice):
    from django.test import Client

    anonymous = Client().get(f"/runs/{reused_and_built.id}/timeline/")
    assert anonymous.status_code == 302
    client = Client()
    client.force_login(alice)
    answer = client.get(f"/runs/{reused_and_built.id}/timeline/").json()
    assert answer["live"] is True
    assert {t["name"] for t in answer["figure"]["data"]} >= {"Reused", "Preparing", "Running"}
    reused_and_built.status = Status.COMPLETED
    reused_and_built.save(update_fields=["status"])
    assert client.get(f"/runs/{reused_and_built.id}/timeline/").json()["live"] is False


def test_the_run_page_offers_the_timeline_and_opens_on_it_by_its_address(reused_and_built, alice):
    import re

    from django.test import Client

    def shown(page: str) -> str:
        return re.search(r'class="tabs view-switch"[^>]*data-view="(\w+)"', page).group(1)

    client = Client()
    client.force_login(alice)
    page = client.get(f"/runs/{reused_and_built.id}/?step=x").content.decode()
    assert shown(page) == "graph"
    assert 'href="?step=x&amp;view=timeline"' in page
    assert f'data-url="/runs/{reused_and_built.id}/timeline/"' in page
    shared = client.get(f"/runs/{reused_and_built.id}/?view=timeline").content.decode()
    assert shown(shared) == "timeline"
