"""The report of pages_at_scale.py (bench/RESULTS-pages.md), written from the raw results: the
method and machine, per backend a table of the pages and one of the log measurements, the plans
of the slowest queries of pages that missed their target, and which targets were met."""

from __future__ import annotations

from pages_measure import COLD_REPEATS, LINE, NEEDLE, PAGE_TARGET_MS, TAIL_TARGET_MS


def _yes(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def _header(info: dict, command: str) -> list[str]:
    m = info["machine"]
    return [
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


def _pages_table(r: dict, info: dict, rows: list[dict]) -> list[str]:
    prep = r["prepare"]
    out = [
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
    for p in rows:
        out.append(
            f"| {p['name']} | {p['n']} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | "
            f"{p['max_ms']:.1f} | {p['cpu_p50_ms']:.1f} / {p['cpu_p95_ms']:.1f} | "
            f"{p['all_p95_ms']:.1f} ({p['all_rounds']}) | "
            f"{p['queries']} | {p['sql_ms']:.1f} "
            f"({p['slowest_sql']['ms'] if p['slowest_sql'] else 0:.1f}) | "
            f"p95 < {p['target_ms']:.0f} | {_yes(p['met'])} |"
        )
    return out


def _logs_table(logs: dict) -> list[str]:
    f = logs["file"]
    rl = logs["read_log"]
    out = [
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
    return out


def _slow_plans(rows: list[dict]) -> list[str]:
    slow = [p for p in rows if not p["met"]]
    if not slow:
        return []
    out = ["Targets missed; the slowest SQL query of each such page and its plan:", ""]
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
    return out


def _targets(results: list[dict]) -> list[str]:
    out = ["## Targets", ""]
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
    return out


def report(results: list[dict], info: dict, command: str) -> str:
    out = _header(info, command)
    for r in results:
        rows = list(r["pages"])
        if r["logs"].get("run_page"):
            rows.append(r["logs"]["run_page"])
        out += _pages_table(r, info, rows)
        if r["logs"].get("file"):
            out += _logs_table(r["logs"])
        out.append("")
        out += _slow_plans(rows)
    out += _targets(results)
    return "\n".join(out)
