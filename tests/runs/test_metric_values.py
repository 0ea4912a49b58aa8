"""Metric values read well: four significant digits with the full value on hover, on every
page that shows them; a metric column names its step when two steps log the name; a reused
step shows the values its original step logged; the runs' own metrics (``parent.log``) are
columns too, and a metric's description is shown beside its value."""

from __future__ import annotations

import math
import re

import pytest
from django.test import Client

from runs.models import Metric, Run, StepRun
from runs.templatetags.runs_tags import metric, short_number
from studio.core.status import Status
from tests import factories


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.123456789, "0.1235"),
        (1 / 3, "0.3333"),
        (12.3456, "12.35"),
        (1234.56, "1235"),
        (123456.7, "123457"),
        (9999.5, "10000"),
        (-0.000123456, "-0.0001235"),
        (1.23456e-7, "1.235e-07"),
        (2.54321e20, "2.543e+20"),
    ],
)
def test_floats_show_four_significant_digits_and_keep_the_full_value(value, shown):
    assert short_number(value) == (shown, repr(value))
    assert str(metric(value)) == f'<span title="{value!r}">{shown}</span>'


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (3.0, "3"),
        (0.0, "0"),
        (0.5, "0.5"),
        (2.5e20, "2.5e+20"),
        (7, "7"),
        (12345678901, "12345678901"),
        (True, "True"),
    ],
)
def test_values_that_lose_nothing_show_as_they_are_with_no_title(value, shown):
    assert short_number(value) == (shown, shown)
    assert str(metric(value)) == shown


def test_text_none_and_odd_floats_are_shown_escaped():
    assert str(metric("<b>best</b>")) == "&lt;b&gt;best&lt;/b&gt;"
    assert str(metric(None)) == "" and str(metric(None, "—")) == "—"
    assert short_number(math.nan)[0] == "nan" and short_number(-math.inf)[0] == "-inf"


@pytest.fixture
def client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def _finished_run(*steps: str, experiment: str = "metrics") -> Run:
    run = factories.submitted(factories.chain(*steps), experiment=experiment)
    Run.objects.filter(id=run.id).update(status=Status.COMPLETED)
    StepRun.objects.filter(run=run).update(status=Status.COMPLETED)
    return run


def _log(run: Run, step: str, name: str, value: object) -> None:
    Metric.objects.create(step_run=StepRun.objects.get(run=run, name=step), name=name, value=value)


@pytest.mark.django_db
def test_the_runs_list_shows_short_values_and_names_the_step_when_two_log_a_name(
    client, django_assert_max_num_queries
):
    run = _finished_run("train", "score")
    _log(run, "train", "accuracy", 0.912345678)
    _log(run, "score", "accuracy", 0.87654321)
    _log(run, "train", "loss", 0.25)
    with django_assert_max_num_queries(8):
        html = client.get("/runs/?metric=accuracy&metric=loss").content.decode()
    assert '<th class="num" title="accuracy logged by step score">accuracy (score)</th>' in html
    assert '<th class="num" title="accuracy logged by step train">accuracy (train)</th>' in html
    assert '<th class="num" title="logged by step train">loss</th>' in html
    assert '<span title="0.912345678">0.9123</span>' in html
    assert '<span title="0.87654321">0.8765</span>' in html
    assert '<td class="num">0.25</td>' in html


@pytest.mark.django_db
def test_a_metric_logged_on_the_run_itself_is_a_column_of_its_own(
    client, django_assert_max_num_queries
):
    first = _finished_run("train", experiment="own")
    _log(first, "train", "loss", 0.5)
    Metric.objects.create(run=first, name="loss", value=0.75)
    Metric.objects.create(run=first, name="loss", value=0.125)  # the last value counts
    second = _finished_run("train", experiment="own")
    Metric.objects.create(run=second, name="loss", value=0.375)
    with django_assert_max_num_queries(8):
        html = client.get("/runs/?metrics=loss&run_metrics=loss").content.decode()
    assert '<th class="num" title="loss logged on the pipeline run">loss (run)</th>' in html
    assert '<th class="num" title="logged by step train">loss</th>' in html
    rows = html.split("<tbody>")[1].split("</tr>")
    newest, oldest = rows[0], rows[1]
    assert newest.index('<td class="num"></td>') < newest.index('<td class="num">0.375</td>')
    assert oldest.index('<td class="num">0.5</td>') < oldest.index('<td class="num">0.125</td>')
    assert ">0.75<" not in html  # (a cell's value: a timestamp on the page may hold "0.75")
    # Only the run's own column: no query for the steps.
    with django_assert_max_num_queries(7):
        only_own = client.get("/runs/?run_metric=loss").content.decode()
    assert "loss (run)" in only_own and '<td class="num">0.125</td>' in only_own
    assert '<td class="num">0.5</td>' not in only_own
    assert 'name="run_metrics" value="loss"' in only_own


