"""What the benchmark scripts beside it share: the project on sys.path, a Studio that is stopped
whatever happens, PostgreSQL and Redis housekeeping, and how a set of timings is printed
(imported by the scripts beside it, as ``from common import ...``)."""

from __future__ import annotations

import contextlib
import signal
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so that the scripts import tests.harness and the project

if TYPE_CHECKING:
    from tests.harness import Studio

TERMINAL = {"Completed", "Failed", "Canceled"}


def exit_on_sigterm() -> None:
    """A SIGTERM unwinds like Ctrl-C, so the finally blocks stop what the script started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def fmt_ms(values: list[float], decimals: int = 0) -> str:
    """Median, min, max and count of durations in seconds, printed in milliseconds."""
    median, low, high = statistics.median(values), min(values), max(values)
    return (
        f"median {median * 1000:.{decimals}f} ms "
        f"(min {low * 1000:.{decimals}f}, max {high * 1000:.{decimals}f}, n={len(values)})"
    )


def print_log_tails(studio: Studio, lines: int) -> None:
    for name in ("web", "worker", "scheduler"):
        tail = studio.tail(name, lines)
        if tail:
            print(f"--- {name}.log ---\n{tail}", file=sys.stderr)


@contextlib.contextmanager
def running(studio: Studio, tail_lines: int = 20) -> Iterator[float]:
    """Start ``studio`` and give the seconds that took; on any error print the end of its logs;
    stop it on the way out, errors included."""
    try:
        started = time.perf_counter()
        studio.start()
        yield time.perf_counter() - started
    except BaseException:
        print_log_tails(studio, tail_lines)
        raise
    finally:
        studio.stop()


def maintenance_url(url: str) -> str:
    """The ``postgres`` database on the server of ``url``."""
    return url.rsplit("/", 1)[0] + "/postgres"


def pg_execute(url: str, sql: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE), on the database of ``url``."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def drop_database(admin_url: str, name: str) -> None:
    pg_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()
