"""The measuring half of pages_at_scale.py, in its child process (Django set up for one backend):
requests to a set of pages timed round robin with their SQL captured, while watching the load
that other processes put on the shared machine."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time

from cpuload import cpu_times, own_ticks, wait_quiet

PAGE_TARGET_MS = 150.0
TAIL_TARGET_MS = 100.0
COLD_REPEATS = 10
NEEDLE = "needle-7f3a9c-quux"  # the rare string searched for
LINE = 100  # bytes per log line


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def explain(raw: tuple[str, object]) -> str:
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
        self.own0 = own_ticks("self") + (own_ticks(self.backend_pid) if self.backend_pid else 0)
        return self

    def __exit__(self, *exc):
        total1, idle1 = cpu_times()
        own1 = own_ticks("self") + (own_ticks(self.backend_pid) if self.backend_pid else 0)
        total, idle = total1 - self.sys0[0], idle1 - self.sys0[1]
        per_cpu = max(1, total) / self.ncpu
        self.others = max(0.0, ((total - idle) - (own1 - self.own0)) / per_cpu)
        return False


def _timed_rounds(client, pages: list[tuple[str, str]], n: int) -> tuple[dict, dict, dict, dict]:
    """``n`` quiet rounds (or until QUIET.deadline): each page's wall and CPU ms in the quiet
    rounds, its wall ms in every round, and how quiet it was."""
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
    return wall, cpu, wall_all, quiet_info


def measure_pages(client, pages: list[tuple[str, str]], n: int, warmup: int = 3) -> list[dict]:
    """Round robin over the pages (so a burst of load on a shared machine hits them all alike):
    warm-up requests, one request with its queries captured, then ``n`` timed rounds. A round
    during which other processes used more than QUIET.max_other CPUs is done again (it is
    kept in the "all rounds" numbers), until ``n`` quiet rounds or QUIET.deadline seconds."""
    for _ in range(warmup):
        for _, url in pages:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
    captured = {url: _capture(client, url) for _, url in pages}
    wall, cpu, wall_all, quiet_info = _timed_rounds(client, pages, n)
    noisy = quiet_info["rounds_redone"]
    results = []
    for name, url in pages:
        queries, content = captured[url]
        times = wall[url]
        slowest = max(queries, key=lambda q: q["ms"]) if queries else None
        result = {
            "name": name,
            "url": url,
            "n": n,
            "p50_ms": pct(times, 0.5),
            "p95_ms": pct(times, 0.95),
            "max_ms": max(times),
            "mean_ms": statistics.fmean(times),
            "cpu_p50_ms": pct(cpu[url], 0.5),
            "cpu_p95_ms": pct(cpu[url], 0.95),
            "queries": len(queries),
            "sql_ms": sum(q["ms"] for q in queries),
            "bytes": len(content),
            "all_p95_ms": pct(wall_all[url], 0.95),
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


def next_url(content: bytes) -> str | None:
    html = content.decode()
    match = re.search(r'href="([^"]*)" rel="next"', html)
    return "/runs/" + match.group(1).replace("&amp;", "&") if match else None


def renice_db_backend(increment: int) -> int | None:
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