@pytest.mark.django_db
def test_a_reused_step_shows_the_metrics_of_its_original_step(client):
    original = _finished_run("train", experiment="reuse")
    _log(original, "train", "accuracy", 0.5)
    again = _finished_run("train", experiment="reuse")
    StepRun.objects.filter(run=again).update(
        reused_from=StepRun.objects.get(run=original), status=Status.COMPLETED
    )
    html = client.get("/experiments/reuse/?metric=accuracy").content.decode()
    assert html.count('<td class="num">0.5</td>') == 2


@pytest.mark.django_db
def test_the_run_page_the_metrics_tab_and_compare_show_short_values(client):
    first = _finished_run("train")
    _log(first, "train", "accuracy", 0.912345678)
    Metric.objects.create(run=first, name="best", value=2 / 3)
    second = _finished_run("train")
    _log(second, "train", "accuracy", 0.5)
    step = StepRun.objects.get(run=first)

    page = client.get(f"/runs/{first.id}/?step={step.id}&tab=metrics").content.decode()
    assert '<span title="0.912345678">0.9123</span>' in page  # the step's Metrics tab
    assert f'<span title="{2 / 3!r}">0.6667</span>' in page  # the run's own metrics
    assert "0.912345678<" not in page

    compare = client.get(f"/compare/?runs={first.id}&runs={second.id}").content.decode()
    assert '<span title="0.912345678">0.9123</span>' in compare
    assert '<td class="num">0.5</td>' in compare


@pytest.mark.django_db
def test_descriptions_are_shown_beside_values_under_charts_and_over_tables(client):
    run = _finished_run("train")
    step = StepRun.objects.get(run=run)
    for value in (0.5, 0.25):
        Metric.objects.create(step_run=step, name="loss", value=value, description="<b>train</b>")
    Metric.objects.create(step_run=step, name="lr", value=0.01, description="learning rate")
    Metric.objects.create(
        step_run=step, name="cm", kind="table", value={"a": [1]}, description="confusion"
    )
    Metric.objects.create(run=run, name="best", value=0.25, description="best loss of all")
    page = client.get(f"/runs/{run.id}/?step={step.id}&tab=metrics").content.decode()
    assert '<td>lr<small class="metric-description">learning rate</small></td>' in page
    caption = re.search(
        r'<p class="metric-description chart-caption" id="([^"]+)">([^<]*)</p>', page
    )
    assert caption and caption.group(2) == "&lt;b&gt;train&lt;/b&gt;"
    assert f'aria-describedby="{caption.group(1)}"' in page
    assert '<caption class="metric-description">confusion</caption>' in page
    assert '<td>best<small class="metric-description">best loss of all</small></td>' in page


@pytest.mark.django_db
def test_the_metrics_tab_overlays_the_ticked_series_and_keeps_them_while_live(client):
    run = factories.submitted(factories.chain("train"), experiment="overlay")
    step = StepRun.objects.get(run=run)
    StepRun.objects.filter(id=step.id).update(status=Status.RUNNING)
    for value in (1.0, 0.5):
        for name in ("loss", "val_loss", "acc"):
            Metric.objects.create(step_run=step, name=name, value=value)
    url = f"/runs/{run.id}/?step={step.id}&tab=metrics"
    page = client.get(url).content.decode()
    assert 'class="metric-overlay-form"' in page and 'id="metric-overlay"' not in page
    assert page.count('name="overlay"') == 3

    panel = client.get(
        url + "&partial=metrics&overlay=loss&overlay=val_loss", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert '<div id="metrics-panel"' in panel[:200]
    figure = panel.split('<script id="metric-overlay" type="application/json">')[1]
    assert '"name": "loss"' in figure.split("</script>")[0]
    assert '"name": "val_loss"' in figure.split("</script>")[0]
    assert 'data-figure="metric-overlay"' in panel
    assert 'value="loss" checked' in panel and 'value="acc">' in panel
    assert "&amp;overlay=loss&amp;overlay=val_loss" in panel  # the live refresh keeps them
