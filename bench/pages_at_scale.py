"""The pages at scale: runs list, run page, compare page and step logs over 100,000 runs.

For each backend this script prepares a database of its own, fills it with
``manage.py generate_runs`` (N finished runs x 10 steps, plus one 200-step run) and, in a
subprocess whose environment selects that database (so Django's settings are right),
measures the SERVER time of the pages in-process with ``django.test.Client`` and a logged-in
superuser (``time.perf_counter`` around each request, after warm-up requests; no network,
no browser), and the number of SQL queries per request (``CaptureQueriesContext``, on a
separate request so capturing does not weigh on the timings).

Then it writes a 1 GB step log at ``storage.step_log_path`` of a real step of the 200-step
run and measures opening it at its tail (the run page with that step selected, and
``storage.read_log(step, offset=-65536)``), searching it with ``runs.logsearch.search``
(time to first match, total time, peak RSS) and through ``GET /runs/<id>/search/?q=``
(consuming the StreamingHttpResponse). The log is deleted afterwards.

    .venv/bin/python bench/pages_at_scale.py [--backend sqlite|postgres|both] [--runs 100000]

sqlite: a temporary STUDIO_DATA_DIR (studio.sqlite3 in it). postgres: a database
``bench_pages`` created on postgres://postgres@127.0.0.1:5432 (DROP ... WITH (FORCE), CREATE;
dropped at the end), with a temporary STUDIO_DATA_DIR for the datastore (logs). After
generating, PostgreSQL gets ``VACUUM ANALYZE`` (what autovacuum does shortly after such an
insert); SQLite gets nothing (Studio never runs ANALYZE / PRAGMA optimize).

The machine may be shared: the pages are requested round robin, a round during which other
processes kept more than --max-other-load CPUs busy is done again (until --deadline seconds),
CPU time per request is reported next to wall time, and --nice -10 (root) runs the measuring
process and its PostgreSQL backend at a higher priority.

Results: bench/RESULTS-pages.md (and the raw numbers in bench/RESULTS-pages.json);
``--from-json bench/RESULTS-pages.json`` rewrites the report from the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpuload import cpu_times, wait_quiet

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "bench_pages"
PAGE_TARGET_MS = 150.0
TAIL_TARGET_MS = 100.0
COLD_REPEATS = 10
NEEDLE = "needle-7f3a9c-quux"  # the rare string searched for
LINE = 100  # bytes per log line


# --------------------------------------------------------------------------------------------
# Orchestration (parent process): databases, generation, one measuring subprocess per backend
# --------------------------------------------------------------------------------------------


def _manage(env: dict, *args: str, quiet: bool = True) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def _pg_url(db: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db


def prepare(backend: str, runs: int) -> tuple[dict, dict, Path]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-pages-{backend}-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(STUDIO_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="studio.settings")
    info: dict = {"data_dir": str(data_dir)}
    if backend == "postgres":
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = _pg_url(PG_DB).replace("postgresql://", "postgres://", 1)
    t = time.perf_counter()
    _manage(env, "migrate", "--noinput")
    info["migrate_s"] = time.perf_counter() - t
    _manage(
        {**env, "DJANGO_SUPERUSER_PASSWORD": "bench-password-123"},
        "createsuperuser",
        "--noinput",
        "--username",
        "bench",
        "--email",
        "bench@example.com",
    )
    print(f"[{backend}] generating {runs} runs ...", flush=True)
    t = time.perf_counter()
    _manage(env, "generate_runs", "--runs", str(runs))
    info["generate_s"] = time.perf_counter() - t
    print(f"[{backend}] generated in {info['generate_s']:.1f} s", flush=True)
    if backend == "postgres":
        import psycopg

        t = time.perf_counter()
        with psycopg.connect(_pg_url(PG_DB), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            info["db_bytes"] = conn.execute(
                "SELECT pg_database_size(current_database())"
            ).fetchone()[0]
        info["analyze_s"] = time.perf_counter() - t
    else:
        info["db_bytes"] = sum(
            p.stat().st_size for p in data_dir.glob("studio.sqlite3*") if p.is_file()
        )
    return env, info, data_dir


def cleanup(backend: str, data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
    if backend == "postgres":
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def _sh(cmd: str) -> str:
    try:
        return subprocess.run(
            cmd, shell=True, capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"


def machine() -> dict:
    import sqlite3

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL) as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # noqa: BLE001
        pg = f"unavailable ({exc.__class__.__name__})"
    return {
        "nproc": _sh("nproc"),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgres": pg,
        "django": _sh(f"{PYTHON} -c 'import django; print(django.get_version())'"),
        "date": _sh("date -u"),
        "commit": _sh(f"git -C {ROOT} rev-parse --short HEAD"),
        "uncommitted": _sh(
            f"git -C {ROOT} status --porcelain -- runs studio pipelines templates | wc -l"
        ),
        "kernel": _sh("uname -sr"),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


# --------------------------------------------------------------------------------------------
# Measurement (child process, Django set up for one backend)
# --------------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _explain(raw: tuple[str, object]) -> str:
    """The plan of a query as the application ran it: same SQL, same bound parameters (on
    SQLite a literal in place of a parameter can get another plan)."""
    from django.db import connection

    sql, params = raw
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    with connection.cursor() as cur:
        cur.execute(prefix + sql, params)
        rows = cur.fetchall()
    if connection.vendor == "sqlite":
        return "\n".join(str(r[-1]) for r in rows)
    return "\n".join(r[0] for r in rows)


class _SqlTimer:
    """Per-query wall time (perf_counter) through ``connection.execute_wrapper``."""

    def __init__(self):
        self.ms: list[float] = []
        self.statements: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms.append((time.perf_counter() - t) * 1000)
            self.statements.append((sql, params))


def _capture(client, url: str) -> tuple[list[dict], bytes]:
    """One request with its SQL captured: each query's text and time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timer = _SqlTimer()
    with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timer):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    queries = [
        {"sql": q["sql"], "ms": ms, "raw": raw}
        for q, ms, raw in zip(ctx.captured_queries, timer.ms, timer.statements, strict=False)
    ]
    return queries, response.content


