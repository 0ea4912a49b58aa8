"""One scheduler tick over 10,000 recurrence schedules on PostgreSQL, of which 1% are due.

Creates a fresh PostgreSQL database (dropped at the end), migrates it with
``manage.py migrate`` in a subprocess, then configures Django in this process for it and:

* stores a one-step graph (a Snapshot row for its source) and publishes it with
  ``pipelines.services.publish_graph``;
* bulk-creates ``--schedules`` active recurrence schedules (a mix of Minute/15, Hour, Day at
  hh:mm and Week on weekdays at hh:mm; created ``--age-days`` ago) with their true
  ``next_fire_at``/``last_fire_at``; ``--due`` percent of them (1% = 100) are one fire behind
  (``next_fire_at`` is their last fire time before now, in the past);
* times, with the same ``now`` and the state reset before each repetition:
    - ``record_due_fires(now)``: the tick's decision part (find due schedules, compute their
      fires and next times, insert ScheduleFire rows, update the schedules);
    - ``hand_off_pending()``: mark the pending fires handed and send one ``dispatch_fire``
      task per fire to the broker (the scheduler's last part: workers start the runs);
    - ``dispatch_fire(id)`` for every handed fire, here in this process: the work the workers
      do (submit_run, reuse check, Celery doorbell), timed to show what left the tick; it
      must start exactly one run per fire;
    - an idle ``tick`` (nothing due, nothing pending);
    - ``tick(now)``: record + poll (no data-change schedules here) + hand-off, from the reset
      state: the figure the target is about;
  and reports the median (and min/max) of ``--repeat`` repetitions.

The broker is a Redis db of its own (flushed at the end; ``--broker-url``); nothing consumes
the tasks sent to it (the benchmark dispatches the fires itself).
Target: one scheduler tick under 200 ms.

    .venv/bin/python bench/scheduler_tick.py [--schedules 10000] [--due 1] [--repeat 5]
        [--age-days 7] [--database-url postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ROOT, drop_database, flush_redis, fmt_ms, maintenance_url, pg_execute
from cpuload import busy_share, cpu_times, wait_quiet

TARGET = 0.200
DIGEST = "b" * 64


def free_redis_db(base_url: str) -> str:
    import redis

    base = base_url.rsplit("/", 1)[0]
    for db in (13, 12, 11, 10, 8, 7, 6):
        if redis.Redis.from_url(f"{base}/{db}").dbsize() == 0:
            return f"{base}/{db}"
    raise RuntimeError("no empty Redis db for the benchmark's broker")


RECURRENCES = [
    # (share, recurrence)
    (0.10, {"frequency": "Minute", "interval": 15}),
    (0.40, {"frequency": "Hour", "interval": 1}),
    (0.35, {"frequency": "Day", "interval": 1, "time_of_day": "{h:02d}:{m:02d}"}),
    (
        0.15,
        {
            "frequency": "Week",
            "interval": 1,
            "week_days": ["Monday", "Wednesday", "Friday"],
            "time_of_day": "{h:02d}:{m:02d}",
            "time_zone": "Europe/Berlin",
        },
    ),
]


def recurrence_for(i: int, rng: random.Random) -> dict:
    x = (i * 0.6180339887) % 1.0
    acc = 0.0
    chosen = RECURRENCES[-1][1]
    for share, candidate in RECURRENCES:
        acc += share
        if x < acc:
            chosen = candidate
            break
    rec = dict(chosen)
    if "time_of_day" in rec:
        rec["time_of_day"] = rec["time_of_day"].format(h=rng.randrange(24), m=rng.randrange(60))
    return rec


def setup(args, now: datetime):
    """Published pipeline + schedules; returns (due schedule ids, {id: (next, last)})."""
    from django.contrib.auth.models import User

    from pipelines import services
    from pipelines.models import Schedule
    from runs.models import PipelineGraph
    from runs.services import validate_submission
    from studio.core.recurrence import last_fire_before, next_fire, parse_recurrence
    from studio.workspace.models import Snapshot

    user = User.objects.create(username="bench")
    Snapshot.objects.create(digest=DIGEST, size=1, files=["noop.py"])
    spec = validate_submission(
        {
            "steps": [
                {"node_id": "noop", "name": "noop", "script_name": "noop.py", "snapshot": DIGEST}
            ]
        }
    )
    graph = PipelineGraph.store(spec)
    pipeline = services.publish_graph(graph=graph, name="scheduled-noop", user=user)

    rng = random.Random(42)
    n_due = round(args.schedules * args.due / 100)
    due_idx = set(rng.sample(range(args.schedules), n_due))
    rows = []
    for i in range(args.schedules):
        rec = parse_recurrence(recurrence_for(i, rng))
        created = now - timedelta(days=args.age_days, seconds=rng.randrange(86400))
        if i in due_idx:
            # one fire behind: the latest fire time before now is still to do
            nxt = last_fire_before(rec, created, now)
            last = last_fire_before(rec, created, nxt - timedelta(seconds=1)) if nxt else None
            if nxt is None or nxt <= created:
                raise RuntimeError("schedule too young to be due")
        elif args.exact:
            last = last_fire_before(rec, created, now)
            nxt = next_fire(rec, created, now)
        else:
            # not due: a next time within its period (exact times cost minutes to compute for
            # 10,000 schedules, and the tick never reads these rows beyond the index range scan)
            period = {"Minute": 900, "Hour": 3600, "Day": 86400, "Week": 3 * 86400}[rec.frequency]
            nxt = now + timedelta(seconds=rng.randrange(1, period))
            last = nxt - timedelta(seconds=period)
        rows.append(
            Schedule(
                name=f"schedule-{i:05d}",
                kind="recurrence",
                published_pipeline=pipeline,
                experiment_name=f"scheduled-{i % 50}",
                recurrence=rec.to_dict(),
                next_fire_at=nxt,
                last_fire_at=last,
                created_by=user,
                created_at=created,
                updated_at=created,
            )
        )
    Schedule.objects.bulk_create(rows, batch_size=1000)
    due = list(Schedule.objects.filter(status="Active", kind="recurrence", next_fire_at__lte=now))
    if len(due) != n_due:
        raise RuntimeError(f"{len(due)} schedules due, expected {n_due}")
    saved = {s.id: (s.next_fire_at, s.last_fire_at) for s in due}
    return saved


def reset(saved: dict) -> None:
    """Back to 'nothing recorded, nothing started'."""
    from pipelines.models import Schedule, ScheduleFire
    from runs.models import Experiment, Run, StepRun

    ScheduleFire.objects.all().delete()
    StepRun.objects.all().delete()
    Run.objects.all().delete()
    Experiment.objects.all().delete()
    schedules = list(Schedule.objects.filter(id__in=list(saved)))
    for s in schedules:
        s.next_fire_at, s.last_fire_at = saved[s.id]
    Schedule.objects.bulk_update(schedules, ["next_fire_at", "last_fire_at"])


CPU_LOG: list[tuple[str, float, float, float]] = []  # (what, wall, our CPU, machine busy share)


def timed(fn, *a):
    c0, p0 = cpu_times(), time.process_time()
    t = time.perf_counter()
    value = fn(*a)
    wall = time.perf_counter() - t
    c1, p1 = cpu_times(), time.process_time()
    CPU_LOG.append((fn.__name__, wall, p1 - p0, busy_share(c0, c1)))
    return wall, value


def dispatch_handed() -> int:
    """What the workers do with the handed fires: start each one's run."""
    from pipelines import scheduling
    from pipelines.models import ScheduleFire

    ids = ScheduleFire.objects.filter(status="pending").values_list("id", flat=True)
    return sum(scheduling.dispatch_fire(fire_id) for fire_id in list(ids))


