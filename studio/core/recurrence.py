"""Schedule recurrences: validation and fire times (plain Python, dateutil.rrule).

Fire times are computed on the wall clock of the schedule's time zone and stored
in UTC. Daylight-saving rule, for every frequency:

* a fire time that falls in a skipped local hour (spring forward) fires at the
  first valid instant after it (02:30 on the change day fires at 03:00);
* a fire time in a repeated local hour (fall back) fires once, at its first
  occurrence.

So a daily 02:30 schedule fires exactly once on both change days, and an hourly
one follows the wall clock (an on-the-hour schedule fires 23 times on the spring-forward day, 24 on the
fall-back day).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule
from dateutil.tz import datetime_ambiguous, datetime_exists
from tzlocal.windows_tz import win_tz

from studio.core.errors import StudioError

UTC = timezone.utc  # datetime.UTC is Python 3.11+; the core also runs in 3.10 environments

FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RRULE_FREQ: dict[str, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    "Minute": rrule.MINUTELY,
    "Hour": rrule.HOURLY,
    "Day": rrule.DAILY,
    "Week": rrule.WEEKLY,
    "Month": rrule.MONTHLY,
}


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


# Windows names as written ("W. Europe Standard Time") and as azureml's TimeZone members ("WEuropeStandardTime").
_WINDOWS = {_squash(name): iana for name, iana in win_tz.items()}


def zone_name(time_zone: str | None) -> str:
    """An IANA zone name for an IANA name or a Windows name as azureml's TimeZone enum uses it."""
    if not time_zone:
        return "UTC"
    try:
        ZoneInfo(time_zone)
        return time_zone
    except (ZoneInfoNotFoundError, ValueError):
        pass
    iana = _WINDOWS.get(_squash(time_zone))
    if iana is None:
        raise StudioError(
            "time_zone",
            f"Unknown time zone {time_zone!r}: use an IANA name (Europe/Berlin) or a Windows name (W. Europe Standard Time).",
        )
    return iana


@dataclass(frozen=True)
class Recurrence:
    frequency: str
    interval: int
    start_time: datetime | None = None  # naive, wall clock of time_zone
    time_zone: str = "UTC"
    hours: tuple[int, ...] = ()
    minutes: tuple[int, ...] = ()
    week_days: tuple[str, ...] = ()
    zone: ZoneInfo = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "zone", ZoneInfo(zone_name(self.time_zone)))

    def to_dict(self) -> dict:
        return {
            "frequency": self.frequency,
            "interval": self.interval,
            "start_time": self.start_time.isoformat(timespec="seconds")
            if self.start_time
            else None,
            "time_zone": self.time_zone,
            "hours": list(self.hours),
            "minutes": list(self.minutes),
            "week_days": list(self.week_days),
        }


def parse_recurrence(data: dict) -> Recurrence:
    """Check a recurrence with azureml's rules, in azureml's words where it has them (the SDK's
    ScheduleRecurrence, the API and the schedule form all check it here); StudioError names the
    field."""
    frequency = data.get("frequency")
    if frequency not in FREQUENCIES:
        raise StudioError(
            "frequency",
            "Invalid value for frequency, only one of Minute, Hour, Day, Week, or Month accepted",
        )
    interval = data.get("interval")
    if isinstance(interval, str) and interval.strip().isdigit():
        interval = int(interval)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise StudioError("interval", "Interval must be an integer greater than 0.")
    if interval > 100_000:
        raise StudioError("interval", "Interval must be at most 100000.")
    hours, minutes = _hours_and_minutes(data, frequency)
    week_days = data.get("week_days") or []
    if week_days:
        if frequency != "Week":
            raise StudioError("week_days", "Can only specify week days if frequency is Week.")
        if not isinstance(week_days, (list, tuple)) or any(d not in WEEK_DAYS for d in week_days):
            raise StudioError(
                "week_days",
                f"Week days must be a list of str, accepted values: {', '.join(WEEK_DAYS)}.",
            )
    start = _start_time(data.get("start_time"))
    time_zone = data.get("time_zone") or "UTC"
    zone_name(time_zone)
    return Recurrence(
        frequency=frequency,
        interval=interval,
        start_time=start.replace(microsecond=0) if start else None,
        time_zone=time_zone,
        hours=tuple(sorted(set(hours))),
        minutes=tuple(sorted(set(minutes))),
        week_days=tuple(d for d in WEEK_DAYS if d in week_days),
    )


