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
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from cpuload import cpu_times, wait_quiet  # noqa: E402

from tests.harness import Studio, isolated_services  # noqa: E402

STEPS = ROOT / "tests" / "pipelines" / "steps"
TARGET_P95 = 0.050
TERMINAL = {"Completed", "Failed", "Canceled"}


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def tree_ticks(roots: list[int], web: int | None = None) -> dict[str, int]:
    """CPU ticks of our processes (roots and descendants), of the gunicorn tree, of this process
    alone (the load clients) and of the postgres/redis servers."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            comm = text[text.index("(") + 1 : text.rindex(")")]
            rest = text[text.rindex(")") + 2 :].split()
            stats[int(entry)] = (
                int(rest[1]),
                comm,
                sum(int(x) for x in rest[11:15]),
                int(rest[11]) + int(rest[12]),
            )
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_) in stats.items():
        children.setdefault(ppid, []).append(pid)

    def tree(start: list[int]) -> set[int]:
        found, todo = set(), [r for r in start if r in stats]
        while todo:
            pid = todo.pop()
            if pid not in found:
                found.add(pid)
                todo.extend(children.get(pid, []))
        return found

    ours = tree(roots)
    servers = {
        p for p, (_, comm, *_) in stats.items() if comm.startswith(("postgres", "redis-serv"))
    }
    me = os.getpid()
    return {
        "ours": sum(stats[p][2] for p in ours),
        "web": sum(stats[p][2] for p in tree([web])) if web else 0,
        "client": stats[me][3] if me in stats else 0,
        "db": sum(stats[p][2] for p in servers),
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
    import psycopg
    import redis

    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        base, _, name = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if env.get("CELERY_BROKER_URL", "").startswith("redis"):
        redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()


def wait_run(studio: Studio, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = studio.api("GET", f"runs/{run_id}/").json()
        if data["status"] in TERMINAL:
            return data
        time.sleep(0.1)
    raise RuntimeError(f"run {run_id} did not finish: {studio.tail('worker')}")


# --- load ----------------------------------------------------------------------------------


def load(
    url: str,
    token: str,
    clients: int,
    duration: float,
    experiment: str,
    key_every: int,
    method: str = "POST",
    rate: float = 0.0,
):
    """``clients`` threads for ``duration`` seconds. Closed loop by default: each client sends
    its next request as soon as the last one is answered. With ``rate`` > 0, open loop: each
    client sends ``rate`` requests a second at fixed times (a random phase per client), and
    latency counts from the time a request was due, so a late send is counted too."""
    nonce = uuid.uuid4().hex[:8]
    results: list[tuple] = []  # (t_start, latency, status, run id, key, error)
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    state = {"deadline": 0.0}

    def client(i: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        body = json.dumps({"ExperimentName": experiment})
        mine = []
        barrier.wait()
        k = 0
        phase = random.random() / rate if rate > 0 else 0.0
        begin = time.perf_counter()
        while time.perf_counter() < state["deadline"]:
            due = None
            if rate > 0:
                due = begin + phase + k / rate
                if due >= state["deadline"]:
                    break
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            headers = {"Content-Type": "application/json"}
            key = None
            if key_every and k % key_every == key_every - 1:
                key = f"{nonce}-{k // key_every}"
                headers["Idempotency-Key"] = key
            t0 = time.perf_counter() if due is None else due
            try:
                if method == "POST":
                    r = session.post(url, data=body, headers=headers, timeout=60)
                else:
                    r = session.get(url, timeout=60)
                latency = time.perf_counter() - t0
                run_id = r.json().get("Id") if r.status_code == 200 and method == "POST" else None
                mine.append(
                    (t0, latency, r.status_code, run_id, key, None if r.ok else r.text[:300])
                )
            except Exception as exc:  # counted, never fatal
                mine.append((t0, time.perf_counter() - t0, 0, None, key, repr(exc)[:300]))
            k += 1
        session.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    state["deadline"] = time.perf_counter() + duration
    t_begin = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t_begin
    return results, elapsed


def summarize(results, elapsed) -> dict:
    ok = [r for r in results if r[2] == 200]
    lat = [r[1] for r in results]
    statuses = collections.Counter(r[2] for r in results)
    out = {
        "requests": len(results),
        "ok": len(ok),
        "statuses": dict(statuses),
        "elapsed": elapsed,
        "rps": len(results) / elapsed,
        "ok_rps": len(ok) / elapsed,
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "p99": pct(lat, 99),
        "max": max(lat),
        "mean": statistics.fmean(lat),
        "errors": collections.Counter(r[5] for r in results if r[5]).most_common(5),
    }
    unkeyed = [r[1] for r in results if r[4] is None]
    if unkeyed:
        out["unkeyed_p50"], out["unkeyed_p95"] = pct(unkeyed, 50), pct(unkeyed, 95)
    return out


def server_latencies(access_log: Path, offset: int) -> tuple[list[float], int]:
    text = access_log.read_bytes()[offset:].decode(errors="replace")
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "POST" and "/PipelineSubmit/" in parts[1]:
            out.append(int(parts[3]) / 1e6)
    return out, offset + len(text.encode())


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


# --- profiling -----------------------------------------------------------------------------

PHASES = [
    # (label, frames that must all be on the stack); the first rule that matches a sample wins
    ("COMMIT (waiting for the WAL flush)", ["_commit (django/db/backends/base/base.py"]),
    (
        "after commit: advance_run again (2nd transaction)",
        ["dispatch (runs/services.py", "advance_run (runs/services.py"],
    ),
    (
        "after commit: decide_reuse (fingerprint, candidates)",
        ["dispatch (runs/services.py", "decide_reuse (runs/reuse.py"],
    ),
    (
        "after commit: apply_reuse UPDATE",
        ["dispatch (runs/services.py", "apply_reuse (runs/reuse.py"],
    ),
    ("after commit: dispatch, other (load the step)", ["dispatch (runs/services.py"]),
    (
        "submit_run: advance_run (lock run, queue step)",
        ["submit_run (runs/services.py", "advance_run (runs/services.py"],
    ),
    (
        "submit_run: validate_submission (re-validates the published graph)",
        ["validate_submission (runs/services.py"],
    ),
    ("submit_run: PipelineGraph.store (json + sha256 + SELECT)", ["store (pipelines/models.py"]),
    ("submit_run: other (experiment, count, INSERT run + steps)", ["submit_run (runs/services.py"]),
    ("submit_published: other (idempotency lookup)", ["submit_published (pipelines/services.py"]),
    ("auth: token SELECT + UPDATE last_used_at", ["authenticate (studio/auth.py"]),
    ("response: run_entity", ["run_entity (pipelines/api/"]),
    (
        "view: other (load PublishedPipeline, parse body)",
        ["PipelineSubmit.post (pipelines/api/views.py"],
    ),
    ("outside the view (gunicorn, middleware, DRF)", []),
]
DB_WAIT = ("wait (psycopg/connection.py", "_execute_send (psycopg/", "_exec_command (psycopg/")


def parse_collapsed(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        try:
            stacks.append((stack.split(";"), int(count)))
        except ValueError:
            continue
    return stacks


def summarize_profile(files: list[Path], top: int = 30) -> str:
    stacks = [s for f in files if f.exists() for s in parse_collapsed(f)]
    total = sum(c for _, c in stacks)
    if not total:
        return "no samples"
    request = [(s, c) for s, c in stacks if any("handle_request" in fr for fr in s)]
    req_total = sum(c for _, c in request)
    lines = [
        f"samples: {total} (active threads); inside gthread handle_request: {req_total} "
        f"({req_total / total:.0%})",
        "",
        "| phase of the request (first matching rule) | share of in-request samples "
        "| of which waiting on PostgreSQL |",
        "|---|---|---|",
    ]
    phase_n: collections.Counter = collections.Counter()
    phase_db: collections.Counter = collections.Counter()
    for st, c in request:
        for label, needles in PHASES:
            if all(any(n in fr for fr in st) for n in needles):
                phase_n[label] += c
                if any(any(w in fr for w in DB_WAIT) for fr in st):
                    phase_db[label] += c
                break
    for label, _ in PHASES:
        n = phase_n[label]
        lines.append(
            f"| {label} | {n / max(1, req_total):.1%} | {phase_db[label] / max(1, n):.0%} |"
        )
    db_all = sum(phase_db.values())
    lines.append(f"| all | 100% | {db_all / max(1, req_total):.0%} |")
    inclusive: collections.Counter = collections.Counter()
    leaf: collections.Counter = collections.Counter()
    for s, c in request:
        seen = set()
        for fr in s:
            key = (
                fr.split(" (")[0] + " (" + fr.split(" (", 1)[1].split(":")[0] + ")"
                if " (" in fr
                else fr
            )
            if key not in seen:
                inclusive[key] += c
                seen.add(key)
        leaf[s[-1]] += c
    lines += ["", "top inclusive frames (project code and database):", ""]
    shown = 0
    for key, c in inclusive.most_common():
        if any(p in key for p in ("studio/", "pipelines/", "runs/", "psycopg", "django/db")):
            lines.append(f"  {c / max(1, req_total):6.1%}  {key}")
            shown += 1
            if shown >= top:
                break
    lines += ["", "top leaf frames:", ""]
    for key, c in leaf.most_common(15):
        lines.append(f"  {c / max(1, req_total):6.1%}  {key}")
    return "\n".join(lines)


QUERY_COUNT = r"""
import json, statistics, time
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pipelines.models import PublishedPipeline
p = PublishedPipeline.objects.get(id=PIPELINE_ID)
c = Client(HTTP_AUTHORIZATION="Bearer " + TOKEN, HTTP_HOST="127.0.0.1")
url = "/pipelines/v1.0/PipelineRuns/PipelineSubmit/" + str(p.id)
times, counts, per_phase = [], [], None
for i in range(25):
    with CaptureQueriesContext(connection) as q:
        t = time.perf_counter()
        r = c.post(url, data=json.dumps({"ExperimentName": "querycount"}), content_type="application/json")
        times.append(time.perf_counter() - t)
    assert r.status_code == 200, r.content
    counts.append(len(q.captured_queries))
    sql = [x["sql"] for x in q.captured_queries]
