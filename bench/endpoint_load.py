"""Load on a published pipeline's REST submit endpoint, on the production setup.

Starts a Studio (gunicorn gthread with --workers 4 --threads 8, a Celery worker, the scheduler)
on loopback with PostgreSQL and Redis, in a database and Redis db of its own
(``tests.harness.isolated_services``; dropped/flushed at the end). Publishes a one-step no-op
pipeline (tests/sources/steps/noop.py, allow_reuse=True), completes one run of it so later runs
are reused at submit time, then:

1. unloaded: one client, ``--single`` requests back to back (the service time);
2. load: ``--clients`` threads, each with its own keep-alive ``requests.Session``, POST
   ``{"ExperimentName": "load"}`` to the endpoint for ``--duration`` seconds. Every
   ``--key-every``-th request of each client carries ``Idempotency-Key: <nonce>-<n>`` (n = that
   client's request index // key-every), so every key is sent by all clients at about the same
   moment: concurrent retries of one request;
3. checks in the database that every 200 became exactly one run of experiment ``load`` (one run
   per distinct key, one per unkeyed 200) and that every run ended Completed;
4. with ``--profile`` (default: when p95 misses the target) a second load phase of
   ``--profile-seconds`` with ``py-spy record`` on every gunicorn worker, summarised by where the
   samples fall, plus a count of the SQL statements of one submit (in-process, Django test client).

Latency is measured by the client (perf_counter around ``session.post``) and by gunicorn
(access log ``%(D)s``: from the worker reading the request to the response written; it excludes
time in the listen backlog). Target: p95 < 50 ms.

    .venv/bin/python bench/endpoint_load.py [--clients 50] [--duration 20] [--workers 4]
        [--threads 8] [--profile auto|yes|no] [--database-url URL] [--broker-url URL]

Everything it starts is stopped on exit, errors included.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from common import ROOT, TERMINAL, drop_database, exit_on_sigterm, flush_redis, running
from cpuload import busy_share, cpu_times, proc_stats, process_tree, wait_quiet
from endpoint_clients import load, pct, server_latencies, summarize
from endpoint_profile import profile, query_count

from tests.harness import Studio, isolated_services

STEPS = ROOT / "tests" / "sources" / "steps"
TARGET_P95 = 0.050


def tree_ticks(roots: list[int], web: int | None = None) -> dict[str, int]:
    """CPU ticks of our processes (roots and descendants), of the gunicorn tree, of this process
    alone (the load clients) and of the postgres/redis servers."""
    stats = proc_stats()
    ours = process_tree(stats, roots)
    servers = {p for p, st in stats.items() if st.comm.startswith(("postgres", "redis-serv"))}
    me = os.getpid()
    return {
        "ours": sum(stats[p].total for p in ours),
        "web": sum(stats[p].total for p in process_tree(stats, [web])) if web else 0,
        "client": stats[me].own if me in stats else 0,
        "db": sum(stats[p].total for p in servers),
    }


def cpu_ms_per_request(ticks0: dict, ticks1: dict, requests_sent: int) -> dict[str, float]:
    hz = os.sysconf("SC_CLK_TCK")
    return {
        k: (ticks1[k] - ticks0[k]) / hz * 1000 / max(1, requests_sent)
        for k in ("web", "client", "db")
    }


class LoadStudio(Studio):
    """The tests' Studio with a configurable gunicorn, an access log, and patience on a busy box."""

    def __init__(self, data_dir: Path, workers: int, threads: int, **env):
        super().__init__(data_dir, **env)
        self.workers, self.threads = workers, threads
        self.access_log = Path(data_dir) / "access.log"

    def _spawn(self, name, argv):
        if name == "web":
            argv = list(argv)
            argv[argv.index("--workers") + 1] = str(self.workers)
            argv[argv.index("--threads") + 1] = str(self.threads)
            argv += [
                "--access-logfile",
                str(self.access_log),
                "--access-logformat",
                "%(m)s %(U)s %(s)s %(D)s",
            ]
        return super()._spawn(name, argv)

    def gunicorn_workers(self) -> list[int]:
        master = self.procs["web"].pid
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]


def pick_suffix(broker_base: str) -> str:
    """A suffix whose Redis db (as isolated_services maps it) holds no keys of someone else."""
    import redis

    base = broker_base.rsplit("/", 1)[0]
    for suffix in ["apiload", "apiload2", "apiload3", "apiload4", "apiload5", "apiload6"]:
        db = 1 + sum(map(ord, suffix)) % 14
        if redis.Redis.from_url(f"{base}/{db}").dbsize() == 0:
            return suffix
    raise RuntimeError("no free Redis db among 1-14 for an isolated broker")


