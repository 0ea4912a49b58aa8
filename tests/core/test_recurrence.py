"""Schedule recurrences: what parse_recurrence accepts and refuses, and time zone names.

Fire times and daylight saving are in test_recurrence_fires.py; catch-up, the last fire
before an instant and the hypothesis properties in test_recurrence_properties.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from studio.core.errors import StudioError
from studio.core.recurrence import FREQUENCIES, next_fire, parse_recurrence, zone_name
from tests.core.recurrence_cases import BERLIN, rec, utc


def refusal(data: dict) -> StudioError:
    with pytest.raises(StudioError) as caught:
        parse_recurrence(data)
    return caught.value


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
        "Invalid value for frequency, only one of Minute, Hour, Day, Week, or Month accepted"
    )


@pytest.mark.parametrize("interval", [0, -1, 1.5, 2.0, True, None, "abc", "", [1]])
def test_it_refuses_an_interval_that_is_not_an_integer_of_at_least_one(interval):
    error = refusal({"frequency": "Day", "interval": interval})
    assert error.field == "interval"
    assert error.message == "Interval must be an integer greater than 0."


def test_it_reads_an_interval_given_as_digits():
    assert rec(frequency="Hour", interval="3").interval == 3


def test_it_caps_the_interval():
    assert rec(frequency="Minute", interval=100_000).interval == 100_000
    error = refusal({"frequency": "Minute", "interval": 100_001})
    assert (error.field, error.message) == ("interval", "Interval must be at most 100000.")


@pytest.mark.parametrize("frequency", ["Minute", "Hour", "Month"])
@pytest.mark.parametrize("key", ["hours", "minutes"])
def test_it_allows_hours_and_minutes_only_with_day_or_week(frequency, key):
    error = refusal({"frequency": frequency, "interval": 1, key: [5]})
    assert error.field == key
    assert error.message == f"Can only specify {key} if frequency is Week or Day."


@pytest.mark.parametrize("frequency", ["Day", "Week"])
def test_it_keeps_hours_and_minutes_sorted_and_without_repeats(frequency):
    parsed = rec(frequency=frequency, hours=[18, 6, 18], minutes=[45, 0, 45])
    assert parsed.hours == (6, 18)
    assert parsed.minutes == (0, 45)


@pytest.mark.parametrize("frequency", ["Minute", "Hour", "Day", "Month"])
def test_it_allows_week_days_only_with_week(frequency):
    error = refusal({"frequency": frequency, "interval": 1, "week_days": ["Monday"]})
    assert error.field == "week_days"
    assert error.message == "Can only specify week days if frequency is Week."


@pytest.mark.parametrize("week_days", [["Mon"], ["monday"], ["Monday", "Funday"], "Monday", [1]])
def test_it_refuses_week_days_that_are_not_day_names(week_days):
    error = refusal({"frequency": "Week", "interval": 1, "week_days": week_days})
    assert error.field == "week_days"
    assert error.message == (
        "Week days must be a list of str, accepted values: Monday, Tuesday, Wednesday, "
        "Thursday, Friday, Saturday, Sunday."
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
    assert error.message == "Cannot specify time_of_day together with hours or minutes."


@pytest.mark.parametrize("text", ["7h30", "07:30:00", "seven", "07:"])
def test_it_refuses_a_time_of_day_that_is_not_hh_mm(text):
    error = refusal({"frequency": "Day", "interval": 1, "time_of_day": text})
    assert (error.field, error.message) == ("time_of_day", "time_of_day must be a string 'hh:mm'.")


def test_it_checks_the_range_of_a_time_of_day():
    error = refusal({"frequency": "Day", "interval": 1, "time_of_day": "24:00"})
    assert (error.field, error.message) == ("hours", "Hours must be between 0 and 23.")
    error = refusal({"frequency": "Day", "interval": 1, "time_of_day": "23:60"})
    assert (error.field, error.message) == ("minutes", "Minutes must be between 0 and 59.")


def test_it_allows_time_of_day_only_with_day_or_week():
    error = refusal({"frequency": "Hour", "interval": 1, "time_of_day": "07:30"})
    assert error.field == "hours"


@pytest.mark.parametrize(
    ("key", "values", "message"),
    [
        ("hours", [24], "Hours must be between 0 and 23."),
        ("hours", [-1], "Hours must be between 0 and 23."),
        ("minutes", [60], "Minutes must be between 0 and 59."),
        ("minutes", [0, -5], "Minutes must be between 0 and 59."),
        ("hours", ["7"], "Hours must be a list of integers."),
        ("hours", [True], "Hours must be a list of integers."),
        ("minutes", [1.5], "Minutes must be a list of integers."),
        ("hours", "7", "Hours must be a list of integers."),
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
    assert error.message == (
        "Cannot specify a timezone-aware start_time: give a naive datetime and set time_zone."
    )


def test_it_refuses_a_start_time_that_is_not_a_date_and_time():
    error = refusal({"frequency": "Day", "interval": 1, "start_time": "next tuesday"})
    assert (error.field, error.message) == (
        "start_time",
        "start_time must be a string 'YYYY-MM-DDThh:mm:ss'.",
    )
    error = refusal({"frequency": "Day", "interval": 1, "start_time": 1_700_000_000})
    assert (error.field, error.message) == (
        "start_time",
        "start_time must be a datetime or a string 'YYYY-MM-DDThh:mm:ss'.",
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