# The machine may be shared (other test suites, browsers): a round of requests during which
# other processes kept more than QUIET.max_other CPUs busy is measured again (up to a deadline).
QUIET = argparse.Namespace(max_other=0.5, idle=0.8, wait=60.0, deadline=300.0)


def _proc_ticks(pid: int | str) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


class _OtherLoad:
    """CPUs kept busy by processes other than this one and its database backend."""

    def __init__(self):
        from django.db import connection

        self.ncpu = os.cpu_count() or 1
        self.backend_pid = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                self.backend_pid = cur.fetchone()[0]

    def __enter__(self):
        self.sys0 = cpu_times()
        self.own0 = _proc_ticks("self") + (_proc_ticks(self.backend_pid) if self.backend_pid else 0)
        return self

    def __exit__(self, *exc):
        total1, idle1 = cpu_times()
        own1 = _proc_ticks("self") + (_proc_ticks(self.backend_pid) if self.backend_pid else 0)
        total, idle = total1 - self.sys0[0], idle1 - self.sys0[1]
        per_cpu = max(1, total) / self.ncpu
        self.others = max(0.0, ((total - idle) - (own1 - self.own0)) / per_cpu)
        return False


def _measure_pages(client, pages: list[tuple[str, str]], n: int, warmup: int = 3) -> list[dict]:
    """Round robin over the pages (so a burst of load on a shared machine hits them all alike):
    warm-up requests, one request with its queries captured, then ``n`` timed rounds. A round
    during which other processes used more than QUIET.max_other CPUs is done again (it is
    kept in the "all rounds" numbers), until ``n`` quiet rounds or QUIET.deadline seconds."""
    for _ in range(warmup):
        for _, url in pages:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
    captured = {url: _capture(client, url) for _, url in pages}
    wall: dict[str, list[float]] = {url: [] for _, url in pages}
    cpu: dict[str, list[float]] = {url: [] for _, url in pages}
    wall_all: dict[str, list[float]] = {url: [] for _, url in pages}
    idle_before = wait_quiet(QUIET.idle, QUIET.wait, sample=0.5)
    load = _OtherLoad()
    deadline = time.monotonic() + QUIET.deadline
    rounds = noisy = 0
    others, kept = [], []
    while rounds < n:
        got = {}
        with load:
            for _, url in pages:
                c, t = time.process_time(), time.perf_counter()
                response = client.get(url)
                got[url] = ((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)
                assert response.status_code == 200
        others.append(load.others)
        for url, (w, _) in got.items():
            wall_all[url].append(w)
        if load.others > QUIET.max_other and time.monotonic() < deadline:
            noisy += 1
            if noisy % 20 == 0:
                time.sleep(2)
            continue
        rounds += 1
        kept.append(load.others)
        for url, (w, c) in got.items():
            wall[url].append(w)
            cpu[url].append(c)
    quiet_info = {
        "idle_before": idle_before,
        "rounds_redone": noisy,
        "others_cpus_median": statistics.median(others),
        "others_cpus_kept_max": max(kept),
    }
    results = []
    for name, url in pages:
        queries, content = captured[url]
        times = wall[url]
        slowest = max(queries, key=lambda q: q["ms"]) if queries else None
        result = {
            "name": name,
            "url": url,
            "n": n,
            "p50_ms": _pct(times, 0.5),
            "p95_ms": _pct(times, 0.95),
            "max_ms": max(times),
            "mean_ms": statistics.fmean(times),
            "cpu_p50_ms": _pct(cpu[url], 0.5),
            "cpu_p95_ms": _pct(cpu[url], 0.95),
            "queries": len(queries),
            "sql_ms": sum(q["ms"] for q in queries),
            "bytes": len(content),
            "all_p95_ms": _pct(wall_all[url], 0.95),
            "all_rounds": len(wall_all[url]),
            "quiet": quiet_info,
            "all_sql": [{"sql": q["sql"], "ms": q["ms"]} for q in queries],
            "slowest_sql": dict(slowest) if slowest else None,
        }
        print(
            f"  {name:<36} p50 {result['p50_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms  "
            f"(CPU p50 {result['cpu_p50_ms']:6.1f})  {result['queries']:>3} queries "
            f"({result['sql_ms']:.1f} ms SQL, slowest {slowest['ms'] if slowest else 0:.1f}); "
            f"{noisy} noisy rounds redone, all-rounds p95 {result['all_p95_ms']:.1f}",
            flush=True,
        )
        results.append(result)
    return results


def _next_url(content: bytes) -> str | None:
    html = content.decode()
    match = re.search(r'href="([^"]*)" rel="next"', html)
    return "/runs/" + match.group(1).replace("&amp;", "&") if match else None


def _rss_now_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak RSS (VmHWM)
        return True
    except OSError:
        return False


def _drop_from_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def write_log(path: Path, size: int) -> dict:
    """~size bytes of 100-byte lines, 1 in 500 an ERROR line, NEEDLE on 3 lines (10%, 50%, end)."""
    lines_per_block = 10_000
    lines = []
    for i in range(lines_per_block):
        if i % 500 == 250:
            body = f"ERROR worker-3 batch {i:05d} failed: CUDA out of memory (tried 2.00 GiB)"
        else:
            body = (
                f"INFO  epoch {i % 97:03d} batch {i:05d} loss=0.{(i * 7919) % 1000000:06d} "
                f"lr=0.001 samples/s={(i * 31) % 9000 + 1000}"
            )
        stamp = f"2024-05-01T12:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000000:06d}Z "
        line = (stamp + body)[: LINE - 1].ljust(LINE - 1) + "\n"
        lines.append(line.encode())
    block = b"".join(lines)
    blocks = max(1, size // len(block))
    needle_line = (
        f"2024-05-01T13:00:00.000000Z WARN  checkpoint {NEEDLE} written"[: LINE - 1].ljust(LINE - 1)
        + "\n"
    ).encode()
    needle_blocks = {blocks // 10, blocks // 2, blocks - 1}
    patched = block[: 5000 * LINE] + needle_line + block[5001 * LINE :]
    path.parent.mkdir(parents=True, exist_ok=True)
    offsets = []
    t = time.perf_counter()
    with open(path, "wb", buffering=0) as fh:
        for b in range(blocks):
            if b in needle_blocks:
                offsets.append(b * len(block) + 5000 * LINE)
                fh.write(patched)
            else:
                fh.write(block)
        os.fsync(fh.fileno())
    took = time.perf_counter() - t
    return {
        "bytes": blocks * len(block),
        "lines": blocks * lines_per_block,
        "write_s": took,
        "needle_offsets": offsets,
        "needle_lines": [o // LINE + 1 for o in offsets],
    }


def _search_once(logs, query: str) -> dict:
    import resource

    from runs import logsearch

    reset = _reset_peak_rss()
    rss_before = _rss_now_kb()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    first = None
    matches = []
    for match in logsearch.search(logs, query):
        if first is None:
            first = time.perf_counter() - t
        matches.append((match.line, match.offset))
    total = time.perf_counter() - t
    return {
        "first_match_s": first,
        "total_s": total,
        "matches": len(matches),
        "match_lines": [m[0] for m in matches],
        "rss_before_mb": rss_before / 1024,
        "peak_rss_during_mb": _hwm_kb() / 1024 if reset else None,
        "ru_maxrss_before_mb": maxrss_before / 1024,
        "ru_maxrss_after_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _renice_db_backend(increment: int) -> int | None:
    """With --nice, the PostgreSQL backend serving this process's connection (a process of its
    own, ended with the connection) gets the same increment: the server under test is both."""
    from django.db import connection

    if not increment or connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, pid) + increment)
    except OSError:
        return None
    return pid


def measure(backend: str, n: int, log_bytes: int, out: Path, nice: int = 0) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from runs.models import Run, StepRun
    from studio.workspace import storage

    results: dict = {"backend": backend, "vendor": connection.vendor, "pages": [], "logs": {}}
    user = get_user_model().objects.get(username="bench")
    # SERVER_NAME: ALLOWED_HOSTS has no "testserver"; setup_test_environment() is not called
    # because its instrumented template rendering would add overhead to every render.
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    results["db_backend_reniced"] = _renice_db_backend(nice)
    results["runs"] = Run.objects.count()
    results["steps"] = StepRun.objects.count()
    big = Run.objects.get(description="200 steps")
    pages = results["pages"]

    print(f"[{backend}] {results['runs']} runs, {results['steps']} step runs", flush=True)
    url, hops = "/runs/", 0
    for _ in range(20):  # follow the "Next page" links
        nxt = _next_url(client.get(url).content)
        if not nxt:
            break
        url, hops = nxt, hops + 1
    duration_page_2 = _next_url(client.get("/runs/?sort=-duration").content)
    five = list(
        Run.objects.exclude(pk=big.pk).order_by("-created_at").values_list("id", flat=True)[:5]
    )
    pages += _measure_pages(
        client,
        [
            ("runs list, first page", "/runs/"),
            ("runs list, ?status=Failed", "/runs/?status=Failed"),
            (f"runs list, keyset page {hops + 1} (next x{hops})", url),
            ("runs list, ?sort=-duration", "/runs/?sort=-duration"),
            ("runs list, ?sort=-duration, page 2", duration_page_2),
            ("runs list, ?metric=accuracy", "/runs/?metric=accuracy"),
            ("run page, 200 steps, tab=logs", f"/runs/{big.id}/?tab=logs"),
            ("run page, 200 steps, tab=metrics", f"/runs/{big.id}/?tab=metrics"),
            ("compare, 5 runs", "/compare/?" + "&".join(f"runs={i}" for i in five)),
        ],
        n,
    )
    for p in pages:
        p["target_ms"] = PAGE_TARGET_MS
        p["met"] = p["p95_ms"] < PAGE_TARGET_MS
        if p["slowest_sql"]:
            try:
                p["slowest_sql"]["plan"] = _explain(p["slowest_sql"].pop("raw"))
            except Exception as exc:  # noqa: BLE001
                p["slowest_sql"]["plan"] = f"(EXPLAIN failed: {exc})"

    # ---- logs -------------------------------------------------------------------------------
    if log_bytes:
        logs = results["logs"]
        step = big.steps.order_by("position").first()
        path = storage.step_log_path(step.log_step_id)
        try:
            print(f"[{backend}] writing a {log_bytes / 2**30:.2f} GiB log ...", flush=True)
            logs["file"] = write_log(path, log_bytes)
            logs["file"]["path"] = str(path)
            logs["step_id"] = step.id
            print(
                f"  wrote {logs['file']['bytes'] / 2**30:.2f} GiB in "
                f"{logs['file']['write_s']:.1f} s",
                flush=True,
            )
            # Opening at the tail, cold (the log evicted from the page cache), then warm.
            # Cold: COLD_REPEATS times, the log evicted before each (one sample on a shared
            # machine says little); the median is judged, the worst is shown.
            cold = []
            for _ in range(COLD_REPEATS):
                _drop_from_page_cache(path)
                t = time.perf_counter()
                data, next_offset = storage.read_log(step.id, offset=-65536)
                cold.append((time.perf_counter() - t) * 1000)
                assert len(data) == 65536 and next_offset == path.stat().st_size
            logs["read_log_cold_ms"] = statistics.median(cold)
            logs["read_log_cold_max_ms"] = max(cold)
            times = []
            for _ in range(n):
                t = time.perf_counter()
                storage.read_log(step.id, offset=-65536)
                times.append((time.perf_counter() - t) * 1000)
            with CaptureQueriesContext(connection) as ctx:
                storage.read_log(step.id, offset=-65536)
            logs["read_log"] = {
                "p50_ms": _pct(times, 0.5),
                "p95_ms": _pct(times, 0.95),
                "queries": len(ctx.captured_queries),
                "met": _pct(times, 0.95) < TAIL_TARGET_MS
                and logs["read_log_cold_ms"] < TAIL_TARGET_MS,
            }
            print(
                f"  read_log(-65536): cold median {logs['read_log_cold_ms']:.2f} ms "
                f"(max {logs['read_log_cold_max_ms']:.2f}), "
                f"warm p50 {logs['read_log']['p50_ms']:.2f} ms p95 "
                f"{logs['read_log']['p95_ms']:.2f} ms",
                flush=True,
            )
            step_url = f"/runs/{big.id}/?step={step.id}&tab=logs"
            cold, cold_cpu = [], []
            for _ in range(COLD_REPEATS):
                _drop_from_page_cache(path)
                c, t = time.process_time(), time.perf_counter()
                response = client.get(step_url)
                cold.append((time.perf_counter() - t) * 1000)
                cold_cpu.append((time.process_time() - c) * 1000)
                assert response.status_code == 200
                assert b"Showing part of the log" in response.content
            logs["run_page_cold_ms"] = statistics.median(cold)
            logs["run_page_cold_max_ms"] = max(cold)
            logs["run_page_cold_cpu_ms"] = statistics.median(cold_cpu)
            (page,) = _measure_pages(client, [("run page, 1 GB log selected (tail)", step_url)], n)
            page["target_ms"] = TAIL_TARGET_MS
            page["met"] = (
                page["p95_ms"] < TAIL_TARGET_MS and logs["run_page_cold_ms"] < TAIL_TARGET_MS
            )
            if page["slowest_sql"]:
                page["slowest_sql"]["plan"] = _explain(page["slowest_sql"].pop("raw"))
            logs["run_page"] = page
            print(
                f"  run page with the log, cold: median {logs['run_page_cold_ms']:.1f} ms, "
                f"max {logs['run_page_cold_max_ms']:.1f} ms",
                flush=True,
            )

            # Search: runs.logsearch.search directly (cold, then warm), then the HTTP view.
            search_logs = [(step.id, step.name, path)]
            _drop_from_page_cache(path)
            logs["search_cold"] = _search_once(search_logs, NEEDLE)
            logs["search_warm"] = _search_once(search_logs, NEEDLE)
            for key in ("search_cold", "search_warm"):
                s = logs[key]
                print(
                    f"  logsearch.search {key[7:]}: first match {s['first_match_s']:.2f} s, "
                    f"total {s['total_s']:.2f} s, {s['matches']} matches, RSS "
                    f"{s['rss_before_mb']:.0f} MB before, peak during "
                    f"{s['peak_rss_during_mb']:.0f} MB",
                    flush=True,
                )
            search_url = f"/runs/{big.id}/search/?q={NEEDLE}"
            _reset_peak_rss()
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                response = client.get(search_url)
                got_response = time.perf_counter() - t
                chunks = iter(response.streaming_content)
                first_chunk = next(chunks)
                first_chunk_s = time.perf_counter() - t
                first_match_s = None
                body = [first_chunk]
                for chunk in chunks:
                    if first_match_s is None and b"<li" in chunk:
                        first_match_s = time.perf_counter() - t
                    body.append(chunk)
                total_s = time.perf_counter() - t
                response.close()
            html = b"".join(body)
            logs["search_http"] = {
                "response_s": got_response,
                "first_chunk_s": first_chunk_s,
                "first_match_chunk_s": first_match_s,
                "total_s": total_s,
                "matches": html.count(b"<li><a"),
                "queries": len(ctx.captured_queries),
                "peak_rss_during_mb": _hwm_kb() / 1024,
            }
            print(
                f"  GET search: first chunk {first_chunk_s * 1000:.1f} ms "
                f"({len(ctx.captured_queries)} queries), first match "
                f"{first_match_s:.2f} s, total {total_s:.2f} s",
                flush=True,
            )
        finally:
            path.unlink(missing_ok=True)
            logs["deleted"] = not path.exists()
    if results["db_backend_reniced"]:
        with connection.cursor() as cur:  # still the same (reniced) backend?
            cur.execute("SELECT pg_backend_pid()")
            if cur.fetchone()[0] != results["db_backend_reniced"]:
                results["db_backend_reniced"] = None
    out.write_text(json.dumps(results, indent=2, default=str))


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _yes(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def report(results: list[dict], info: dict, command: str) -> str:
    m = info["machine"]
    out = [
        "# Pages at scale: runs list, run page, compare, 1 GB logs",
        "",
        "Written by `bench/pages_at_scale.py` (see its docstring for the method).",
        "",
        f"Command: `{command}`",
        "",
        f"Date: {m['date']}",
        "",
        f"Code: commit {m.get('commit', '?')}"
        + (
            f" with {m['uncommitted']} uncommitted file(s) under runs/ studio/ pipelines/ "
            "templates/"
            if m.get("uncommitted", "0") not in ("0", "?")
            else ""
        )
        + ".",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['kernel']}; "
        f"Python {m['python']}, Django {m['django']}, SQLite {m['sqlite']}, "
        f"PostgreSQL {m['postgres']}. Load average at start {' '.join(m['loadavg_start'])}, "
        f"at end {' '.join(info.get('loadavg_end', ['?']))} (the machine is shared).",
        "",
        "Server time: in-process `django.test.Client` with a logged-in superuser, "
        "`time.perf_counter()` around each request after 3 warm-up requests; "
        "queries counted on one more request with `CaptureQueriesContext` (each query timed "
        "with `connection.execute_wrapper`). The pages are requested round robin. CPU = "
        "`time.process_time()` of the process serving the request (for PostgreSQL the "
        "server's own CPU is not in it): on a shared machine, wall time minus CPU time is "
        "mostly waiting for a CPU or for the database. The machine is shared: a round (every "
        "page once) during which other processes kept more than "
        f"{info['quiet']['max_other']} CPU busy is done again; p50/p95/max are over the quiet "
        'rounds, "p95 all rounds" over every round (noisy ones included). '
        + (
            f"The measuring process and its PostgreSQL backend ran at niceness {info['nice']} "
            "(`--nice`), so that the other work on the machine takes less of their CPU. "
            if info.get("nice")
            else ""
        )
        + f"Targets: p95 < {PAGE_TARGET_MS:.0f} ms for each page, "
        f"< {TAIL_TARGET_MS:.0f} ms to open a 1 GB log at its tail.",
        "",
    ]
    for r in results:
        prep = r["prepare"]
        out += [
            f"## {r['backend']}",
            "",
            f"{r['runs']:,} runs, {r['steps']:,} step runs. Generation "
            f"(`manage.py generate_runs --runs {info['runs']}`): **{prep['generate_s']:.1f} s**"
            + (f" (+ VACUUM ANALYZE {prep['analyze_s']:.1f} s)" if "analyze_s" in prep else "")
            + f"; database size {prep['db_bytes'] / 2**20:,.0f} MiB.",
            "",
            "| page | requests | p50 ms | p95 ms | max ms | CPU p50 / p95 ms | p95 all rounds "
            "(rounds) | SQL queries | SQL ms (slowest) | target | met |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        rows = list(r["pages"])
        if r["logs"].get("run_page"):
            rows.append(r["logs"]["run_page"])
        for p in rows:
            out.append(
                f"| {p['name']} | {p['n']} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | "
                f"{p['max_ms']:.1f} | {p['cpu_p50_ms']:.1f} / {p['cpu_p95_ms']:.1f} | "
                f"{p['all_p95_ms']:.1f} ({p['all_rounds']}) | "
                f"{p['queries']} | {p['sql_ms']:.1f} "
                f"({p['slowest_sql']['ms'] if p['slowest_sql'] else 0:.1f}) | "
                f"p95 < {p['target_ms']:.0f} | {_yes(p['met'])} |"
            )
        logs = r["logs"]
        if logs.get("file"):
            f = logs["file"]
            rl = logs["read_log"]
            out += [
                "",
                f"Log: {f['bytes'] / 2**30:.2f} GiB, {f['lines']:,} lines of {LINE} bytes "
                f"(1 in 500 an ERROR line), written in {f['write_s']:.1f} s; `{NEEDLE}` on lines "
                f"{', '.join(f'{x:,}' for x in f['needle_lines'])}. Deleted afterwards: "
                f'{"yes" if logs.get("deleted") else "NO"}. "cold" = the log evicted from the '
                "page cache first (`fsync` + `posix_fadvise(DONTNEED)`).",
                "",
                "| log measurement | value | target | met |",
                "|---|---|---|---|",
                f"| `storage.read_log(step, offset=-65536)` cold, median (max) of {COLD_REPEATS} | "
                f"{logs['read_log_cold_ms']:.2f} ({logs.get('read_log_cold_max_ms', 0):.2f}) ms "
                f"| < {TAIL_TARGET_MS:.0f} ms | "
                f"{_yes(logs['read_log_cold_ms'] < TAIL_TARGET_MS)} |",
                f"| `storage.read_log(step, offset=-65536)` warm, p50 / p95 | "
                f"{rl['p50_ms']:.2f} / {rl['p95_ms']:.2f} ms ({rl['queries']} SQL queries) | "
                f"< {TAIL_TARGET_MS:.0f} ms | {_yes(rl['p95_ms'] < TAIL_TARGET_MS)} |",
                f"| run page with the step selected, cold, median (max) of {COLD_REPEATS} | "
                f"{logs['run_page_cold_ms']:.1f} ({logs.get('run_page_cold_max_ms', 0):.1f}) ms, "
                f"CPU {logs.get('run_page_cold_cpu_ms', 0):.1f} ms | "
                f"< {TAIL_TARGET_MS:.0f} ms | {_yes(logs['run_page_cold_ms'] < TAIL_TARGET_MS)} |",
                f"| run page with the step selected, warm p50 / p95 | "
                f"{logs['run_page']['p50_ms']:.1f} / {logs['run_page']['p95_ms']:.1f} ms | "
                f"< {TAIL_TARGET_MS:.0f} ms | {_yes(logs['run_page']['p95_ms'] < TAIL_TARGET_MS)} |",
            ]
            for key, label in (("search_cold", "cold"), ("search_warm", "warm")):
                s = logs[key]
                out.append(
                    f"| `logsearch.search` {label}: first match (10% into the log) / total | "
                    f"{s['first_match_s']:.2f} s / {s['total_s']:.2f} s ({s['matches']} matches, "
                    f"{f['bytes'] / 2**20 / s['total_s']:.0f} MiB/s) | — | — |"
                )
                out.append(
                    f"| `logsearch.search` {label}: RSS before / peak during (VmHWM reset) / "
                    f"ru_maxrss after | {s['rss_before_mb']:.0f} / {s['peak_rss_during_mb']:.0f} / "
                    f"{s['ru_maxrss_after_mb']:.0f} MB | not the 1 GB log | "
                    f"{_yes(s['peak_rss_during_mb'] - s['rss_before_mb'] < 64)} |"
                )
            h = logs["search_http"]
            out.append(
                "| `GET /runs/<200-step run>/search/?q=…` (200 steps, one with the log): "
                "first chunk / first match / total | "
                f"{h['first_chunk_s'] * 1000:.1f} ms / {h['first_match_chunk_s']:.2f} s / "
                f"{h['total_s']:.2f} s ({h['matches']} matches, {h['queries']} SQL queries, "
                f"peak RSS {h['peak_rss_during_mb']:.0f} MB) | — | — |"
            )
        out.append("")
        slow = [p for p in rows if not p["met"]]
        if slow:
            out += ["Targets missed; the slowest SQL query of each such page and its plan:", ""]
            for p in slow:
                q = p["slowest_sql"]
                if not q:
                    continue
                out += [
                    f"- {p['name']} (`{p['url'][:90]}`): {q['ms']:.1f} ms",
                    "",
                    "```sql",
                    q["sql"][:1500],
                    "```",
                    "```",
                    q.get("plan", "")[:3000],
                    "```",
                    "",
                ]
    out += ["## Targets", ""]
    for r in results:
        rows = list(r["pages"]) + ([r["logs"]["run_page"]] if r["logs"].get("run_page") else [])
        missed = []
        for p in rows:
            if p["met"]:
                continue
            work = p["cpu_p95_ms"] + p["sql_ms"]
            missed.append(
                f"{p['name']} (p95 {p['p95_ms']:.0f} ms; its own work, CPU p95 + SQL, is "
                f"{work:.0f} ms"
                + (
                    ", so the rest is waiting for a CPU on the shared machine)"
                    if work < p["target_ms"] / 2
                    else ")"
                )
            )
        if r["logs"].get("read_log") and not r["logs"]["read_log"]["met"]:
            missed.append("read_log tail")
        out.append(
            f"- {r['backend']}: "
            + ("all targets met." if not missed else "missed: " + "; ".join(missed) + ".")
        )
    out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--log-mb", type=int, default=1024, help="size of the big log (0: none)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-pages.md"))
    parser.add_argument("--keep", action="store_true", help="keep the databases (debugging)")
    parser.add_argument(
        "--max-other-load",
        type=float,
        default=QUIET.max_other,
        help="redo a round of requests during which other processes used more CPUs than this",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=QUIET.deadline,
        help="after this many seconds per set of pages, keep noisy rounds too",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness increment of the measuring process (negative needs root): on a shared "
        "machine, -10 gives the server under test the CPU share a dedicated server would have",
    )
    parser.add_argument("--from-json", help="only write the report from this RESULTS-pages.json")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # child mode: JSON results path
    args = parser.parse_args()
    QUIET.max_other, QUIET.deadline = args.max_other_load, args.deadline

    if args.measure:
        sys.path.insert(0, str(ROOT))
        os.chdir(ROOT)
        if args.nice:
            os.nice(args.nice)
        measure(args.backend, args.requests, args.log_mb * 2**20, Path(args.measure), args.nice)
        return

    if args.from_json:  # rewrite the report from the raw results of an earlier run
        raw = json.loads(Path(args.from_json).read_text())
        Path(args.out).write_text(report(raw["results"], raw["info"], raw["info"]["command"]))
        return
    command = ".venv/bin/python bench/pages_at_scale.py " + " ".join(sys.argv[1:])
    info = {
        "command": command,
        "runs": args.runs,
        "machine": machine(),
        "quiet": vars(QUIET),
        "nice": args.nice,
    }
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        env, prep, data_dir = prepare(backend, args.runs)
        try:
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
                out = Path(tmp.name)
            subprocess.run(
                [
                    PYTHON,
                    str(Path(__file__).resolve()),
                    "--measure",
                    str(out),
                    "--backend",
                    backend,
                    "--requests",
                    str(args.requests),
                    "--log-mb",
                    str(args.log_mb),
                    "--max-other-load",
                    str(args.max_other_load),
                    "--deadline",
                    str(args.deadline),
                    "--nice",
                    str(args.nice),
                ],
                cwd=ROOT,
                env=env,
                check=True,
            )
            result = json.loads(out.read_text())
            out.unlink()
            result["prepare"] = prep
            results.append(result)
        finally:
            if args.keep:
                print(f"[{backend}] kept: {data_dir} {env.get('DATABASE_URL', '')}")
            else:
                cleanup(backend, data_dir)
    info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    text = report(results, info, command)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(
        json.dumps({"info": info, "results": results}, indent=2, default=str)
    )
    print(text)


if __name__ == "__main__":
    main()
