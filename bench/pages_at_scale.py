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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, drop_database, pg_execute
from pages_logs import measure_logs
from pages_measure import PAGE_TARGET_MS, QUIET, explain, measure_pages, next_url, renice_db_backend
from pages_report import report

PYTHON = sys.executable
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "bench_pages"


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


def _pg_url(db: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db


def prepare(backend: str, runs: int) -> tuple[dict, dict, Path]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-pages-{backend}-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(STUDIO_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="studio.settings")
    info: dict = {"data_dir": str(data_dir)}
    if backend == "postgres":
        drop_database(PG_ADMIN_URL, PG_DB)
        pg_execute(PG_ADMIN_URL, f"CREATE DATABASE {PG_DB}")
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
        drop_database(PG_ADMIN_URL, PG_DB)


def _sh(cmd: str) -> str:
    try:
        return subprocess.run(
            cmd, shell=True, capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except Exception:
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
    except Exception as exc:
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
# Measurement (child process, Django set up for one backend): pages_measure.py, pages_logs.py
# --------------------------------------------------------------------------------------------


def measure_run_pages(client, big, n: int) -> list[dict]:
    """The runs list (filtered, sorted, deep in its keyset pages), the 200-step run's page and
    the compare page; the plan of each page's slowest query."""
    from runs.models import Run

    url, hops = "/runs/", 0
    for _ in range(20):  # follow the "Next page" links
        nxt = next_url(client.get(url).content)
        if not nxt:
            break
        url, hops = nxt, hops + 1
    duration_page_2 = next_url(client.get("/runs/?sort=-duration").content)
    five = list(
        Run.objects.exclude(pk=big.pk).order_by("-created_at").values_list("id", flat=True)[:5]
    )
    pages = measure_pages(
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
                p["slowest_sql"]["plan"] = explain(p["slowest_sql"].pop("raw"))
            except Exception as exc:
                p["slowest_sql"]["plan"] = f"(EXPLAIN failed: {exc})"
    return pages


def measure(backend: str, n: int, log_bytes: int, out: Path, nice: int = 0) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from runs.models import Run, StepRun

    results: dict = {"backend": backend, "vendor": connection.vendor, "pages": [], "logs": {}}
    user = get_user_model().objects.get(username="bench")
    # SERVER_NAME: ALLOWED_HOSTS has no "testserver"; setup_test_environment() is not called
    # because its instrumented template rendering would add overhead to every render.
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    results["db_backend_reniced"] = renice_db_backend(nice)
    results["runs"] = Run.objects.count()
    results["steps"] = StepRun.objects.count()
    big = Run.objects.get(description="200 steps")

    print(f"[{backend}] {results['runs']} runs, {results['steps']} step runs", flush=True)
    results["pages"] += measure_run_pages(client, big, n)
    if log_bytes:
        measure_logs(client, big, n, log_bytes, results["logs"], backend)
    if results["db_backend_reniced"]:
        with connection.cursor() as cur:  # still the same (reniced) backend?
            cur.execute("SELECT pg_backend_pid()")
            if cur.fetchone()[0] != results["db_backend_reniced"]:
                results["db_backend_reniced"] = None
    out.write_text(json.dumps(results, indent=2, default=str))


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


def run_backend(backend: str, args: argparse.Namespace) -> dict:
    """Prepare the backend's database, measure in a subprocess whose environment selects it,
    then drop it (unless --keep)."""
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
        return result
    finally:
        if args.keep:
            print(f"[{backend}] kept: {data_dir} {env.get('DATABASE_URL', '')}")
        else:
            cleanup(backend, data_dir)


def main() -> None:
    args = parse_args()
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
    results = [run_backend(backend, args) for backend in backends]
    info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    text = report(results, info, command)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(
        json.dumps({"info": info, "results": results}, indent=2, default=str)
    )
    print(text)


if __name__ == "__main__":
    main()
