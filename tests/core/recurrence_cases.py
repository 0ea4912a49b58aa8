"""What the recurrence tests share (tests/core/test_recurrence*.py).

Every test runs on a frozen clock: ``anchor``, ``after``, ``since`` and ``now``
are passed in explicitly, so nothing depends on the host's clock or time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from studio.core.recurrence import Recurrence, parse_recurrence

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    """A UTC instant from ``datetime`` fields."""
    return datetime(*args, tzinfo=UTC)


def at(zone: ZoneInfo, *args, fold: int = 0) -> datetime:
    """A wall-clock time in ``zone`` as a UTC instant (fold=1: the second of a repeated time)."""
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)


def rec(**data) -> Recurrence:
    """A parsed recurrence with an interval of 1 unless ``data`` names another."""
    return parse_recurrence({"interval": 1, **data})


def local_wall(fire: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time of ``fire`` in ``zone``."""
    return fire.astimezone(zone).replace(tzinfo=None)