def drop_services(env: dict) -> None:
    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        base, _, name = url.rpartition("/")
        drop_database(f"{base}/postgres", name)
    if env.get("CELERY_BROKER_URL", "").startswith("redis"):
        flush_redis(env["CELERY_BROKER_URL"])


def wait_run(studio: Studio, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = studio.api("GET", f"runs/{run_id}/").json()
        if data["status"] in TERMINAL:
            return data
        time.sleep(0.1)
    raise RuntimeError(f"run {run_id} did not finish: {studio.tail('worker')}")


# --- checks in the database ----------------------------------------------------------------


def check_runs(database_url: str, results, experiment: str) -> dict:
    import psycopg

    ok = [r for r in results if r[2] == 200]
    unkeyed_ids = [r[3] for r in ok if r[4] is None]
    by_key: dict[str, set] = collections.defaultdict(set)
    for r in ok:
        if r[4] is not None:
            by_key[r[4]].add(r[3])
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "select r.id, r.idempotency_key, r.status, r.number from runs_run r "
            "join runs_experiment e on e.id = r.experiment_id where e.name = %s",
            (experiment,),
        ).fetchall()
        reused = conn.execute(
            "select count(*) filter (where s.reused_from_id is not null), count(*) "
            "from runs_steprun s join runs_run r on r.id = s.run_id "
            "join runs_experiment e on e.id = r.experiment_id where e.name = %s",
            (experiment,),
        ).fetchone()
    db_ids = {row[0] for row in rows}
    db_by_key: dict[str, set] = collections.defaultdict(set)
    for row in rows:
        if row[1] is not None:
            db_by_key[row[1]].add(row[0])
    numbers = collections.Counter(row[3] for row in rows)
    keys_with_many_responses = {k: ids for k, ids in by_key.items() if len(ids) > 1}
    keys_with_many_runs = {k: ids for k, ids in db_by_key.items() if len(ids) > 1}
    expected = set(unkeyed_ids) | {i for ids in by_key.values() for i in ids}
    return {
        "accepted_unkeyed": len(unkeyed_ids),
        "distinct_unkeyed_ids": len(set(unkeyed_ids)),
        "accepted_keyed": sum(1 for r in ok if r[4] is not None),
        "distinct_keys": len(by_key),
        "keys_answered_with_several_runs": len(keys_with_many_responses),
        "keys_with_several_runs_in_db": len(keys_with_many_runs),
        "extra_runs_from_keys": sum(len(v) - 1 for v in db_by_key.values()),
        "runs_in_db": len(rows),
        "runs_expected": len(unkeyed_ids) + len(by_key),
        "runs_in_db_not_answered": len(db_ids - expected),
        "answered_not_in_db": len(expected - db_ids),
        "statuses": dict(collections.Counter(row[2] for row in rows)),
        "steps_reused": reused[0],
        "steps": reused[1],
        "duplicate_run_numbers": sum(c - 1 for c in numbers.values() if c > 1),
        "example_duplicate_key": next(
            ({"key": k, "runs": sorted(v)} for k, v in keys_with_many_runs.items()), None
        ),
    }


# --- main ----------------------------------------------------------------------------------