def _hours_and_minutes(data: dict, frequency: str) -> tuple[list[int], list[int]]:
    time_of_day = data.get("time_of_day")
    hours = data.get("hours") or []
    minutes = data.get("minutes") or []
    if time_of_day:
        if hours or minutes:
            raise StudioError(
                "time_of_day", "Cannot specify time_of_day together with hours or minutes."
            )
        try:
            h, m = (int(x) for x in str(time_of_day).split(":"))
        except ValueError:
            raise StudioError("time_of_day", "time_of_day must be a string 'hh:mm'.") from None
        hours, minutes = [h], [m]
    for name, values, top in (("hours", hours, 23), ("minutes", minutes, 59)):
        if values and frequency not in ("Day", "Week"):
            raise StudioError(name, f"Can only specify {name} if frequency is Week or Day.")
        if not isinstance(values, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        ):
            raise StudioError(name, f"{name.capitalize()} must be a list of integers.")
        if any(not 0 <= v <= top for v in values):
            raise StudioError(name, f"{name.capitalize()} must be between 0 and {top}.")
    return list(hours), list(minutes)


def _start_time(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise StudioError(
                "start_time", "start_time must be a string 'YYYY-MM-DDThh:mm:ss'."
            ) from None
    if not isinstance(value, datetime):
        raise StudioError(
            "start_time", "start_time must be a datetime or a string 'YYYY-MM-DDThh:mm:ss'."
        )
    if value.tzinfo is not None:
        raise StudioError(
            "start_time",
            "Cannot specify a timezone-aware start_time: give a naive datetime and set time_zone.",
        )
    return value


_STEP = {
    "Minute": timedelta(minutes=1),
    "Hour": timedelta(hours=1),
    "Day": timedelta(days=1),
    "Week": timedelta(weeks=1),
}


def _rule_near(rec: Recurrence, anchor: datetime, around_local: datetime) -> rrule.rrule:
    """The recurrence's rule, started a whole number of periods after its start, at the last
    period start before ``around_local``, so that a schedule created long ago is not walked
    from its very first occurrence.

    Every period (interval x minute, hour, day or week on the wall clock) repeats the same
    pattern, so a start moved by whole periods yields the same occurrences from there on. A
    day or week may have occurrences before the start's time of day or week day, which rrule
    drops; the start goes back one period more, so that the whole day or week holding the
    last period start is there for :func:`last_fire_before`. Months differ in length and are
    walked from the start.
    """
    start = _start_local(rec, anchor)
    step = _STEP.get(rec.frequency)
    if step is not None and around_local > start:
        period = step * rec.interval
        periods = (around_local - start) // period
        if rec.frequency in ("Day", "Week"):
            periods -= 1
        if periods > 0:
            start = start + periods * period
    return _rule(rec, start)


def _rule(rec: Recurrence, anchor_local: datetime) -> rrule.rrule:
    kwargs: dict[str, Any] = {"interval": rec.interval, "dtstart": anchor_local}
    if rec.frequency in ("Day", "Week"):
        if rec.hours or rec.minutes:
            kwargs["byhour"] = rec.hours or (anchor_local.hour,)
            kwargs["byminute"] = rec.minutes or (0,)
            kwargs["bysecond"] = (0,)
        if rec.week_days:
            kwargs["byweekday"] = [WEEK_DAYS.index(d) for d in rec.week_days]
    return rrule.rrule(_RRULE_FREQ[rec.frequency], **kwargs)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time to UTC by the documented rule (skipped → first valid instant after; repeated → first)."""
    aware = local.replace(tzinfo=zone, fold=0)
    if not datetime_exists(aware):
        probe = local
        while not datetime_exists(probe.replace(tzinfo=zone)):
            probe = (probe + timedelta(minutes=1)).replace(second=0)
        aware = probe.replace(tzinfo=zone, fold=0)
    elif datetime_ambiguous(aware):
        aware = aware.replace(fold=0)
    return aware.astimezone(UTC)


def fire_times(rec: Recurrence, anchor: datetime, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times (UTC) strictly after ``after`` (UTC).

    ``anchor`` (UTC) is when the schedule was created; it is the first possible
    fire when there is no start time.
    """
    after_local = after.astimezone(rec.zone).replace(tzinfo=None) - timedelta(hours=3)  # DST slack
    rule = _rule_near(rec, anchor, after_local)
    out: list[datetime] = []
    last = None
    for local in rule.xafter(after_local, inc=True):
        fire = to_utc(local, rec.zone)
        if fire <= after or (last is not None and fire <= last):
            continue
        out.append(fire)
        last = fire
        if len(out) >= count:
            break
    return out


@dataclass(frozen=True)
class PreviewFire:
    utc: datetime
    local: datetime
    note: str = ""  # how a daylight-saving change affected this fire


def preview_fires(
    rec: Recurrence, anchor: datetime, after: datetime, count: int = 10
) -> list[PreviewFire]:
    """Like :func:`fire_times`, with a note on fires that a daylight-saving change moved or merged."""
    after_local = after.astimezone(rec.zone).replace(tzinfo=None) - timedelta(hours=3)
    rule = _rule_near(rec, anchor, after_local)
    out: list[PreviewFire] = []
    for local in rule.xafter(after_local, inc=True):
        fire = to_utc(local, rec.zone)
        if fire <= after or (out and fire <= out[-1].utc):
            continue
        kind = is_transition(local, rec.zone)
        note = ""
        if kind == "skipped":
            note = f"{local:%H:%M} does not exist that day (clocks go forward): fires at {fire.astimezone(rec.zone):%H:%M}"
        elif kind == "repeated":
            note = (
                f"{local:%H:%M} happens twice that day (clocks go back): fires once, the first time"
            )
        out.append(PreviewFire(utc=fire, local=fire.astimezone(rec.zone), note=note))
        if len(out) >= count:
            break
    return out


def next_fire(rec: Recurrence, anchor: datetime, after: datetime) -> datetime | None:
    found = fire_times(rec, anchor, after, 1)
    return found[0] if found else None


def first_fire(rec: Recurrence, created: datetime) -> datetime | None:
    """The first fire of a schedule created at ``created`` (UTC).

    Without a start time: the next computed time strictly after the creation (the recurrence
    is anchored on the creation's minute, so a schedule created at 04:19:00.04 fires first the
    next day at 04:19, not at once). With one: its first occurrence, a second's grace
    included, so that a start time of "now" fires now.
    """
    after = created - timedelta(seconds=1) if rec.start_time is not None else created
    return next_fire(rec, created, after)


def due_fires(
    rec: Recurrence,
    anchor: datetime,
    since: datetime,
    now: datetime,
    policy: str = "latest",
    grace: timedelta = timedelta(minutes=2),
) -> list[datetime]:
    """Fire times in (since, now] to start runs for, by the missed-fire policy.

    ``latest``: one run for the latest fire time that is due, never one per miss.
    ``skip``: only a fire time less than ``grace`` old; older misses are skipped.
    """
    if since >= now:
        return []
    latest = last_fire_before(rec, anchor, now)
    if latest is None or latest <= since:
        return []
    if policy == "skip" and now - latest > grace:
        return []
    return [latest]


def _start_local(rec: Recurrence, anchor: datetime) -> datetime:
    if rec.start_time is not None:
        return rec.start_time
    return anchor.astimezone(rec.zone).replace(tzinfo=None, second=0, microsecond=0)


def last_fire_before(rec: Recurrence, anchor: datetime, now: datetime) -> datetime | None:
    """The latest fire time (UTC) at or before ``now``, without walking every earlier one."""
    now_local = now.astimezone(rec.zone).replace(tzinfo=None)
    low = now_local - timedelta(hours=6)  # wide enough for any daylight-saving shift
    rule = _rule_near(rec, anchor, low)
    fires = [
        to_utc(local, rec.zone)
        for local in rule.between(low, now_local + timedelta(hours=3), inc=True)
    ]
    due = [fire for fire in fires if fire <= now]
    if due:
        return max(due)
    earlier = rule.before(low, inc=True)
    return to_utc(earlier, rec.zone) if earlier is not None else None


def is_transition(local: datetime, zone: ZoneInfo) -> str | None:
    """'skipped' or 'repeated' when a wall-clock time falls in a daylight-saving change."""
    aware = local.replace(tzinfo=zone)
    if not datetime_exists(aware):
        return "skipped"
    if datetime_ambiguous(aware):
        return "repeated"
    return None
