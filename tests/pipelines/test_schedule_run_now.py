"""Run now on a schedule's page: a run with the schedule's parameters, a manual fire in its
history, the recurrence left alone; only for users who may submit."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from pipelines import scheduling
from pipelines import services as pipeline_services
from pipelines.models import Schedule
from runs.models import Run
from studio.workspace import roles
from tests import factories


def _schedule(tmp_path, owner, **fields) -> Schedule:
    api = factories.client_for(owner)
    digest = factories.uploaded_snapshot(api, tmp_path)
    run = factories.submitted(
        {"steps": [factories.step("a", script="train.py", digest=digest)]}, owner
    )
    pipeline = pipeline_services.publish_graph(graph=run.graph, name="p", user=owner)
    answer = api.post(
        "/api/schedules/",
        {
            "name": "nightly",
            "pipeline_id": str(pipeline.id),
            "experiment_name": "nightly",
            "recurrence": {"frequency": "Day", "interval": 1},
            **fields,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return Schedule.objects.get(id=answer.json()["id"])


def test_run_now_starts_a_run_and_the_history_marks_it_manual(db, tmp_path):
    alice = factories.user("alice")
    schedule = _schedule(tmp_path, alice)
    next_fire = schedule.next_fire_at
    client = Client()
    client.force_login(alice)
    page = client.get(reverse("schedule-detail", args=[schedule.id])).content.decode()
    assert "Run now" in page and "It has not fired yet." in page

    answer = client.post(reverse("schedule-run-now", args=[schedule.id]), follow=True)

    fire = schedule.fires.get()
    assert fire.manual and fire.status == "submitted"
    run = Run.objects.get(id=fire.run_id)
    assert run.schedule_id == schedule.id and run.created_by == alice
    assert run.tags["azureml.pipelineScheduleId"] == str(schedule.id)
    page = answer.content.decode()
    assert f"Run {run.id} started now." in page
    assert "Manual" in page and reverse("run-detail", args=[run.id]) in page
    assert Schedule.objects.get(id=schedule.id).next_fire_at == next_fire


def test_a_refused_run_now_is_a_failed_manual_fire_with_its_reason(db, tmp_path):
    alice = factories.user("alice")
    schedule = _schedule(tmp_path, alice)
    pipeline_services.set_status(schedule.published_pipeline, "Disabled")

    fire = scheduling.run_schedule_now(schedule, user=alice)

    assert fire.manual and fire.status == "failed" and fire.run_id is None
    assert "Disabled" in fire.error
    api = factories.client_for(alice)
    answer = api.post(f"/api/schedules/{schedule.id}/run-now/")
    assert answer.status_code == 409
    assert "Disabled" in answer.json()["error"]["message"]
    assert [f["status"] for f in api.get(f"/api/schedules/{schedule.id}/fires/").json()] == [
        "failed",
        "failed",
    ]


def test_a_reader_sees_no_run_now_button(db, tmp_path):
    schedule = _schedule(tmp_path, factories.user("alice"))
    reader = factories.user("reader")
    reader.groups.add(Group.objects.get_or_create(name=roles.READERS_GROUP)[0])
    client = Client()
    client.force_login(reader)
    page = client.get(reverse("schedule-detail", args=[schedule.id])).content.decode()
    assert "Run now" not in page
    assert client.post(reverse("schedule-run-now", args=[schedule.id])).status_code == 403
    assert not schedule.fires.exists()