print(json.dumps({"queries": counts[-1], "in_process_ms_median": statistics.median(times) * 1000,
                  "sql_ms_sum_last": sum(float(x["time"]) for x in q.captured_queries) * 1000,
                  "sql": sql}))
"""


def query_count(studio: Studio, pipeline_id: str) -> dict:
    code = QUERY_COUNT.replace("PIPELINE_ID", repr(pipeline_id)).replace(
        "TOKEN", repr(studio.token)
    )
    out = studio.manage("shell", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


def profile(studio: LoadStudio, url: str, args, out_dir: Path, gil: bool = False) -> str:
    """py-spy on every gunicorn worker during a load phase. gil=False: every active thread
    (where a request's wall time goes); gil=True: only the thread holding the GIL (Python CPU)."""
    pids = studio.gunicorn_workers()
    mode = "gil" if gil else "wall"
    files = [out_dir / f"pyspy-{mode}-{pid}.txt" for pid in pids]
    spies = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(args.profile_seconds) + 2),
                "-r",
                "250",
                "-f",
                "raw",
                "--nonblocking",
                *(["--gil"] if gil else []),
                "-o",
                str(f),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for pid, f in zip(pids, files, strict=True)
    ]
    try:
        time.sleep(1.0)
        results, elapsed = load(url, studio.token, args.clients, args.profile_seconds, "profile", 0)
        s = summarize(results, elapsed)
        head = (
            f"profiled load ({args.profile_seconds:.0f} s, py-spy at 250 Hz on {len(pids)} workers, "
            f"--nonblocking{' --gil: Python CPU only' if gil else ': all active threads, wall time'}"
            f"): {s['rps']:.1f} req/s, p50 {s['p50'] * 1000:.0f} ms, p95 {s['p95'] * 1000:.0f} ms"
        )
        for spy in spies:
            try:
                spy.wait(timeout=args.profile_seconds + 30)
            except subprocess.TimeoutExpired:
                os.killpg(spy.pid, signal.SIGKILL)
                spy.wait()
    finally:
        for spy in spies:
            if spy.poll() is None:
                os.killpg(spy.pid, signal.SIGKILL)
                spy.wait()
    return head + "\n\n" + summarize_profile(files)


