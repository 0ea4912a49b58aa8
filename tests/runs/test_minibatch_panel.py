"""The run page's Mini-batches tab of a ParallelRunStep: its progress, each worker's share and
the failed mini-batches with their errors (escaped), refreshed live until the step ends."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from runs import parallel
from runs.models import StepRun
from studio.core.status import Status
from tests import factories

pytestmark = pytest.mark.django_db

ERROR = (
    "Traceback (most recent call last):\n"
    '  File "score.py", line 9, in run\n'
    "ValueError: cannot decode <script>alert(1)</script>.png\n"
)


def _graph() -> dict:
    prepare = factories.step("prepare", outputs=[{"name": "images", "kind": "PipelineData"}])
    score = factories.step(
        "score",
        ["prepare"],
        script="score.py",
        inputs=[{"name": "images", "source_step": "prepare", "source_output": "images"}],
        parallel={
            "input_kind": "file",
            "inputs": ["images"],
            "mini_batch_size": 2,
            "error_threshold": 10,
            "output_action": "summary_only",
        },
    )
    return {"steps": [prepare, score]}


@pytest.fixture
def run(alice):
    return factories.submitted(_graph(), alice)


@pytest.fixture
def score(run):
    """The ParallelRunStep, running, its five mini-batches of two files each: three done (two
    by w1, one by w2), one failed on both its tries (the second on w1), one running on w2."""
    StepRun.objects.filter(run=run, node_id="prepare").update(status=Status.COMPLETED)
    StepRun.objects.filter(run=run, node_id="score").update(status=Status.RUNNING)
    step = StepRun.objects.get(run=run, node_id="score")
    batches = [
        {
            "index": i,
            "key": f"k{i}",
            "items": 2,
            "message": {"files": [f"/mnt/images/f{i}a.png", f"/mnt/images/f{i}b.png"]},
        }
        for i in range(5)
    ]
    parallel.plan(step, batches)

    def ok(batch):
        return {**batch, "ok": True, "count": 2, "rows": [], "process": 0}

    def failed(batch):
        return {**batch, "ok": False, "error": ERROR, "process": 1}

    first = parallel.claim(step.id, step.attempt, "w1", 2)
    parallel.report([ok(b) for b in first], run_max_try=2)
    two, three = parallel.claim(step.id, step.attempt, "w2", 2)
    parallel.report([ok(two), failed(three)], run_max_try=2)
    (again,) = parallel.claim(step.id, step.attempt, "w1", 1)
    assert again["index"] == 3 and again["tries"] == 2
    parallel.report([failed(again)], run_max_try=2)
    (four,) = parallel.claim(step.id, step.attempt, "w2", 1)
    assert four["index"] == 4
    return step


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _tab(client, run, step, **more):
    return client.get(
        f"/runs/{run.id}/",
        {"step": step.id, "tab": "minibatches", **more},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="step-panel" if not more else "minibatch-panel",
        HTTP_HX_CURRENT_URL=f"http://testserver/runs/{run.id}/?step={step.id}&tab=minibatches",
    )


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_tab_shows_the_counts_the_workers_and_the_failed_mini_batch_escaped(
    bob, run, score, django_assert_max_num_queries
):
    client = _client(bob)  # everyone in the workspace reads every run
    with django_assert_max_num_queries(10):
        response = _tab(client, run, score)
    html = response.content.decode()
    assert response.status_code == 200
    text = _text(html)
    assert "3 of 5 mini-batches done, 1 failed" in text
    label = "5 mini-batches: 0 reused, 3 done, 1 failed, 1 running, 0 pending"
    assert f'aria-label="{label}"' in html
    for shown in ("Reused 0", "Done 3", "Failed 1", "Running 1", "Pending 0"):
        assert shown in text
    assert "Retried 1 try" in text and "Items done 6" in text and "Items failed 2" in text
    workers = re.findall(
        r'<tr><td><code>(\w+)</code></td><td class="num">(\d+)</td><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td><td class="num">(\d+)</td></tr>',
        html,
    )
    # worker, running, done, failed, items
    assert workers == [("w1", "0", "2", "1", "4"), ("w2", "1", "1", "0", "2")]
    assert "Mini-batch 3 f3a.png, f3b.png 2 items · 2 tries · last on w1" in text
    assert "ValueError: cannot decode &lt;script&gt;alert(1)&lt;/script&gt;.png" in html
    assert "File &quot;score.py&quot;, line 9" in html  # the whole traceback, to open
    assert "<script>alert" not in html
    # It refreshes itself while the step runs.
    assert 'hx-get="?step=' in html and "partial=minibatches" in html
    assert 'hx-trigger="every 2s"' in html


def test_only_a_parallel_run_step_has_the_tab(alice, run, score):
    client = _client(alice)
    prepare = StepRun.objects.get(run=run, node_id="prepare")
    assert "tab=minibatches" in _tab(client, run, score).content.decode()
    html = _tab(client, run, prepare).content.decode()
    assert "Mini-batches" not in html and "tab=minibatches" not in html
    assert 'aria-selected="true" class="active">Outputs + logs' in html  # the default tab


def test_the_refresh_stops_once_the_step_has_ended(
    alice, run, score, django_assert_max_num_queries
):
    client = _client(alice)
    with django_assert_max_num_queries(8):  # the page's graph is not drawn again
        live = _tab(client, run, score, partial="minibatches")
    html = live.content.decode()
    assert live.status_code == 200
    assert html.lstrip().startswith('<div id="minibatch-panel"') and "step-panel" not in html
    assert 'hx-trigger="every 2s"' in html
    StepRun.objects.filter(id=score.id).update(status=Status.COMPLETED)
    ended = _tab(client, run, score, partial="minibatches")
    assert ended.status_code == 286  # htmx polls no more
    assert 'hx-trigger="every 2s"' not in ended.content.decode()
    assert "3 of 5 mini-batches done" in _text(ended.content.decode())


def test_a_later_attempt_calls_out_its_reused_mini_batches(alice, run, score):
    StepRun.objects.filter(id=score.id).update(attempt=2)
    score.refresh_from_db()
    batches = [
        {"index": i, "key": f"k{i}", "items": 2, "message": {"files": [f"f{i}.png"]}}
        for i in range(5)
    ]
    parallel.plan(score, batches)
    text = _text(_tab(_client(alice), run, score).content.decode())
    assert "3 of 5 mini-batches done, 3 reused from an earlier attempt" in text
    assert "Reused 3" in text and "Done 0" in text and "Pending 2" in text
    assert "No worker has taken a mini-batch yet." in text
    assert "None failed so far." in text


def test_a_parallel_run_step_not_yet_split_says_so(alice, run):
    score = StepRun.objects.get(run=run, node_id="score")
    html = _tab(_client(alice), run, score).content.decode()
    assert "The mini-batches show here once the step has split its inputs." in _text(html)
    assert 'hx-trigger="every 2s"' in html  # and asks again


def test_the_tab_needs_a_signed_in_user(client, run, score):
    response = client.get(f"/runs/{run.id}/", {"step": score.id, "partial": "minibatches"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_reused_step_shows_the_mini_batches_of_the_step_it_reused(alice, score):
    later = factories.submitted(_graph(), alice)
    StepRun.objects.filter(run=later).update(status=Status.COMPLETED)
    StepRun.objects.filter(run=later, node_id="score").update(
        reused_from=score, properties={"azureml.reusedpipeline": str(score.run_id)}
    )
    reused = StepRun.objects.get(run=later, node_id="score")
    html = _tab(_client(alice), later, reused).content.decode()
    assert "3 of 5 mini-batches done, 1 failed" in _text(html)
    assert 'hx-trigger="every 2s"' not in html  # it ended: nothing to follow
