"""Schedule recurrences: catch-up, idempotence, the last fire before an instant, and properties.

Every test runs on a frozen clock (see tests/core/recurrence_cases.py). The hypothesis
properties draw schedules that start within days of a daylight-saving change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time as host_time
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from studio.core.recurrence import (
    WEEK_DAYS,
    Recurrence,
    due_fires,
    fire_times,
    last_fire_before,
    parse_recurrence,
)
from tests.budget import examples
from tests.core.recurrence_cases import local_wall, rec, utc

PROJECT = Path(__file__).resolve().parents[2]


# --- due_fires: catch-up and idempotence ------------------------------------------------

HOURLY = rec(frequency="Hour", start_time="2026-05-01T00:00:00")
MAY = utc(2026, 5, 1)


def test_it_starts_only_the_latest_missed_fire_after_a_three_hour_outage():
    last_recorded = utc(2026, 5, 4, 10)
    back_up = utc(2026, 5, 4, 13, 30)
    assert due_fires(HOURLY, MAY, last_recorded, back_up, policy="latest") == [utc(2026, 5, 4, 13)]


def test_it_skips_a_missed_fire_older_than_the_grace_period():
    last_recorded = utc(2026, 5, 4, 10)
    back_up = utc(2026, 5, 4, 13, 30)
    assert due_fires(HOURLY, MAY, last_recorded, back_up, policy="skip") == []


def test_it_starts_a_fire_within_the_grace_period_even_when_skipping():
    last_recorded = utc(2026, 5, 4, 10)
    back_up = utc(2026, 5, 4, 13, 1)
    assert due_fires(HOURLY, MAY, last_recorded, back_up, policy="skip") == [utc(2026, 5, 4, 13)]
    wide = timedelta(hours=1)
    assert due_fires(HOURLY, MAY, last_recorded, utc(2026, 5, 4, 13, 30), "skip", wide) == [
        utc(2026, 5, 4, 13)
    ]


@pytest.mark.parametrize("policy", ["latest", "skip"])
def test_evaluating_twice_at_the_same_instant_creates_nothing_new(policy):
    now = utc(2026, 5, 4, 13, 0, 20)
    first = due_fires(HOURLY, MAY, utc(2026, 5, 4, 12), now, policy=policy)
    assert first == [utc(2026, 5, 4, 13)]
    assert due_fires(HOURLY, MAY, first[-1], now, policy=policy) == []


def test_nothing_is_due_before_the_next_fire():
    assert due_fires(HOURLY, MAY, utc(2026, 5, 4, 13), utc(2026, 5, 4, 13, 59, 59)) == []
    assert due_fires(HOURLY, MAY, utc(2026, 5, 4, 13), utc(2026, 5, 4, 14)) == [utc(2026, 5, 4, 14)]


def test_a_clock_that_jumps_back_re_fires_nothing():
    recorded = utc(2026, 5, 4, 13)
    assert due_fires(HOURLY, MAY, recorded, recorded - timedelta(minutes=10)) == []
    assert due_fires(HOURLY, MAY, recorded, recorded) == []


def test_a_clock_that_jumps_forward_follows_the_catch_up_policy():
    recorded = utc(2026, 5, 4, 13)
    jumped = recorded + timedelta(hours=2, minutes=5)
    assert due_fires(HOURLY, MAY, recorded, jumped, policy="latest") == [utc(2026, 5, 4, 15)]
    assert due_fires(HOURLY, MAY, recorded, jumped, policy="skip") == []


def test_nothing_is_due_before_the_start_time():
    later = rec(frequency="Hour", start_time="2026-06-01T00:00:00")
    assert due_fires(later, MAY, MAY, utc(2026, 5, 31, 23, 59)) == []
    assert last_fire_before(later, MAY, utc(2026, 5, 31, 23, 59)) is None


def test_fire_times_do_not_depend_on_the_host_time_zone():
    daily = rec(frequency="Day", time_of_day="01:30", time_zone="America/New_York")

    def compute():
        return (
            fire_times(daily, utc(2026, 10, 1), utc(2026, 10, 30), 4),
            due_fires(daily, utc(2026, 10, 1), utc(2026, 10, 31), utc(2026, 11, 1, 7)),
        )

    old = os.environ.get("TZ")
    results = []
    try:
        for host in ("Asia/Kolkata", "UTC", "America/Los_Angeles"):
            os.environ["TZ"] = host
            host_time.tzset()
            results.append(compute())
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        host_time.tzset()
    assert results[0] == results[1] == results[2]
    assert results[0][1] == [utc(2026, 11, 1, 5, 30)]


# --- last_fire_before ----------------------------------------------------------------------


def test_the_last_fire_at_or_before_an_instant_includes_that_instant():
    assert last_fire_before(HOURLY, MAY, utc(2026, 5, 4, 13)) == utc(2026, 5, 4, 13)
    assert last_fire_before(HOURLY, MAY, utc(2026, 5, 4, 12, 59, 59)) == utc(2026, 5, 4, 12)


# windows that start shortly before each change (UTC)
BERLIN_WINDOWS = (utc(2026, 3, 29, 0, 30), utc(2026, 10, 25, 0, 0))
NEW_YORK_WINDOWS = (utc(2026, 3, 8, 6, 30), utc(2026, 11, 1, 5, 0))


@pytest.mark.parametrize(
    ("data", "windows"),
    [
        pytest.param(
            {"frequency": "Day", "time_of_day": "02:30", "time_zone": "Europe/Berlin"},
            BERLIN_WINDOWS,
            id="day",
        ),
        pytest.param(
            {"frequency": "Hour", "time_zone": "America/New_York"}, NEW_YORK_WINDOWS, id="hour"
        ),
        pytest.param(
            {"frequency": "Minute", "interval": 7, "time_zone": "Europe/Berlin"},
            BERLIN_WINDOWS,
            id="minute",
        ),
        pytest.param(
            {
                "frequency": "Week",
                "week_days": ["Sunday"],
                "hours": [1, 2],
                "minutes": [30],
                "time_zone": "America/New_York",
            },
            NEW_YORK_WINDOWS,
            id="week",
        ),
    ],
)
def test_the_last_fire_before_agrees_with_fire_times_across_the_change_days(data, windows):
    recurrence = rec(**data)
    for window in windows:
        anchor = window - timedelta(hours=5, minutes=13)
        fires = fire_times(recurrence, anchor, window, 12)
        assert len(fires) == 12
        for earlier, later in pairwise(fires):
            assert last_fire_before(recurrence, anchor, earlier) == earlier
            assert last_fire_before(recurrence, anchor, later - timedelta(seconds=1)) == earlier
            middle = earlier + (later - earlier) / 2
            assert last_fire_before(recurrence, anchor, middle) == earlier


def test_the_latest_fire_of_a_month_old_minute_schedule_is_found_quickly():
    code = (
        "from datetime import UTC, datetime\n"
        "from studio.core.recurrence import due_fires, parse_recurrence\n"
        "r = parse_recurrence({'frequency': 'Minute', 'interval': 1})\n"
        "anchor, now = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 31, 0, 0, 30, tzinfo=UTC)\n"
        "print(due_fires(r, anchor, datetime(2026, 1, 30, 23, 59, tzinfo=UTC), now))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=2
        )
    except subprocess.TimeoutExpired:
        pytest.fail("due_fires took more than 2 s for a 30-day-old minute schedule")
    assert done.returncode == 0, done.stderr
    assert "datetime.datetime(2026, 1, 31, 0, 0" in done.stdout


# --- properties ----------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
BERLIN_CHANGES = [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31)]
NEW_YORK_CHANGES = [date(2026, 3, 8), date(2026, 11, 1), date(2027, 3, 14), date(2027, 11, 7)]
LORD_HOWE_CHANGES = [date(2026, 4, 5), date(2026, 10, 4), date(2027, 4, 4), date(2027, 10, 3)]
CHANGE_DAYS = BERLIN_CHANGES + NEW_YORK_CHANGES + LORD_HOWE_CHANGES
ZONE_CHANGES = {
    "Europe/Berlin": BERLIN_CHANGES,
    "America/New_York": NEW_YORK_CHANGES,
    "Australia/Lord_Howe": LORD_HOWE_CHANGES,
}
PROPERTY = settings(
    max_examples=examples(200),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    # no "explain" phase: it traces every line, which makes a failure take minutes to report
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)


@st.composite
def schedules(draw):
    """A valid recurrence whose start (or anchor) lies within days of a daylight-saving change."""
    # Day first: failures shrink towards it, the cheapest to evaluate
    frequency = draw(st.sampled_from(["Day", "Week", "Month", "Hour", "Minute"]))
    zone = draw(st.sampled_from(ZONES))
    data = {"frequency": frequency, "interval": draw(st.integers(1, 5)), "time_zone": zone}
    hour = st.one_of(st.integers(0, 23), st.sampled_from([1, 2, 3]))
    minute = st.one_of(st.integers(0, 59), st.sampled_from([0, 15, 30, 45]))
    if frequency in ("Day", "Week"):
        data["hours"] = draw(st.lists(hour, max_size=4, unique=True))
        data["minutes"] = draw(st.lists(minute, max_size=3, unique=True))
    if frequency == "Week":
        data["week_days"] = draw(st.lists(st.sampled_from(WEEK_DAYS), max_size=3, unique=True))
    day = draw(st.sampled_from(ZONE_CHANGES.get(zone, CHANGE_DAYS)))
    # close enough before the change (about 02:00 local) that 25 fires can cross it
    low, high = {"Minute": (-30, 200), "Hour": (-1440, 180)}.get(frequency, (-2 * 1440, 180))
    begin = datetime.combine(day, time()) + timedelta(
        minutes=draw(st.integers(low, high)), seconds=draw(st.sampled_from([0, 30]))
    )
    recurrence = parse_recurrence({**data, "start_time": begin.isoformat()})
    if draw(st.booleans()):
        return recurrence, utc(2025, 12, 1)
    # no start time: the schedule was created at that wall-clock time
    without_start = parse_recurrence(data)
    return without_start, begin.replace(tzinfo=without_start.zone).astimezone(UTC)


def _start_wall(recurrence: Recurrence, anchor: datetime) -> datetime:
    if recurrence.start_time is not None:
        return recurrence.start_time
    return local_wall(anchor, recurrence.zone).replace(second=0, microsecond=0)


def _allowed(recurrence: Recurrence, start: datetime, wall: datetime) -> bool:
    """Whether a wall-clock time is one the recurrence names (ignoring daylight saving)."""
    if wall < start:
        return False
    frequency, interval = recurrence.frequency, recurrence.interval
    if frequency in ("Day", "Week"):
        if recurrence.hours or recurrence.minutes:
            hours = recurrence.hours or (start.hour,)
            minutes = recurrence.minutes or (0,)
            clock_ok = wall.hour in hours and wall.minute in minutes and wall.second == 0
        else:
            clock_ok = wall.time() == start.time()
        if frequency == "Day":
            return clock_ok and (wall.date() - start.date()).days % interval == 0
        days = [WEEK_DAYS.index(d) for d in recurrence.week_days] or [start.weekday()]
        start_monday = start.date() - timedelta(days=start.weekday())
        monday = wall.date() - timedelta(days=wall.weekday())
        return (
            clock_ok
            and wall.weekday() in days
            and ((monday - start_monday).days // 7) % interval == 0
        )
    if frequency == "Month":
        months = (wall.year - start.year) * 12 + wall.month - start.month
        return wall.day == start.day and wall.time() == start.time() and months % interval == 0
    step = timedelta(hours=interval) if frequency == "Hour" else timedelta(minutes=interval)
    return (wall - start) % step == timedelta(0)


def _check_fire(recurrence: Recurrence, start: datetime, fire: datetime) -> None:
    zone = recurrence.zone
    wall = local_wall(fire, zone)
    if _allowed(recurrence, start, wall):
        # a repeated wall time fires at its first occurrence
        assert fire == wall.replace(tzinfo=zone, fold=0).astimezone(UTC), (fire, wall)
        return
    # otherwise it must be an allowed wall time in a skipped stretch, moved to its end:
    # the fire is the instant the clocks jumped, and the skipped time lies in the gap
    before = (fire - timedelta(microseconds=1)).astimezone(zone).utcoffset()
    gap = fire.astimezone(zone).utcoffset() - before
    assert gap > timedelta(0), f"{fire} ({wall} local) is not an allowed time of {recurrence}"
    candidates = (wall - gap + timedelta(seconds=s) for s in range(0, int(gap.total_seconds()), 30))
    assert any(_allowed(recurrence, start, w) for w in candidates), (fire, wall, recurrence)


@PROPERTY
@given(schedules())
def test_fire_times_strictly_increase_and_lie_on_the_allowed_wall_clock(schedule):
    recurrence, anchor = schedule
    note(f"{recurrence!r}, anchor={anchor!r}")
    start = _start_wall(recurrence, anchor)
    after = datetime.combine(start.date() - timedelta(days=1), time(), tzinfo=UTC)
    fires = fire_times(recurrence, anchor, after, 25)
    assert len(fires) == 25
    assert all(a < b for a, b in pairwise(fires))
    assert all(f.tzinfo is not None and f.utcoffset() == timedelta(0) for f in fires)
    for fire in fires:
        _check_fire(recurrence, start, fire)


@PROPERTY
@given(schedules(), st.data())
def test_fire_times_resume_where_they_left_off_from_any_instant(schedule, data):
    recurrence, anchor = schedule
    note(f"{recurrence!r}, anchor={anchor!r}")
    start = _start_wall(recurrence, anchor)
    after = datetime.combine(start.date() - timedelta(days=1), time(), tzinfo=UTC)
    fires = fire_times(recurrence, anchor, after, 12)
    i = data.draw(st.integers(0, len(fires) - 4), label="index")
    assert fire_times(recurrence, anchor, fires[i], 3) == fires[i + 1 : i + 4]
    assert (
        fire_times(recurrence, anchor, fires[i] - timedelta(microseconds=1), 3) == fires[i : i + 3]
    )


@PROPERTY
@given(schedules(), st.data())
def test_due_fires_gives_the_latest_fire_once_and_nothing_on_re_evaluation(schedule, data):
    recurrence, anchor = schedule
    note(f"{recurrence!r}, anchor={anchor!r}")
    start = _start_wall(recurrence, anchor)
    after = datetime.combine(start.date() - timedelta(days=1), time(), tzinfo=UTC)
    fires = fire_times(recurrence, anchor, after, 12)
    i = data.draw(st.integers(0, len(fires) - 2), label="index")
    share = data.draw(st.floats(0, 0.999), label="share of the gap")
    now = fires[i] + (fires[i + 1] - fires[i]) * share
    lookback = timedelta(seconds=data.draw(st.integers(1, 10 * 24 * 3600), label="lookback"))
    since = now - lookback

    first = due_fires(recurrence, anchor, since, now, policy="latest")
    assert first == ([fires[i]] if since < fires[i] else [])
    # verify idempotence: evaluate again at the same instant, since = what was recorded
    recorded = first[-1] if first else since
    assert due_fires(recurrence, anchor, recorded, now, policy="latest") == []


@pytest.mark.parametrize(
    ("zone", "days"),
    [
        ("Europe/Berlin", BERLIN_CHANGES),
        ("America/New_York", NEW_YORK_CHANGES),
        ("Australia/Lord_Howe", LORD_HOWE_CHANGES),
    ],
)
def test_the_property_days_are_daylight_saving_changes(zone, days):
    tz = ZoneInfo(zone)
    for day in days:
        before = datetime.combine(day, time(), tzinfo=tz).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).utcoffset()
        assert before != after, (zone, day)


@PROPERTY
@given(schedules(), st.integers(0, 3 * 366 * 24 * 60))
def test_a_rule_started_near_an_instant_gives_what_the_rule_from_its_start_gives(
    schedule, minutes_later
):
    # Schedules created long ago are not walked from their first fire; the shortcut must
    # not change a single occurrence.
    from itertools import islice

    from studio.core.recurrence import _rule, _rule_near, _start_local

    recurrence, anchor = schedule
    start = _start_local(recurrence, anchor)
    around = start + timedelta(minutes=minutes_later)
    note(f"{recurrence!r}, anchor={anchor!r}, around={around!r}")
    near_rule, full_rule = _rule_near(recurrence, anchor, around), _rule(recurrence, start)
    near = list(islice(near_rule.xafter(around, inc=True), 12))
    full = list(islice(full_rule.xafter(around, inc=True), 12))
    assert near == full
    # last_fire_before asks for the last occurrence up to six hours after its ``around``
    later = around + timedelta(hours=6)
    assert near_rule.before(later, inc=True) == full_rule.before(later, inc=True)
