"""One date format on every page ({% when %}): relative within the last day, else the time in
the viewer's zone (studio.js; UTC in the page until then), always the exact UTC on hover."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from runs.models import Run
from studio.workspace.templatetags.when import relative, when
from tests import factories

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=3, seconds=50), "3 min ago"),
        (timedelta(hours=1, minutes=5), "1 hour ago"),
        (timedelta(hours=23, minutes=59), "23 hours ago"),
        (timedelta(days=1), None),
        (timedelta(days=-1), None),  # the future: a time, not "in ..."
    ],
)
def test_only_the_last_day_reads_relative(ago, text):
    assert relative(NOW - ago, NOW) == text


def test_a_missing_time_shows_its_default():
    assert when(None) == "—" and when(None, default="never") == "never"


def test_no_template_formats_a_time_of_its_own():
    """Times go through {% when %}; only a schedule's fire times are shown in its own zone.
    An ISO 8601 value for a script (``|date:'c'`` in a data attribute) is not a shown time."""
    allowed = {
        "pipelines/schedule_detail.html",
        "pipelines/schedule_form.html",
        "pipelines/schedule_list.html",
    }
    found = {
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if re.search(r"\|naturaltime|\|timesince|<time ", path.read_text())
        or (
            re.search(r"\|date:(?!'c')", path.read_text())
            and str(path.relative_to(TEMPLATES)) not in allowed
        )
    }
    assert found == set()


@pytest.mark.django_db
def test_the_runs_page_shows_a_recent_run_relative_and_an_old_one_as_a_local_time():
    alice = factories.user("alice")
    recent = factories.submitted(factories.chain("a"), alice)
    old = factories.submitted(factories.chain("a"), alice)
    three_days = timezone.now().replace(microsecond=0) - timedelta(days=3)
    Run.objects.filter(id=recent.id).update(created_at=timezone.now() - timedelta(minutes=5))
    Run.objects.filter(id=old.id).update(created_at=three_days)
    client = Client()
    client.force_login(alice)
    html = client.get("/runs/").content.decode()

    recent_time = re.search(
        r'<time class="ago" datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', html
    )
    assert recent_time and recent_time[3] in ("5 min ago", "4 min ago")
    assert recent_time[2].endswith(" UTC")
    utc = three_days.astimezone(UTC)
    assert (
        f'<time class="local" datetime="{utc:%Y-%m-%dT%H:%M:%S}Z" '
        f'title="{utc:%Y-%m-%d %H:%M:%S} UTC">{utc:%Y-%m-%d %H:%M} UTC</time>'
    ) in html
