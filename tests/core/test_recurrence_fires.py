"""Schedule recurrences: fire times on ordinary days, across daylight saving, and the first fire.

Every test runs on a frozen clock (see tests/core/recurrence_cases.py). The daylight-saving
cases follow the rule in the module docstring of pipelines/recurrence.py: a skipped local time
fires at the first valid instant after it, a repeated local time fires once (its first
occurrence), and hourly schedules follow the wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from studio.core.recurrence import due_fires, fire_times, first_fire, is_transition, next_fire
from tests.core.recurrence_cases import BERLIN, NEW_YORK, at, local_wall, rec, utc

# --- fire_times: ordinary days ---------------------------------------------------------


def test_it_fires_daily_at_the_start_time_on_the_zone_wall_clock():
    daily = rec(frequency="Day", start_time="2026-01-05T09:15:00", time_zone="Europe/Berlin")
    assert fire_times(daily, utc(2026, 1, 1), utc(2026, 1, 1), 3) == [
        utc(2026, 1, 5, 8, 15),
        utc(2026, 1, 6, 8, 15),
        utc(2026, 1, 7, 8, 15),
    ]


def test_it_gives_the_next_computed_time_after_a_start_time_in_the_past():
    daily = rec(frequency="Day", interval=3, start_time="2025-01-01T09:00:00")
    # 2025-01-01 + 3k days: 2026-06-10 is day 525 (525 = 3 * 175), so the next is 2026-06-13.
    assert fire_times(daily, utc(2025, 1, 1), utc(2026, 6, 10, 12), 2) == [
        utc(2026, 6, 13, 9),
        utc(2026, 6, 16, 9),
    ]


def test_it_fires_strictly_after_the_given_instant():
    daily = rec(frequency="Day", start_time="2026-01-01T09:00:00")
    assert fire_times(daily, utc(2026, 1, 1), utc(2026, 1, 3, 9), 1) == [utc(2026, 1, 4, 9)]
    assert fire_times(daily, utc(2026, 1, 1), utc(2026, 1, 3, 8, 59, 59), 1) == [utc(2026, 1, 3, 9)]


def test_it_starts_at_a_future_start_time():
    hourly = rec(frequency="Hour", start_time="2026-02-01T10:20:00")
    assert fire_times(hourly, utc(2026, 1, 1), utc(2026, 1, 1), 2) == [
        utc(2026, 2, 1, 10, 20),
        utc(2026, 2, 1, 11, 20),
    ]


def test_it_anchors_at_the_anchor_minute_without_a_start_time():
    hourly = rec(frequency="Hour", interval=2)
    anchor = utc(2026, 1, 1, 10, 7, 42)
    assert fire_times(hourly, anchor, anchor - timedelta(hours=1), 3) == [
        utc(2026, 1, 1, 10, 7),
        utc(2026, 1, 1, 12, 7),
        utc(2026, 1, 1, 14, 7),
    ]
    assert next_fire(hourly, anchor, anchor) == utc(2026, 1, 1, 12, 7)


def test_it_anchors_on_the_zone_wall_clock_without_a_start_time():
    daily = rec(frequency="Day", time_zone="America/New_York")
    anchor = utc(2026, 1, 10, 14, 30)  # 09:30 in New York
    fires = fire_times(daily, anchor, anchor, 3)
    assert [local_wall(f, NEW_YORK) for f in fires] == [
        datetime(2026, 1, 11, 9, 30),
        datetime(2026, 1, 12, 9, 30),
        datetime(2026, 1, 13, 9, 30),
    ]


def test_it_fires_every_n_minutes_keeping_the_start_seconds():
    every = rec(frequency="Minute", interval=15, start_time="2026-01-01T00:00:30")
    assert fire_times(every, utc(2026, 1, 1), utc(2026, 1, 1, 0, 20), 3) == [
        utc(2026, 1, 1, 0, 30, 30),
        utc(2026, 1, 1, 0, 45, 30),
        utc(2026, 1, 1, 1, 0, 30),
    ]


def test_it_fires_every_n_hours():
    every = rec(frequency="Hour", interval=3, start_time="2026-01-01T01:00:00")
    assert fire_times(every, utc(2026, 1, 1), utc(2026, 1, 1, 5), 3) == [
        utc(2026, 1, 1, 7),
        utc(2026, 1, 1, 10),
        utc(2026, 1, 1, 13),
    ]


def test_it_fires_monthly_on_the_start_day():
    monthly = rec(frequency="Month", start_time="2026-01-15T10:00:00", time_zone="Europe/Berlin")
    assert fire_times(monthly, utc(2026, 1, 1), utc(2026, 1, 1), 3) == [
        utc(2026, 1, 15, 9),
        utc(2026, 2, 15, 9),
        utc(2026, 3, 15, 9),
    ]


def test_it_fires_on_every_listed_hour_and_minute_of_a_day():
    daily = rec(frequency="Day", start_time="2026-01-01T00:00:00", hours=[18, 6], minutes=[30, 0])
    fires = fire_times(daily, utc(2026, 1, 1), utc(2026, 1, 1), 5)
    assert fires == [
        utc(2026, 1, 1, 6),
        utc(2026, 1, 1, 6, 30),
        utc(2026, 1, 1, 18),
        utc(2026, 1, 1, 18, 30),
        utc(2026, 1, 2, 6),
    ]


def test_it_fires_at_minute_zero_of_listed_hours_without_minutes():
    daily = rec(frequency="Day", start_time="2026-01-01T00:00:00", hours=[7])
    assert fire_times(daily, utc(2026, 1, 1), utc(2026, 1, 1), 1) == [utc(2026, 1, 1, 7)]


def test_it_fires_at_the_start_hour_for_listed_minutes_without_hours():
    daily = rec(frequency="Day", start_time="2026-01-01T04:00:00", minutes=[10, 40])
    assert fire_times(daily, utc(2026, 1, 1), utc(2026, 1, 1), 3) == [
        utc(2026, 1, 1, 4, 10),
        utc(2026, 1, 1, 4, 40),
        utc(2026, 1, 2, 4, 10),
    ]


def test_it_fires_only_on_the_listed_week_days():
    weekly = rec(
        frequency="Week",
        start_time="2026-01-01T00:00:00",  # a Thursday
        week_days=["Monday", "Wednesday"],
        time_of_day="08:00",
    )
    fires = fire_times(weekly, utc(2026, 1, 1), utc(2026, 1, 3), 4)  # from Saturday
    assert fires == [
        utc(2026, 1, 5, 8),
        utc(2026, 1, 7, 8),
        utc(2026, 1, 12, 8),
        utc(2026, 1, 14, 8),
    ]
    assert {f.strftime("%A") for f in fires} == {"Monday", "Wednesday"}


def test_it_skips_weeks_by_the_interval():
    fortnightly = rec(
        frequency="Week", interval=2, start_time="2026-01-05T08:00:00", week_days=["Friday"]
    )
    assert fire_times(fortnightly, utc(2026, 1, 1), utc(2026, 1, 1), 3) == [
        utc(2026, 1, 9, 8),
        utc(2026, 1, 23, 8),
        utc(2026, 2, 6, 8),
    ]


def test_it_fires_weekly_on_the_start_week_day_without_week_days():
    weekly = rec(frequency="Week", start_time="2026-01-07T12:00:00")  # a Wednesday
    assert fire_times(weekly, utc(2026, 1, 1), utc(2026, 1, 8), 2) == [
        utc(2026, 1, 14, 12),
        utc(2026, 1, 21, 12),
    ]


def test_it_gives_exactly_count_fire_times():
    every = rec(frequency="Minute", start_time="2026-01-01T00:00:00")
    assert len(fire_times(every, utc(2026, 1, 1), utc(2026, 1, 1), 7)) == 7
    assert len(fire_times(every, utc(2026, 1, 1), utc(2026, 1, 1), 1)) == 1


# --- daylight saving: daily 02:30 (and 01:30 in New York in autumn) ------------------------

SPRING_AND_FALL = [
    # zone, change day, daily time, the one fire on the change day (as a UTC instant),
    # the fire the day before and the day after (UTC)
    pytest.param(
        "Europe/Berlin",
        date(2026, 3, 29),
        "02:30",
        at(BERLIN, 2026, 3, 29, 3, 0),
        utc(2026, 3, 28, 1, 30),
        utc(2026, 3, 30, 0, 30),
        id="berlin-spring-forward",
    ),
    pytest.param(
        "America/New_York",
        date(2026, 3, 8),
        "02:30",
        at(NEW_YORK, 2026, 3, 8, 3, 0),
        utc(2026, 3, 7, 7, 30),
        utc(2026, 3, 9, 6, 30),
        id="new-york-spring-forward",
    ),
    pytest.param(
        "Europe/Berlin",
        date(2026, 10, 25),
        "02:30",
        at(BERLIN, 2026, 10, 25, 2, 30, fold=0),
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 26, 1, 30),
        id="berlin-fall-back",
    ),
    pytest.param(
        "America/New_York",
        date(2026, 11, 1),
        "01:30",
        at(NEW_YORK, 2026, 11, 1, 1, 30, fold=0),
        utc(2026, 10, 31, 5, 30),
        utc(2026, 11, 2, 6, 30),
        id="new-york-fall-back",
    ),
]


def test_the_change_days_are_what_the_cases_assume():
    assert is_transition(datetime(2026, 3, 29, 2, 30), BERLIN) == "skipped"
    assert is_transition(datetime(2026, 3, 8, 2, 30), NEW_YORK) == "skipped"
    assert is_transition(datetime(2026, 10, 25, 2, 30), BERLIN) == "repeated"
    assert is_transition(datetime(2026, 11, 1, 1, 30), NEW_YORK) == "repeated"
    assert is_transition(datetime(2026, 10, 24, 2, 30), BERLIN) is None
    # the two readings of a repeated time are an hour apart; the first is the earlier
    first, second = at(BERLIN, 2026, 10, 25, 2, 30), at(BERLIN, 2026, 10, 25, 2, 30, fold=1)
    assert (first, second) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30))


@pytest.mark.parametrize(("zone", "day", "clock", "on_day", "before", "after"), SPRING_AND_FALL)
def test_a_daily_schedule_fires_once_on_a_change_day_at_the_documented_instant(
    zone, day, clock, on_day, before, after
):
    daily = rec(
        frequency="Day", time_of_day=clock, time_zone=zone, start_time="2026-01-01T00:00:00"
    )
    fires = fire_times(daily, utc(2026, 1, 1), before - timedelta(seconds=1), 3)
    assert fires == [before, on_day, after]
    assert [local_wall(f, ZoneInfo(zone)).date() for f in fires] == [
        day - timedelta(days=1),
        day,
        day + timedelta(days=1),
    ]


def test_a_skipped_daily_time_fires_at_three_oclock_local():
    daily = rec(frequency="Day", time_of_day="02:30", time_zone="Europe/Berlin")
    fire = next_fire(daily, utc(2026, 1, 1), utc(2026, 3, 28, 12))
    assert fire.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z") == "2026-03-29 03:00 CEST"


def test_a_repeated_daily_time_fires_at_its_first_occurrence():
    daily = rec(frequency="Day", time_of_day="01:30", time_zone="America/New_York")
    fire = next_fire(daily, utc(2026, 1, 1), utc(2026, 10, 31, 12))
    assert fire.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M %Z") == "2026-11-01 01:30 EDT"
    # after the first 01:30, the second 01:30 (EST) is not a fire: the next is tomorrow's
    assert next_fire(daily, utc(2026, 1, 1), fire) == at(NEW_YORK, 2026, 11, 2, 1, 30)
    assert next_fire(daily, utc(2026, 1, 1), at(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)) == at(
        NEW_YORK, 2026, 11, 2, 1, 30
    )


def _evaluate_every_minute(recurrence, anchor, since, start, end, policy="latest", step=1):
    """A scheduler loop on a fake clock: every ``step`` minutes, start runs for due fires."""
    started, now = [], start
    while now <= end:
        due = due_fires(recurrence, anchor, since, now, policy=policy)
        if due:
            # the same evaluation again (since = the fire just recorded) starts nothing
            assert due_fires(recurrence, anchor, due[-1], now, policy=policy) == []
            since = due[-1]
        started.extend(due)
        now += timedelta(minutes=step)
    return started


@pytest.mark.parametrize(("zone", "day", "clock", "on_day", "before", "after"), SPRING_AND_FALL)
def test_a_scheduler_evaluating_every_minute_starts_one_run_on_a_change_day(
    zone, day, clock, on_day, before, after
):
    daily = rec(frequency="Day", time_of_day=clock, time_zone=zone)
    anchor = utc(2026, 1, 1)
    tz = ZoneInfo(zone)
    midnight = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    six = datetime.combine(day, time(6), tzinfo=tz).astimezone(UTC)
    started = _evaluate_every_minute(daily, anchor, before, midnight, six)
    assert started == [on_day]
    # and the next day is an ordinary day with one run at the usual time
    next_midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    next_six = datetime.combine(day + timedelta(days=1), time(6), tzinfo=tz).astimezone(UTC)
    assert _evaluate_every_minute(daily, anchor, on_day, next_midnight, next_six) == [after]


@pytest.mark.parametrize(("zone", "day", "clock", "on_day", "before", "after"), SPRING_AND_FALL)
def test_re_evaluating_a_change_day_at_the_same_instant_creates_nothing(
    zone, day, clock, on_day, before, after
):
    daily = rec(frequency="Day", time_of_day=clock, time_zone=zone)
    now = on_day + timedelta(seconds=30)
    first = due_fires(daily, utc(2026, 1, 1), before, now)
    assert first == [on_day]
    assert due_fires(daily, utc(2026, 1, 1), first[-1], now) == []
    assert due_fires(daily, utc(2026, 1, 1), first[-1], now + timedelta(hours=3)) == []


# --- daylight saving: hourly follows the wall clock ---------------------------------------

HOURLY_DAYS = [
    pytest.param("Europe/Berlin", date(2026, 3, 29), 23, [2], id="berlin-spring-forward"),
    pytest.param("America/New_York", date(2026, 3, 8), 23, [2], id="new-york-spring-forward"),
    pytest.param("Europe/Berlin", date(2026, 10, 25), 24, [], id="berlin-fall-back"),
    pytest.param("America/New_York", date(2026, 11, 1), 24, [], id="new-york-fall-back"),
]


def _fires_on(recurrence, day: date, zone: ZoneInfo) -> list[datetime]:
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC) - timedelta(seconds=1)
    fires = fire_times(recurrence, utc(2026, 1, 1), start, 30)
    return [f for f in fires if f.astimezone(zone).date() == day]


@pytest.mark.parametrize(("zone", "day", "count", "missing_hours"), HOURLY_DAYS)
def test_an_hourly_schedule_follows_the_wall_clock_on_a_change_day(zone, day, count, missing_hours):
    tz = ZoneInfo(zone)
    hourly = rec(frequency="Hour", start_time="2026-01-01T00:00:00", time_zone=zone)
    fires = _fires_on(hourly, day, tz)
    assert len(fires) == count
    assert len(set(fires)) == len(fires)
    assert all(a < b for a, b in pairwise(fires))
    assert [f.astimezone(tz).hour for f in fires] == [
        h for h in range(24) if h not in missing_hours
    ]
    assert all(f.astimezone(tz).minute == 0 for f in fires)


@pytest.mark.parametrize(("zone", "day", "count", "missing_hours"), HOURLY_DAYS)
def test_an_hourly_schedule_fires_at_the_first_of_a_repeated_hour(zone, day, count, missing_hours):
    tz = ZoneInfo(zone)
    hourly = rec(frequency="Hour", start_time="2026-01-01T00:00:00", time_zone=zone)
    for fire in _fires_on(hourly, day, tz):
        wall = local_wall(fire, tz)
        assert fire == wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


@pytest.mark.parametrize(("zone", "day", "count", "missing_hours"), HOURLY_DAYS)
def test_a_scheduler_evaluating_every_five_minutes_starts_the_wall_clock_hourly_runs(
    zone, day, count, missing_hours
):
    tz = ZoneInfo(zone)
    hourly = rec(frequency="Hour", start_time=f"{day - timedelta(days=1)}T00:00:00", time_zone=zone)
    anchor = utc(2026, 1, 1)
    midnight = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    since = midnight - timedelta(hours=1)  # the previous day's 23:00 run was recorded
    started = _evaluate_every_minute(
        hourly, anchor, since, midnight, end - timedelta(seconds=1), step=5
    )
    assert started == _fires_on(hourly, day, tz)
    assert len(started) == count


def test_an_hourly_schedule_off_the_hour_moves_only_its_skipped_fire():
    # the documented rule for every frequency: 02:30 does not exist, so it fires at 03:00;
    # 03:30 is an ordinary fire (so this schedule has 24 fires on the spring-forward day)
    hourly = rec(frequency="Hour", start_time="2026-01-01T00:30:00", time_zone="Europe/Berlin")
    fires = _fires_on(hourly, date(2026, 3, 29), BERLIN)
    walls = [local_wall(f, BERLIN).strftime("%H:%M") for f in fires]
    assert walls[:5] == ["00:30", "01:30", "03:00", "03:30", "04:30"]
    assert len(fires) == 24


# --- first_fire -------------------------------------------------------------------------


@pytest.mark.parametrize("second", [0.0, 0.04, 0.999, 1.5, 30.0, 59.9])
def test_a_schedule_without_a_start_time_first_fires_a_whole_period_after_its_creation(second):
    # Anchored on the minute it was created in, it never fires at once: not even when it was
    # created within the first second of that minute.
    created = utc(2026, 11, 26, 4, 19) + timedelta(seconds=second)
    assert first_fire(rec(frequency="Day"), created) == utc(2026, 11, 27, 4, 19)
    assert first_fire(rec(frequency="Hour"), created) == utc(2026, 11, 26, 5, 19)


def test_a_start_time_of_now_fires_now():
    created = utc(2026, 11, 26, 4, 19, 0, 400_000)
    daily = rec(frequency="Day", start_time="2026-11-26T04:19:00")
    assert first_fire(daily, created) == utc(2026, 11, 26, 4, 19)
    later = rec(frequency="Day", start_time="2026-11-28T08:00:00")
    assert first_fire(later, created) == utc(2026, 11, 28, 8, 0)