@dataclass
class Timings:
    """Seconds per measured repetition (the warm-up left out)."""

    record: list[float] = field(default_factory=list)
    hand_off: list[float] = field(default_factory=list)
    dispatch: list[float] = field(default_factory=list)
    tick: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--due", type=float, default=1.0, help="percent of schedules due")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--age-days", type=float, default=7.0, help="age of the schedules")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument(
        "--broker-url", default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one record + dispatch")
    parser.add_argument("--exact", action="store_true", help="exact next times for all schedules")
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.7,
        help="before each repetition wait for this idle share of the CPUs",
    )
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    return parser.parse_args()


def migrate_and_configure(name: str, db_url: str, broker: str, data_dir: Path) -> None:
    """Migrate the new database with manage.py, then set Django up in this process for it."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": broker,
        "STUDIO_DATA_DIR": str(data_dir),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    print(f"database {name} migrated in {time.perf_counter() - t:.1f} s; broker {broker}")
    os.environ.update(
        DATABASE_URL=db_url,
        CELERY_BROKER_URL=broker,
        STUDIO_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="studio.settings",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def one_repetition(args: argparse.Namespace, saved: dict, now: datetime, label: str) -> dict:
    """Each part of a tick timed from the reset state, then the whole tick; printed."""
    from pipelines import scheduling
    from runs.models import Run, StepRun

    reset(saved)
    quiet = wait_quiet(args.quiet, args.quiet_wait) if args.quiet > 0 else None
    d_rec, recorded = timed(scheduling.record_due_fires, now)
    d_hand, handed = timed(scheduling.hand_off_pending)
    d_disp, started = timed(dispatch_handed)
    runs = Run.objects.count()
    queued = StepRun.objects.filter(status="Queued").count()
    if not (recorded == handed == started == runs == len(saved)):
        raise RuntimeError(
            f"recorded {recorded}, handed {handed}, started {started}, runs {runs}; "
            f"expected {len(saved)}"
        )
    d_idle, idle = timed(scheduling.tick, now)  # all fired: nothing due, nothing pending
    assert idle == {"recorded": 0, "changes": 0, "handed": 0}, idle
    reset(saved)
    d_tick, result = timed(scheduling.tick, now)
    assert result["recorded"] == result["handed"] == len(saved), result
    print(
        f"{label} (CPU idle before {quiet if quiet is not None else float('nan'):.0%}): "
        f"record_due_fires {d_rec * 1000:.1f} ms ({recorded} fires), "
        f"hand_off_pending {d_hand * 1000:.1f} ms ({handed} tasks), "
        f"full tick {d_tick * 1000:.1f} ms, idle tick {d_idle * 1000:.1f} ms; "
        f"workers' part: dispatch_fire x{started} {d_disp * 1000:.0f} ms "
        f"({queued} steps queued)",
        flush=True,
    )
    return {"record": d_rec, "hand_off": d_hand, "dispatch": d_disp, "tick": d_tick, "idle": d_idle}


def measure(args: argparse.Namespace, saved: dict, now: datetime) -> Timings:
    timings = Timings()
    # one warm-up round (imports, first connection, Celery producer pool), not counted
    for rep in range(args.repeat + 1):
        took = one_repetition(args, saved, now, "warm-up" if rep == 0 else f"#{rep}")
        if rep:
            for part, seconds in took.items():
                getattr(timings, part).append(seconds)
    return timings


def profile(saved: dict, now: datetime) -> None:
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pipelines import scheduling

    reset(saved)
    prof = cProfile.Profile()
    prof.enable()
    scheduling.tick(now)
    prof.disable()
    print("\n--- cProfile of tick (cumulative, top 30) ---")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    reset(saved)
    with CaptureQueriesContext(connection) as q:
        scheduling.tick(now)
    print(f"tick: {len(q.captured_queries)} SQL statements")


def print_summary(args: argparse.Namespace, due: int, t: Timings) -> None:
    print("\n== summary")
    print(
        f"record_due_fires(now) [decision part, {due} of {args.schedules} due]: "
        f"{fmt_ms(t.record, 1)}"
    )
    print(f"hand_off_pending() [{due} dispatch_fire tasks sent]: {fmt_ms(t.hand_off, 1)}")
    print(f"tick(now) [record + poll + hand-off]: {fmt_ms(t.tick, 1)}")
    print(f"idle tick (nothing due): {fmt_ms(t.idle, 1)}")
    print(
        f"workers' part, here in one process: dispatch_fire for {due} fires "
        f"({due} runs started): {fmt_ms(t.dispatch, 1)}"
    )
    tk = statistics.median(t.tick)
    print(f"target tick < {TARGET * 1000:.0f} ms: {'MET' if tk < TARGET else 'NOT MET'}")


def main() -> int:
    args = parse_args()
    name = f"studio_schedtick_{os.getpid()}"
    base = args.database_url.rsplit("/", 1)[0]
    db_url = f"{base}/{name}"
    broker = (
        free_redis_db(args.broker_url) if args.broker_url.startswith("redis") else args.broker_url
    )
    data_dir = Path(tempfile.mkdtemp(prefix="studio-bench-sched-"))
    pg_execute(maintenance_url(args.database_url), f'CREATE DATABASE "{name}"')
    try:
        migrate_and_configure(name, db_url, broker, data_dir)
        from django.db import connection

        now = datetime.now(UTC).replace(microsecond=0)
        t = time.perf_counter()
        saved = setup(args, now)
        print(
            f"{args.schedules} schedules ({len(saved)} due, created ~{args.age_days:g} days ago) "
            f"in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
        timings = measure(args, saved, now)
        if args.profile:
            profile(saved, now)
        print_summary(args, len(saved), timings)
        connection.close()
        return 0
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        drop_database(maintenance_url(args.database_url), name)
        if broker.startswith("redis"):
            flush_redis(broker)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
