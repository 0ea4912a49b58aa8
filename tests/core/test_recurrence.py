"""Schedule recurrences: validation, fire times, daylight saving and catch-up.

Every test runs on a frozen clock: ``anchor``, ``after``, ``since`` and ``now``
are passed in explicitly, so nothing depends on the host's clock or time zone.
The daylight-saving cases follow the rule in the module docstring of
pipelines/recurrence.py: a skipped local time fires at the first valid instant
after it, a repeated local time fires once (its first occurrence), and hourly
schedules follow the wall clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time as host_time
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from studio.core.errors import StudioError
from studio.core.recurrence import (
    FREQUENCIES,
    WEEK_DAYS,
    Recurrence,
    due_fires,
    fire_times,
    first_fire,
    is_transition,
    last_fire_before,
    next_fire,
    parse_recurrence,
    zone_name,
)
from tests.budget import examples

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
PROJECT = Path(__file__).resolve().parents[2]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(zone: ZoneInfo, *args, fold: int = 0) -> datetime:
    """A wall-clock time in ``zone`` as a UTC instant (fold=1: the second of a repeated time)."""
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)


def rec(**data) -> Recurrence:
    return parse_recurrence({"interval": 1, **data})


def refusal(data: dict) -> StudioError:
    with pytest.raises(StudioError) as caught:
        parse_recurrence(data)
    return caught.value


def local_wall(fire: datetime, zone: ZoneInfo) -> datetime:
    return fire.astimezone(zone).replace(tzinfo=None)


# --- parse_recurrence: what is accepted -------------------------------------------------


@pytest.mark.parametrize("frequency", FREQUENCIES)
def test_it_accepts_each_documented_frequency(frequency):
    parsed = parse_recurrence({"frequency": frequency, "interval": 2})
    assert (parsed.frequency, parsed.interval) == (frequency, 2)
    assert parsed.time_zone == "UTC"
    assert parsed.start_time is None


@pytest.mark.parametrize("frequency", [None, "", "Daily", "day", "Year", 1])
def test_it_refuses_an_unknown_frequency_naming_the_choices(frequency):
    error = refusal({"frequency": frequency, "interval": 1})
    assert error.field == "frequency"
    assert error.message == (
        f"frequency must be one of Minute, Hour, Day, Week, Month; got {frequency!r}"
    )


@pytest.mark.parametrize("interval", [0, -1, 1.5, 2.0, True, None, "abc", "", [1]])
def test_it_refuses_an_interval_that_is_not_an_integer_of_at_least_one(interval):
    error = refusal({"frequency": "Day", "interval": interval})
    assert error.field == "interval"
    assert error.message == "interval must be an integer greater than or equal to 1"


def test_it_reads_an_interval_given_as_digits():
    assert rec(frequency="Hour", interval="3").interval == 3


def test_it_caps_the_interval():
    assert rec(frequency="Minute", interval=100_000).interval == 100_000
    error = refusal({"frequency": "Minute", "interval": 100_001})
    assert (error.field, error.message) == ("interval", "interval must be at most 100000")


@pytest.mark.parametrize("frequency", ["Minute", "Hour", "Month"])
@pytest.mark.parametrize("key", ["hours", "minutes"])
def test_it_allows_hours_and_minutes_only_with_day_or_week(frequency, key):
    error = refusal({"frequency": frequency, "interval": 1, key: [5]})
    assert error.field == "hours"
    assert error.message == "hours and minutes can only be used with a Day or Week frequency"


@pytest.mark.parametrize("frequency", ["Day", "Week"])
def test_it_keeps_hours_and_minutes_sorted_and_without_repeats(frequency):
    parsed = rec(frequency=frequency, hours=[18, 6, 18], minutes=[45, 0, 45])
    assert parsed.hours == (6, 18)
    assert parsed.minutes == (0, 45)


@pytest.mark.parametrize("frequency", ["Minute", "Hour", "Day", "Month"])
def test_it_allows_week_days_only_with_week(frequency):
    error = refusal({"frequency": frequency, "interval": 1, "week_days": ["Monday"]})
    assert error.field == "week_days"
    assert error.message == "week_days can only be used with a Week frequency"


@pytest.mark.parametrize("week_days", [["Mon"], ["monday"], ["Monday", "Funday"], "Monday", [1]])
def test_it_refuses_week_days_that_are_not_day_names(week_days):
    error = refusal({"frequency": "Week", "interval": 1, "week_days": week_days})
    assert error.field == "week_days"
    assert error.message == (
        "week_days must be among Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday"
    )


def test_it_orders_week_days_from_monday():
    parsed = rec(frequency="Week", week_days=["Sunday", "Friday", "Monday", "Friday"])
    assert parsed.week_days == ("Monday", "Friday", "Sunday")


@pytest.mark.parametrize(
    ("text", "hours", "minutes"), [("07:30", (7,), (30,)), ("0:05", (0,), (5,))]
)
def test_it_turns_time_of_day_into_hours_and_minutes(text, hours, minutes):
    parsed = rec(frequency="Day", time_of_day=text)
    assert (parsed.hours, parsed.minutes) == (hours, minutes)


@pytest.mark.parametrize("other", [{"hours": [7]}, {"minutes": [30]}])
def test_it_refuses_time_of_day_together_with_hours_or_minutes(other):
    error = refusal({"frequency": "Day", "interval": 1, "time_of_day": "07:30", **other})
    assert error.field == "time_of_day"
    assert error.message == "time_of_day cannot be combined with hours or minutes"


@pytest.mark.parametrize("text", ["7h30", "07:30:00", "seven", "07:"])
def test_it_refuses_a_time_of_day_that_is_not_hh_mm(text):
    error = refusal({"frequency": "Day", "interval": 1, "time_of_day": text})
    assert (error.field, error.message) == ("time_of_day", "time_of_day must be 'hh:mm'")


def test_it_checks_the_range_of_a_time_of_day():
    error = refusal({"frequency": "Day", "interval": 1, "time_of_day": "24:00"})
    assert (error.field, error.message) == ("hours", "hours must be between 0 and 23")
    error = refusal({"frequency": "Day", "interval": 1, "time_of_day": "23:60"})
    assert (error.field, error.message) == ("minutes", "minutes must be between 0 and 59")


def test_it_allows_time_of_day_only_with_day_or_week():
    error = refusal({"frequency": "Hour", "interval": 1, "time_of_day": "07:30"})
    assert error.field == "hours"


@pytest.mark.parametrize(
    ("key", "values", "message"),
    [
        ("hours", [24], "hours must be between 0 and 23"),
        ("hours", [-1], "hours must be between 0 and 23"),
        ("minutes", [60], "minutes must be between 0 and 59"),
        ("minutes", [0, -5], "minutes must be between 0 and 59"),
        ("hours", ["7"], "hours must be a list of integers"),
        ("hours", [True], "hours must be a list of integers"),
        ("minutes", [1.5], "minutes must be a list of integers"),
        ("hours", "7", "hours must be a list of integers"),
    ],
)
def test_it_refuses_hours_and_minutes_out_of_range_or_not_integers(key, values, message):
    error = refusal({"frequency": "Day", "interval": 1, key: values})
    assert (error.field, error.message) == (key, message)


def test_it_accepts_the_edges_of_the_hour_and_minute_ranges():
    parsed = rec(frequency="Week", hours=[0, 23], minutes=[0, 59])
    assert (parsed.hours, parsed.minutes) == ((0, 23), (0, 59))


def test_it_reads_a_naive_start_time_and_drops_microseconds():
    assert rec(frequency="Day", start_time="2026-03-29T02:30:00").start_time == datetime(
        2026, 3, 29, 2, 30
    )
    given_time = datetime(2026, 1, 2, 3, 4, 5, 678_000)
    assert rec(frequency="Day", start_time=given_time).start_time == datetime(2026, 1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    "start",
    ["2026-03-29T02:30:00+01:00", "2026-03-29T02:30:00Z", datetime(2026, 3, 29, 2, 30, tzinfo=UTC)],
)
def test_it_refuses_a_start_time_with_a_time_zone(start):
    error = refusal({"frequency": "Day", "interval": 1, "start_time": start})
    assert error.field == "start_time"
    assert error.message == "start_time must not have a time zone: set time_zone instead"


def test_it_refuses_a_start_time_that_is_not_a_date_and_time():
    error = refusal({"frequency": "Day", "interval": 1, "start_time": "next tuesday"})
    assert (error.field, error.message) == (
        "start_time",
        "start_time must be 'YYYY-MM-DDThh:mm:ss'",
    )
    error = refusal({"frequency": "Day", "interval": 1, "start_time": 1_700_000_000})
    assert (error.field, error.message) == (
        "start_time",
        "start_time must be a datetime or 'YYYY-MM-DDThh:mm:ss'",
    )


@pytest.mark.parametrize(
    ("name", "iana"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("America/New_York", "America/New_York"),
        ("UTC", "UTC"),
        (None, "UTC"),
        ("", "UTC"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("Eastern Standard Time", "America/New_York"),
        ("EasternStandardTime", "America/New_York"),
        ("Lord Howe Standard Time", "Australia/Lord_Howe"),
    ],
)
def test_it_names_the_iana_zone_for_an_iana_or_windows_name(name, iana):
    assert zone_name(name) == iana


@pytest.mark.parametrize(
    ("member", "iana"),
    [
        ("WEuropeStandardTime", "Europe/Berlin"),
        ("MountainStandardTimeMexico", "America/Mazatlan"),
        ("UTC12", "Etc/GMT-12"),
    ],
)
def test_it_names_the_iana_zone_for_an_azureml_time_zone_member_name(member, iana):
    assert zone_name(member) == iana


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "Central Martian Time", "../etc/passwd"])
def test_it_refuses_an_unknown_time_zone_with_examples_of_good_names(name):
    with pytest.raises(StudioError) as caught:
        zone_name(name)
    assert caught.value.field == "time_zone"
    assert caught.value.message == (
        f"Unknown time zone {name!r}: use an IANA name (Europe/Berlin) or a Windows name "
        "(W. Europe Standard Time)."
    )
    error = refusal({"frequency": "Day", "interval": 1, "time_zone": name})
    assert error.field == "time_zone"


def test_it_keeps_the_time_zone_as_given_and_computes_in_the_mapped_zone():
    parsed = rec(frequency="Day", time_zone="W. Europe Standard Time", time_of_day="09:00")
    assert parsed.time_zone == "W. Europe Standard Time"
    assert parsed.zone == BERLIN
    assert next_fire(parsed, utc(2026, 1, 1), utc(2026, 1, 10)) == utc(2026, 1, 10, 8)


def test_it_round_trips_through_to_dict():
    parsed = rec(
        frequency="Week",
        interval=2,
        start_time="2026-03-01T06:15:00",
        time_zone="America/New_York",
        hours=[6, 18],
        minutes=[15],
        week_days=["Friday", "Monday"],
    )
    assert parsed.to_dict()["start_time"] == "2026-03-01T06:15:00"
    assert parse_recurrence(parsed.to_dict()) == parsed


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
    assert all(a < b for a, b in zip(fires, fires[1:], strict=False))
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
        for earlier, later in zip(fires, fires[1:], strict=False):
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
    assert all(a < b for a, b in zip(fires, fires[1:], strict=False))
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


def test_an_hourly_schedule_off_the_hour_moves_only_its_skipped_fire():
    # the documented rule for every frequency: 02:30 does not exist, so it fires at 03:00;
    # 03:30 is an ordinary fire (so this schedule has 24 fires on the spring-forward day)
    hourly = rec(frequency="Hour", start_time="2026-01-01T00:30:00", time_zone="Europe/Berlin")
    fires = _fires_on(hourly, date(2026, 3, 29), BERLIN)
    walls = [local_wall(f, BERLIN).strftime("%H:%M") for f in fires]
    assert walls[:5] == ["00:30", "01:30", "03:00", "03:30", "04:30"]
    assert len(fires) == 24


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