# --- main ----------------------------------------------------------------------------------


def main() -> int:
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
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["CELERY_BROKER_URL"] = args.broker_url
    suffix = pick_suffix(args.broker_url)
    env = isolated_services(suffix)
    for k in ("DATABASE_URL", "CELERY_BROKER_URL"):
        os.environ.pop(k)
    print(f"isolated services: {env}", flush=True)
    data_dir = Path(tempfile.mkdtemp(prefix="studio-bench-load-"))
    studio = LoadStudio(data_dir / "studio", args.workers, args.threads, **env)
    report: dict = {"args": vars(args)}
    try:
        t = time.perf_counter()
        studio.start()
        print(
            f"Studio up at {studio.url} in {time.perf_counter() - t:.1f} s "
            f"(gunicorn gthread --workers {args.workers} --threads {args.threads})",
            flush=True,
        )
        from studio.sdk.pipeline.core import Pipeline
        from studio.sdk.pipeline.steps import PythonScriptStep

        ws = studio.workspace()
        step = PythonScriptStep(
            name="noop", script_name="noop.py", source_directory=str(STEPS), allow_reuse=True
        )
        published = Pipeline(ws, [step]).publish(name="load-noop", description="endpoint load")
        url = published.endpoint
        print(f"published {published.id}: {url}", flush=True)
        headers = {"Authorization": f"Bearer {studio.token}"}
        first = requests.post(url, json={"ExperimentName": "warmup"}, headers=headers, timeout=60)
        first.raise_for_status()
        data = wait_run(studio, first.json()["Id"])
        assert data["status"] == "Completed", data
        # warm every gunicorn worker and check the reuse path
        session = requests.Session()
        session.headers.update(headers)
        for _ in range(4 * args.workers):
            session.post(url, json={"ExperimentName": "warmup"}, timeout=60).raise_for_status()
        second = session.post(url, json={"ExperimentName": "warmup"}, timeout=60).json()
        data = wait_run(studio, second["Id"])
        reused = [s.get("reuse", {}).get("reused") for s in data["steps"]]
        print(f"warm-up run reused at submit: {reused} (status {data['status']})", flush=True)

        # 1. unloaded service time
        lat = []
        for _ in range(args.single):
            t0 = time.perf_counter()
            session.post(url, json={"ExperimentName": "single"}, timeout=60).raise_for_status()
            lat.append(time.perf_counter() - t0)
        session.close()
        report["single"] = {
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

        # 2. load
        if args.quiet > 0:
            idle = wait_quiet(args.quiet, args.quiet_wait)
            print(f"CPU idle before the load: {idle:.0%}", flush=True)
        _, offset = server_latencies(studio.access_log, 0)
        roots = [os.getpid(), *(p.pid for p in studio.procs.values())]
        web = studio.procs["web"].pid
        cpu0, ticks0 = cpu_times(), tree_ticks(roots, web)
        load0 = os.getloadavg()[0]
        results, elapsed = load(
            url, studio.token, args.clients, args.duration, "load", args.key_every, rate=args.rate
        )
        cpu1, ticks1 = cpu_times(), tree_ticks(roots, web)
        total = max(1, cpu1[0] - cpu0[0])
        busy = total - (cpu1[1] - cpu0[1])
        ours = ticks1["ours"] - ticks0["ours"]
        db = ticks1["db"] - ticks0["db"]
        hz = os.sysconf("SC_CLK_TCK")
        s = summarize(results, elapsed)
        s["cpu_ms_per_request"] = {
            k: (ticks1[k] - ticks0[k]) / hz * 1000 / max(1, len(results))
            for k in ("web", "client", "db")
        }
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
        report["load"] = s
        print(json.dumps(s, indent=2, default=str), flush=True)

        # 3. checks
        time.sleep(2.0)
        check = check_runs(env["DATABASE_URL"], results, "load")
        report["check"] = check
        print(json.dumps(check, indent=2, default=str), flush=True)

        # 3b. the floor: the same clients on GET of the same URL (auth + one SELECT + JSON)
        if args.baseline_seconds > 0:
            if args.quiet > 0:
                wait_quiet(args.quiet, min(60.0, args.quiet_wait))
            c0, t0_ = cpu_times(), tree_ticks(roots, web)
            results_b, elapsed_b = load(
                url, studio.token, args.clients, args.baseline_seconds, "", 0, method="GET"
            )
            c1, t1_ = cpu_times(), tree_ticks(roots, web)
            b = summarize(results_b, elapsed_b)
            b["cpu_ms_per_request"] = {
                k: (t1_[k] - t0_[k]) / hz * 1000 / max(1, len(results_b))
                for k in ("web", "client", "db")
            }
            tot = max(1, c1[0] - c0[0])
            b["machine_busy"] = (tot - (c1[1] - c0[1])) / tot
            report["baseline_get"] = b
            print(
                f"\nfloor: GET {url} (describe: token auth + 1 SELECT + JSON), "
                f"{args.clients} clients x {elapsed_b:.1f} s: {b['rps']:.1f} req/s, "
                f"p50 {b['p50'] * 1000:.1f} ms, p95 {b['p95'] * 1000:.1f} ms, "
                f"p99 {b['p99'] * 1000:.1f} ms; statuses {b['statuses']}; CPU ms/request "
                f"{ {k: round(v, 1) for k, v in b['cpu_ms_per_request'].items()} }",
                flush=True,
            )

        # 4. profile
        missed = s["p95"] >= TARGET_P95
        if args.profile == "yes" or (args.profile == "auto" and missed):
            report["queries"] = query_count(studio, str(published.id))
            q = report["queries"]
            print(
                f"\none submit, in-process (Django test client, no load): {q['queries']} SQL "
                f"statements, {q['in_process_ms_median']:.1f} ms median",
                flush=True,
            )
            for i, sql in enumerate(q["sql"], 1):
                print(f"  {i:2d}. {sql[:160]}")
            print("", flush=True)
            report["profile"] = profile(studio, url, args, data_dir)
            print(report["profile"], flush=True)
            report["profile_gil"] = profile(studio, url, args, data_dir, gil=True)
            print("\n" + report["profile_gil"], flush=True)

        ok_all = (
            check["runs_in_db"] == check["runs_expected"]
            and check["runs_in_db_not_answered"] == 0
            and check["answered_not_in_db"] == 0
            and check["keys_with_several_runs_in_db"] == 0
            and check["keys_answered_with_several_runs"] == 0
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
        Path(data_dir / "report.json").write_text(json.dumps(report, indent=2, default=str))
        return 0
    except BaseException:
        for name in ("web", "worker", "scheduler"):
            tail = studio.tail(name, 20)
            if tail:
                print(f"--- {name}.log ---\n{tail}", file=sys.stderr)
        raise
    finally:
        studio.stop()
        drop_services(env)
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