@dataclass
class Bench:
    """What the phases of one benchmark share."""

    args: argparse.Namespace
    studio: LoadStudio
    env: dict
    data_dir: Path
    url: str = ""
    pipeline_id: str = ""
    roots: list[int] = field(default_factory=list)
    web: int = 0
    report: dict = field(default_factory=dict)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--single", type=int, default=100, help="unloaded requests (one client)")
    parser.add_argument("--key-every", type=int, default=10)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests a second per client, open loop (default 0: closed loop, each client "
        "sends again as soon as it is answered)",
    )
    parser.add_argument("--profile", choices=["auto", "yes", "no"], default="auto")
    parser.add_argument("--profile-seconds", type=float, default=10.0)
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=10.0,
        help="GET load on the same URL, as a floor (0: skip)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--broker-url", default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.8,
        help="wait for this idle share of the CPUs before the load (0: no wait)",
    )
    parser.add_argument("--quiet-wait", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true", help="keep the data dir (not the DB)")
    return parser.parse_args()


def isolate(args: argparse.Namespace) -> dict:
    """A database and Redis db of this benchmark's own, on the servers of the given URLs."""
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["CELERY_BROKER_URL"] = args.broker_url
    suffix = pick_suffix(args.broker_url)
    env = isolated_services(suffix)
    for k in ("DATABASE_URL", "CELERY_BROKER_URL"):
        os.environ.pop(k)
    print(f"isolated services: {env}", flush=True)
    return env


def publish(bench: Bench) -> requests.Session:
    """Publish the no-op pipeline, complete one run of it and warm every gunicorn worker; the
    warm keep-alive session goes on to the unloaded phase."""
    from studio.sdk.pipeline.core import Pipeline
    from studio.sdk.pipeline.steps import PythonScriptStep

    studio = bench.studio
    ws = studio.workspace()
    step = PythonScriptStep(
        name="noop", script_name="noop.py", source_directory=str(STEPS), allow_reuse=True
    )
    published = Pipeline(ws, [step]).publish(name="load-noop", description="endpoint load")
    bench.url, bench.pipeline_id = published.endpoint, str(published.id)
    url = bench.url
    print(f"published {published.id}: {url}", flush=True)
    headers = {"Authorization": f"Bearer {studio.token}"}
    first = requests.post(url, json={"ExperimentName": "warmup"}, headers=headers, timeout=60)
    first.raise_for_status()
    data = wait_run(studio, first.json()["Id"])
    assert data["status"] == "Completed", data
    # warm every gunicorn worker and check the reuse path
    session = requests.Session()
    session.headers.update(headers)
    for _ in range(4 * bench.args.workers):
        session.post(url, json={"ExperimentName": "warmup"}, timeout=60).raise_for_status()
    second = session.post(url, json={"ExperimentName": "warmup"}, timeout=60).json()
    data = wait_run(studio, second["Id"])
    reused = [s.get("reuse", {}).get("reused") for s in data["steps"]]
    print(f"warm-up run reused at submit: {reused} (status {data['status']})", flush=True)
    return session


def measure_unloaded(bench: Bench, session: requests.Session) -> None:
    """1. one client, requests back to back: the service time."""
    lat = []
    for _ in range(bench.args.single):
        t0 = time.perf_counter()
        session.post(bench.url, json={"ExperimentName": "single"}, timeout=60).raise_for_status()
        lat.append(time.perf_counter() - t0)
    session.close()
    bench.report["single"] = {
        "n": len(lat),
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "p99": pct(lat, 99),
        "rps": len(lat) / sum(lat),
    }
    print(
        f"unloaded (1 client, {len(lat)} requests): p50 {pct(lat, 50) * 1000:.1f} ms, "
        f"p95 {pct(lat, 95) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms",
        flush=True,
    )


def measure_load(bench: Bench) -> tuple[list[tuple], dict, float]:
    """2. --clients clients for --duration seconds; returns (results, summary, elapsed)."""
    args, studio = bench.args, bench.studio
    if args.quiet > 0:
        idle = wait_quiet(args.quiet, args.quiet_wait)
        print(f"CPU idle before the load: {idle:.0%}", flush=True)
    _, offset = server_latencies(studio.access_log, 0)
    bench.roots = [os.getpid(), *(p.pid for p in studio.procs.values())]
    bench.web = studio.procs["web"].pid
    cpu0, ticks0 = cpu_times(), tree_ticks(bench.roots, bench.web)
    load0 = os.getloadavg()[0]
    results, elapsed = load(
        bench.url, studio.token, args.clients, args.duration, "load", args.key_every, rate=args.rate
    )
    cpu1, ticks1 = cpu_times(), tree_ticks(bench.roots, bench.web)
    total = max(1, cpu1[0] - cpu0[0])
    busy = total - (cpu1[1] - cpu0[1])
    ours = ticks1["ours"] - ticks0["ours"]
    db = ticks1["db"] - ticks0["db"]
    s = summarize(results, elapsed)
    s["cpu_ms_per_request"] = cpu_ms_per_request(ticks0, ticks1, len(results))
    srv, _ = server_latencies(studio.access_log, offset)
    s["server_p50"], s["server_p95"], s["server_p99"] = (
        (pct(srv, 50), pct(srv, 95), pct(srv, 99)) if srv else (None, None, None)
    )
    s["cpu"] = {
        "machine_busy": busy / total,
        "studio_and_client": ours / total,
        "postgres_redis": db / total,
        "others": max(0, busy - ours - db) / total,
        "idle_before": idle if args.quiet > 0 else None,
        "loadavg_before": load0,
        "loadavg_after": os.getloadavg()[0],
    }
    bench.report["load"] = s
    print(json.dumps(s, indent=2, default=str), flush=True)
    return results, s, elapsed


def check(bench: Bench, results: list[tuple]) -> dict:
    """3. exactly one run per accepted request, and per idempotency key."""
    time.sleep(2.0)
    found = check_runs(bench.env["DATABASE_URL"], results, "load")
    bench.report["check"] = found
    print(json.dumps(found, indent=2, default=str), flush=True)
    return found


def measure_floor(bench: Bench) -> None:
    """3b. the floor: the same clients on GET of the same URL (auth + one SELECT + JSON)."""
    args, url = bench.args, bench.url
    if args.quiet > 0:
        wait_quiet(args.quiet, min(60.0, args.quiet_wait))
    c0, t0_ = cpu_times(), tree_ticks(bench.roots, bench.web)
    results_b, elapsed_b = load(
        url, bench.studio.token, args.clients, args.baseline_seconds, "", 0, method="GET"
    )
    c1, t1_ = cpu_times(), tree_ticks(bench.roots, bench.web)
    b = summarize(results_b, elapsed_b)
    b["cpu_ms_per_request"] = cpu_ms_per_request(t0_, t1_, len(results_b))
    b["machine_busy"] = busy_share(c0, c1)
    bench.report["baseline_get"] = b
    print(
        f"\nfloor: GET {url} (describe: token auth + 1 SELECT + JSON), "
        f"{args.clients} clients x {elapsed_b:.1f} s: {b['rps']:.1f} req/s, "
        f"p50 {b['p50'] * 1000:.1f} ms, p95 {b['p95'] * 1000:.1f} ms, "
        f"p99 {b['p99'] * 1000:.1f} ms; statuses {b['statuses']}; CPU ms/request "
        f"{ {k: round(v, 1) for k, v in b['cpu_ms_per_request'].items()} }",
        flush=True,
    )


def profile_submit(bench: Bench) -> None:
    """4. the SQL statements of one submit, then py-spy on the workers under load."""
    report, studio = bench.report, bench.studio
    report["queries"] = query_count(studio, bench.pipeline_id)
    q = report["queries"]
    print(
        f"\none submit, in-process (Django test client, no load): {q['queries']} SQL "
        f"statements, {q['in_process_ms_median']:.1f} ms median",
        flush=True,
    )
    for i, sql in enumerate(q["sql"], 1):
        print(f"  {i:2d}. {sql[:160]}")
    print("", flush=True)
    workers = studio.gunicorn_workers()
    report["profile"] = profile(workers, studio.token, bench.url, bench.args, bench.data_dir)
    print(report["profile"], flush=True)
    workers = studio.gunicorn_workers()
    report["profile_gil"] = profile(
        workers, studio.token, bench.url, bench.args, bench.data_dir, gil=True
    )
    print("\n" + report["profile_gil"], flush=True)


def print_summary(args: argparse.Namespace, s: dict, found: dict, elapsed: float) -> None:
    missed = s["p95"] >= TARGET_P95
    ok_all = (
        found["runs_in_db"] == found["runs_expected"]
        and found["runs_in_db_not_answered"] == 0
        and found["answered_not_in_db"] == 0
        and found["keys_with_several_runs_in_db"] == 0
        and found["keys_answered_with_several_runs"] == 0
    )
    print("\n== summary")
    print(
        f"load ({f'open loop, {args.rate:g} req/s per client' if args.rate > 0 else 'closed loop'}): "
        f"{args.clients} clients x {elapsed:.1f} s: {s['requests']} requests "
        f"({s['statuses']}), {s['rps']:.1f} req/s; latency p50 {s['p50'] * 1000:.1f} ms, "
        f"p95 {s['p95'] * 1000:.1f} ms, p99 {s['p99'] * 1000:.1f} ms (server-side p95 "
        f"{(s['server_p95'] or 0) * 1000:.1f} ms)"
    )
    print(f"target p95 < {TARGET_P95 * 1000:.0f} ms: {'MET' if not missed else 'NOT MET'}")
    print(
        f"exactly one run per accepted request (and per idempotency key): "
        f"{'yes' if ok_all else 'NO'}"
    )


def main() -> int:
    args = parse_args()
    exit_on_sigterm()
    env = isolate(args)
    data_dir = Path(tempfile.mkdtemp(prefix="studio-bench-load-"))
    studio = LoadStudio(data_dir / "studio", args.workers, args.threads, **env)
    bench = Bench(args, studio, env, data_dir, report={"args": vars(args)})
    try:
        with running(studio) as took:
            print(
                f"Studio up at {studio.url} in {took:.1f} s "
                f"(gunicorn gthread --workers {args.workers} --threads {args.threads})",
                flush=True,
            )
            measure_unloaded(bench, publish(bench))
            results, s, elapsed = measure_load(bench)
            found = check(bench, results)
            if args.baseline_seconds > 0:
                measure_floor(bench)
            missed = s["p95"] >= TARGET_P95
            if args.profile == "yes" or (args.profile == "auto" and missed):
                profile_submit(bench)
            print_summary(args, s, found, elapsed)
            Path(data_dir / "report.json").write_text(
                json.dumps(bench.report, indent=2, default=str)
            )
            return 0
    finally:
        drop_services(env)
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
