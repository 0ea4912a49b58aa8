"""ParallelRunStep against a plain ``multiprocessing.Pool(4)`` over the same files, and its memory
over a million rows, on a live Studio.

Starts its own Studio with ``tests.harness.Studio`` as tests/integration/test_parallel_workers.py
does (gunicorn web server, two Celery workers of concurrency 1, the scheduler; sandboxed where
bubblewrap works, as CI runs), on a temporary data dir.

Files: makes ``--files`` small files (10,000), uploads them to the default datastore as a
FileDataset and runs a ParallelRunStep over them (node_count=2, process_count_per_node=2,
mini_batch_size=10, output_action append_row, allow_reuse=False) whose run() reads each file and
returns one row per file. The entry script's init() writes ``time.time()`` into a file of the
step's output and its shutdown() another, so the bench knows, on the shared clock:

- start-up: the step's ``started_at`` -> the first init() (claim, sandbox, partition and plan,
  process start, import of the entry script);
- the measured time: the first init() -> the append_row file complete (its mtime: the last row
  written), throughput = files / that time;
- the finish: the last process's shutdown() (its last mini-batch done) -> the last row written
  (rows read back from the database and written out in order).

The reference, in the same round on the same files (from the datastore's folder on disk, page
cache as warm as Studio had it) in the same mini-batches of 10: ``Pool(4)``'s imap_unordered over
the batches, each reading its files and returning its rows, the rows written to one file by the
parent, timed the same way (its first initializer -> the file closed). Studio's overhead per
mini-batch is ``(studio - pool) * 4 / batches``: the extra wall time of 4 processes spread over the
mini-batches. As the machine has 2 CPUs the 4 processes share them, so the bench also reports the
CPU both used (Studio: web, workers and their step processes, the PostgreSQL backends of its
database; the pool: the parent and its children), per mini-batch.

Tabular: a CSV of ``--rows`` rows (1,000,000, ~70 MB) as a TabularDataset
(``Dataset.Tabular.from_delimited_files``) in ``mini_batch_size="1MB"``, run() returning one row
per input row, output_action ``summary_only`` (``--tabular-output append_row`` to write them).
The RSS of the web server (the gunicorn processes) and of each worker's process tree (the Celery
processes apart from the step's own: sandbox, ``_parallel_run``, drivers) is sampled every 0.5 s
from /proc; idle (the 3 s before submitting) and peak are reported.

    .venv/bin/python bench/parallel_run.py [--repeat 3] [--files 10000] [--rows 1000000]
        [--backend postgres|embedded] [--parts files,tabular]

``postgres`` (the default when reachable, as CI runs) uses a private database on the server of
--database-url, dropped at the end, and Redis db 15 (see bench/pipeline_overhead.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from common import TERMINAL, drop_database, exit_on_sigterm, flush_redis, pg_execute, running
from cpuload import proc_stats, process_tree

from tests.harness import PYTHON, Studio

DEFAULT_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"
)
DEFAULT_BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
TARGET_RATIO = 0.8
TARGET_OVERHEAD = 0.002  # seconds per mini-batch

READ_FILES = """
import os
import time
import uuid


def _mark(kind, value=None):
    folder = os.path.join(os.environ["STUDIO_PARALLEL_OUTPUT_DIR"], "bench-times")
    os.makedirs(folder, exist_ok=True)
    # the sandbox has a PID namespace of its own: pids repeat across nodes
    with open(os.path.join(folder, f"{kind}-{uuid.uuid4().hex}"), "w") as f:
        f.write(repr(time.time() if value is None else value))


def init():
    global inside
    inside = 0.0  # seconds spent in run()
    _mark("init")


WORK = float(os.environ.get("BENCH_WORK_MS", "0")) / 1000  # CPU time per file (--work-ms)


def run(mini_batch):
    global inside
    t0 = time.perf_counter()
    rows = []
    for path in mini_batch:
        with open(path) as f:
            rows.append(f"{os.path.basename(path)} {f.read().strip()}")
        until = time.thread_time() + WORK
        while time.thread_time() < until:
            pass
    inside += time.perf_counter() - t0
    return rows


def shutdown():
    _mark("shutdown")
    _mark("inside", inside)
"""

READ_TABLE = """
import os
import time
import uuid


def _mark(kind):
    folder = os.path.join(os.environ["STUDIO_PARALLEL_OUTPUT_DIR"], "bench-times")
    os.makedirs(folder, exist_ok=True)
    # the sandbox has a PID namespace of its own: pids repeat across nodes
    with open(os.path.join(folder, f"{kind}-{uuid.uuid4().hex}"), "w") as f:
        f.write(repr(time.time()))


def init():
    _mark("init")


def run(mini_batch):
    return mini_batch["id"].astype(str).tolist()  # one row per input row


def shutdown():
    _mark("shutdown")
"""


# --- the reference ---------------------------------------------------------------------------


_POOL_WORK = {"seconds": 0.0}


def _pool_init(marks: str, work_seconds: float) -> None:
    _POOL_WORK["seconds"] = work_seconds
    Path(marks, f"init-{os.getpid()}").write_text(repr(time.time()))


def _pool_batch(paths: list[str]) -> list[str]:
    rows = []
    for path in paths:
        with open(path) as f:
            rows.append(f"{os.path.basename(path)} {f.read().strip()}")
        until = time.thread_time() + _POOL_WORK["seconds"]
        while time.thread_time() < until:
            pass
    return rows


def pool_reference(batches: list[list[str]], work: Path, work_ms: float = 0.0) -> dict:
    """Pool(4) over the mini-batches: first initializer -> the rows file closed."""
    marks = work / f"pool-{uuid.uuid4().hex[:6]}"
    marks.mkdir()
    out = marks / "rows.txt"
    cpu0 = os.times()
    with multiprocessing.get_context("fork").Pool(
        4, _pool_init, (str(marks), work_ms / 1000)
    ) as pool:
        with open(out, "w") as rows_file:
            for rows in pool.imap_unordered(_pool_batch, batches):
                rows_file.write("\n".join(rows) + "\n")
        ended = time.time()
        pool.close()
        pool.join()
    cpu1 = os.times()
    first = min(float(p.read_text()) for p in marks.glob("init-*"))
    lines = sum(1 for _ in open(out))
    shutil.rmtree(marks)
    cpu = sum(cpu1[:4]) - sum(cpu0[:4])  # parent and reaped children, user + system
    return {"seconds": ended - first, "rows": lines, "cpu": cpu}


# --- processes and their memory --------------------------------------------------------------


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError):
        return 0


def _is_step(cmdline: str) -> bool:
    """A process of the step (its sandbox, ``_parallel_run``, a driver), not of Celery."""
    return cmdline.startswith(("bwrap", "/usr/bin/bwrap")) or "steps._parallel_" in cmdline


class Sampler:
    """RSS of the web server and of each worker's tree (its Celery processes, its step's
    processes) every ``interval`` seconds, in a thread; ``mark()`` starts a new phase."""

    def __init__(self, studio: Studio, workers: list[str], interval: float = 0.5) -> None:
        self.studio, self.workers, self.interval = studio, workers, interval
        self.samples: list[tuple[float, str, dict[str, int]]] = []
        self.phase = "idle"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def groups(self) -> dict[str, int]:
        stats = proc_stats()
        found = {"web": sum(_rss(p) for p in process_tree(stats, [self.studio.procs["web"].pid]))}
        for name in self.workers:
            studio_rss = step_rss = 0
            for pid in process_tree(stats, [self.studio.procs[name].pid]):
                if _is_step(_cmdline(pid)):
                    step_rss += _rss(pid)
                else:
                    studio_rss += _rss(pid)
            found[f"{name} celery"] = studio_rss
            found[f"{name} step"] = step_rss
        return found

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append((time.time(), self.phase, self.groups()))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self, phase: str) -> None:
        self.phase = phase

    def report(self) -> dict[str, dict[str, float]]:
        """Per group: idle (median of the idle phase) and peak (of the run phase), in MB."""
        out = {}
        for group in self.samples[0][2]:
            idle = [s[group] for _, p, s in self.samples if p == "idle"]
            run = [s[group] for _, p, s in self.samples if p == "run"]
            out[group] = {
                "idle_mb": statistics.median(idle) / 2**20 if idle else 0.0,
                "peak_mb": max(run) / 2**20 if run else 0.0,
                "samples": len(run),
            }
        return out


def cpu_seconds(studio: Studio, database: str | None) -> float:
    """CPU used so far by the Studio's processes and their children (reaped ones included),
    and by the PostgreSQL backends connected to its database."""
    stats = proc_stats()
    ours = process_tree(stats, [p.pid for p in studio.procs.values()])
    ticks = sum(stats[pid].total for pid in ours)
    if database:
        for pid, stat in stats.items():
            if stat.comm.startswith("postgres") and f" {database} " in _cmdline(pid):
                ticks += stat.own
    return ticks / TICK


def db_counters(studio: Studio) -> dict[str, int]:
    """Transactions and rows of the Studio's PostgreSQL database so far (pg_stat_database;
    the whole Studio's, the web server's and scheduler's included); empty on SQLite."""
    url = studio.env.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return {}
    import psycopg

    fields = ("xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_inserted")
    fields += ("tup_updated",)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            f"SELECT {', '.join(fields)} FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return dict(zip(fields, row, strict=True))


# --- the Studio steps ------------------------------------------------------------------------


def _when(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _marks(folder: Path, kind: str) -> list[float]:
    return sorted(float(p.read_text()) for p in folder.glob(f"bench-times/{kind}-*"))


def _output_folder(studio: Studio, step_run, name: str) -> Path:
    reference = step_run.get_output_data(name)
    return studio.data_dir / "datastores" / "workspaceblobstore" / reference.path_on_datastore


def submit_and_wait(studio: Studio, ws, step, experiment: str, timeout: float):
    from studio.sdk.core import Experiment
    from studio.sdk.pipeline.core import Pipeline

    with contextlib.redirect_stdout(io.StringIO()):
        run = Experiment(ws, experiment).submit(Pipeline(ws, [step]))
    deadline = time.monotonic() + timeout
    while True:
        data = studio.api("GET", f"runs/{run.id}/").json()
        if data["status"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run.id} not finished after {timeout} s")
        time.sleep(0.2)
    (step_data,) = data["steps"]
    step_run = run.find_step_run(step_data["name"])[0]
    if data["status"] != "Completed":
        raise RuntimeError(
            f"run {run.id} ended {data['status']}: {step_data.get('error') or data.get('error')}\n"
            + step_run.get_job_log()[-3000:]
        )
    return step_data, step_run


def _config(code: Path, entry: str, env, **settings):
    from studio.sdk.pipeline.steps import ParallelRunConfig

    return ParallelRunConfig(
        environment=env,
        entry_script=entry,
        source_directory=str(code),
        error_threshold=0,
        compute_target="local",
        process_count_per_node=2,
        node_count=2,
        **settings,
    )


def files_round(studio: Studio, ws, dataset, code: Path, env, batches, work: Path, args) -> dict:
    from studio.sdk.pipeline.core import PipelineData
    from studio.sdk.pipeline.steps import ParallelRunStep

    store = ws.get_default_datastore()
    step = ParallelRunStep(
        name="read-files",
        parallel_run_config=_config(
            code, "read_files.py", env, mini_batch_size="10", output_action="append_row"
        ),
        inputs=[dataset.as_named_input("files")],
        output=PipelineData(name="rows", datastore=store),
        allow_reuse=False,
    )
    database = urlparse(studio.env.get("DATABASE_URL", "")).path.lstrip("/") or None
    cpu0, db0 = cpu_seconds(studio, database), db_counters(studio)
    step_data, step_run = submit_and_wait(studio, ws, step, "bench-parallel-files", args.timeout)
    cpu1 = cpu_seconds(studio, database)
    time.sleep(1.5)  # PostgreSQL's backends send their counters at most once a second
    db1 = db_counters(studio)
    folder = _output_folder(studio, step_run, "rows")
    rows_file = folder / "parallel_run_step.txt"
    rows = sum(1 for _ in open(rows_file))
    if rows != args.files:
        raise RuntimeError(f"{rows} rows written, {args.files} expected")
    inits, shutdowns = _marks(folder, "init"), _marks(folder, "shutdown")
    started, ended = _when(step_data["started_at"]), _when(step_data["ended_at"])
    last_row = rows_file.stat().st_mtime
    summary = studio.api("GET", f"steps/{step_data['id']}/minibatches/").json()
    studio_time = last_row - inits[0]
    pool = pool_reference(batches, work, args.work_ms)
    if pool["rows"] != args.files:
        raise RuntimeError(f"the pool wrote {pool['rows']} rows, {args.files} expected")
    return {
        "processes": len(inits),
        "startup": inits[0] - started,
        "inits_spread": inits[-1] - inits[0],
        "studio": studio_time,
        "processing": shutdowns[-1] - inits[0],
        "finish": last_row - shutdowns[-1],
        "after_last_row": ended - last_row,
        "step_total": ended - started,
        "pool": pool["seconds"],
        "run_inside": sum(_marks(folder, "inside")),
        "database": {k: db1[k] - db0[k] for k in db1},
        "studio_cpu": cpu1 - cpu0,
        "pool_cpu": pool["cpu"],
        "workers": {w["worker"]: w["done"] for w in summary.get("workers", [])},
        "batches": len(batches),
    }


def tabular_round(studio: Studio, ws, dataset, code: Path, env, args) -> dict:
    from studio.sdk.pipeline.core import PipelineData
    from studio.sdk.pipeline.steps import ParallelRunStep

    store = ws.get_default_datastore()
    step = ParallelRunStep(
        name="read-table",
        parallel_run_config=_config(
            code, "read_table.py", env, mini_batch_size="1MB", output_action=args.tabular_output
        ),
        inputs=[dataset.as_named_input("table")],
        output=PipelineData(name="table_rows", datastore=store),
        allow_reuse=False,
    )
    with Sampler(studio, ["w1", "w2"]) as sampler:
        time.sleep(3)
        sampler.mark("run")
        step_data, step_run = submit_and_wait(
            studio, ws, step, "bench-parallel-table", args.timeout
        )
        sampler.mark("after")
    folder = _output_folder(studio, step_run, "table_rows")
    inits = _marks(folder, "init")
    started, ended = _when(step_data["started_at"]), _when(step_data["ended_at"])
    summary = studio.api("GET", f"steps/{step_data['id']}/minibatches/").json()
    if summary["items"] != args.rows:
        raise RuntimeError(f"{summary['items']} rows processed, {args.rows} expected")
    return {
        "batches": summary["total"],
        "items": summary["items"],
        "startup": inits[0] - started,
        "step_total": ended - started,
        "first_init_to_end": ended - inits[0],
        "memory": sampler.report(),
        "workers": {w["worker"]: w["done"] for w in summary.get("workers", [])},
    }


# --- set-up ----------------------------------------------------------------------------------


def make_files(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"f{i:05d}.txt").write_text(f"value {i} {'x' * (i % 50)}\n")
    return sorted(p.name for p in folder.iterdir())


NOTES = [f"a note of some length about row kind {k:03d}, {'x' * (k % 17)}" for k in range(100)]


def make_table(path: Path, rows: int) -> int:
    with open(path, "w") as f:
        f.write("id,group,score,weight,label,note\n")
        for start in range(0, rows, 10_000):
            f.write(
                "".join(
                    f"{i},{i % 97},{(i * 7919) % 100_000 / 1000:.3f},{(i % 1013) * 0.37:.4f},"
                    f"label-{i % 5003:05d},{NOTES[i % len(NOTES)]}\n"
                    for i in range(start, min(rows, start + 10_000))
                )
            )
    return path.stat().st_size


def _sandbox(studio: Studio) -> str:
    """What runs.sandbox decides: steps in bubblewrap unless STUDIO_SANDBOX=off or no bwrap."""
    setting = studio.env.get("STUDIO_SANDBOX", "auto")
    bwrap = shutil.which("bwrap")
    on = setting != "off" and bwrap is not None
    return f"{'on' if on else 'off'} (STUDIO_SANDBOX={setting}, bwrap {bwrap or 'not installed'})"


@contextlib.contextmanager
def services(args):
    """The environment of the Studio: a private PostgreSQL database and Redis db 15, or the
    embedded defaults."""
    if args.backend == "embedded":
        yield {}
        return
    parsed = urlparse(args.database_url)
    name = f"studio_bench_{os.getpid()}"
    pg_execute(args.database_url, f'CREATE DATABASE "{name}"')
    flush_redis(args.broker_url)
    try:
        yield {
            "DATABASE_URL": parsed._replace(path=f"/{name}").geturl(),
            "CELERY_BROKER_URL": args.broker_url,
        }
    finally:
        drop_database(args.database_url, name)
        flush_redis(args.broker_url)


def bench(args) -> dict:
    from studio.sdk.core import Dataset, Environment

    work = Path(tempfile.mkdtemp(prefix="studio-bench-parallel-"))
    results: dict = {"files": [], "tabular": []}
    try:
        with services(args) as env_vars:
            studio = Studio(
                work / "studio",
                STUDIO_WORKER_LOST_SECONDS="10",
                STUDIO_HEARTBEAT_SECONDS="1",
                **env_vars,
            )
            with running(TwoWorkers(studio), tail_lines=30):
                results["sandbox"] = _sandbox(studio)
                print(f"Studio at {studio.url}, sandbox: {results['sandbox']}", flush=True)
                ws = studio.workspace()
                store = ws.get_default_datastore()
                code = work / "code"
                code.mkdir()
                (code / "read_files.py").write_text(READ_FILES)
                (code / "read_table.py").write_text(READ_TABLE)
                env = Environment(name="bench-parallel")
                env.python.user_managed_dependencies = True
                env.environment_variables = {"BENCH_WORK_MS": str(args.work_ms)}
                if "files" in args.parts:
                    t0 = time.perf_counter()
                    names = make_files(work / "files", args.files)
                    store.upload(str(work / "files"), target_path="files", show_progress=False)
                    print(
                        f"{len(names)} files made and uploaded in {time.perf_counter() - t0:.1f} s",
                        flush=True,
                    )
                    on_disk = store_root(studio) / "files"
                    paths = [str(on_disk / n) for n in names]
                    batches = [paths[i : i + 10] for i in range(0, len(paths), 10)]
                    dataset = Dataset.File.from_files(path=(store, "files"))
                    for number in range(args.repeat):
                        result = files_round(studio, ws, dataset, code, env, batches, work, args)
                        results["files"].append(result)
                        print_files_round(number + 1, result)
                if "tabular" in args.parts:
                    table = work / "table.csv"
                    size = make_table(table, args.rows)
                    store.upload_files([str(table)], target_path="table", show_progress=False)
                    print(f"table: {args.rows:,} rows, {size / 1e6:.1f} MB", flush=True)
                    results["table_mb"] = size / 1e6
                    dataset = Dataset.Tabular.from_delimited_files(path=(store, "table/table.csv"))
                    for _ in range(args.tabular_repeat):
                        result = tabular_round(studio, ws, dataset, code, env, args)
                        results["tabular"].append(result)
                        print_tabular(result)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return results


class TwoWorkers:
    """The Studio of tests/integration/test_parallel_workers.py: web, workers w1 and w2 of one
    process each, scheduler (for ``common.running``)."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def start(self) -> None:
        self.studio.start_web()
        self.studio.start_worker("w1", concurrency=1)
        self.studio.start_worker("w2", concurrency=1)
        self.studio._spawn("scheduler", [PYTHON, "manage.py", "scheduler"])
        self.studio.wait_http()
        self.studio.wait_worker()

    def stop(self) -> None:
        self.studio.stop()

    def tail(self, name: str, lines: int = 40) -> str:
        if name == "worker":
            return "\n".join(self.studio.tail(w, lines) for w in ("w1", "w2"))
        return self.studio.tail(name, lines)


def store_root(studio: Studio) -> Path:
    return studio.data_dir / "datastores" / "workspaceblobstore"


# --- report ----------------------------------------------------------------------------------


def print_files_round(number: int, r: dict) -> None:
    overhead = (r["studio"] - r["pool"]) * 4 / r["batches"]
    print(
        f"files #{number}: studio {r['studio']:.2f} s ({r['batches'] * 10 / r['studio']:.0f} files/s; "
        f"processing {r['processing']:.2f} s + finish {r['finish']:.2f} s), "
        f"pool {r['pool']:.2f} s, ratio {r['pool'] / r['studio']:.2f}, "
        f"overhead {overhead * 1000:.2f} ms/mini-batch; start-up {r['startup']:.2f} s "
        f"(inits spread {r['inits_spread']:.2f} s, {r['processes']} processes), "
        f"step {r['step_total']:.2f} s; CPU studio {r['studio_cpu']:.1f} s, pool {r['pool_cpu']:.1f} s; "
        f"in run() {r['run_inside']:.2f} s of {r['processes']} processes; database {r['database']}; "
        f"mini-batches per worker {r['workers']}",
        flush=True,
    )


def print_tabular(r: dict) -> None:
    print(
        f"tabular: {r['items']:,} rows in {r['batches']} mini-batches, start-up {r['startup']:.2f} s, "
        f"first init -> step end {r['first_init_to_end']:.2f} s, step {r['step_total']:.2f} s, "
        f"mini-batches per worker {r['workers']}",
        flush=True,
    )
    for group, m in r["memory"].items():
        print(
            f"  RSS {group}: idle {m['idle_mb']:.0f} MB, peak {m['peak_mb']:.0f} MB "
            f"({m['samples']} samples)"
        )


def print_summary(results: dict) -> None:
    rounds = results["files"]
    if not rounds:
        return

    def med(key):
        return statistics.median(r[key] for r in rounds)

    studio_time, pool_time = med("studio"), med("pool")
    batches = rounds[0]["batches"]
    overheads = [(r["studio"] - r["pool"]) * 4 / r["batches"] for r in rounds]
    cpu_per_batch = [(r["studio_cpu"] - r["pool_cpu"]) / r["batches"] for r in rounds]
    ratio = statistics.median(r["pool"] / r["studio"] for r in rounds)
    print()
    print(f"medians of {len(rounds)} rounds, {batches * 10:,} files in {batches:,} mini-batches:")
    print("| | median | min | max |")
    print("|---|---|---|---|")
    for label, key in (
        ("Studio: first init() -> last row written", "studio"),
        ("  of which processing (first init -> last shutdown)", "processing"),
        ("  of which finish (last shutdown -> last row written)", "finish"),
        ("Pool(4): first initializer -> rows file closed", "pool"),
        ("Studio start-up: step started -> first init()", "startup"),
        ("Studio step: started -> ended", "step_total"),
        ("Studio: inside run(), the 4 processes' sum", "run_inside"),
        ("CPU, Studio (whole step)", "studio_cpu"),
        ("CPU, Pool(4)", "pool_cpu"),
    ):
        values = [r[key] for r in rounds]
        print(f"| {label} | {med(key):.2f} s | {min(values):.2f} | {max(values):.2f} |")
    print(
        f"throughput: Studio {batches * 10 / studio_time:.0f} files/s, "
        f"Pool(4) {batches * 10 / pool_time:.0f} files/s, "
        f"ratio {ratio:.2f} (target >= {TARGET_RATIO})"
    )
    if rounds[0]["database"]:
        per_batch = {
            k: statistics.median(r["database"][k] for r in rounds) / batches
            for k in ("xact_commit", "tup_updated", "tup_inserted")
        }
        print(
            "database, per mini-batch (whole Studio, whole step; medians): "
            + ", ".join(f"{k} {v:.2f}" for k, v in per_batch.items())
        )
    print(
        f"overhead per mini-batch (studio - pool) * 4 / batches: "
        f"{statistics.median(overheads) * 1000:.2f} ms (target < {TARGET_OVERHEAD * 1000:.0f} ms); "
        f"extra CPU per mini-batch (whole step): {statistics.median(cpu_per_batch) * 1000:.2f} ms"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the files part (3)")
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument(
        "--work-ms",
        type=float,
        default=0.0,
        help="CPU time run() spends on each file besides reading it, in Studio and the pool (0)",
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parts", default="files,tabular", help="comma-separated: files,tabular")
    parser.add_argument(
        "--tabular-output", choices=["summary_only", "append_row"], default="summary_only"
    )
    parser.add_argument(
        "--tabular-repeat",
        type=int,
        default=1,
        help="steps over the table, one after another on the same Studio (memory that stays "
        "after a step shows in the next one's idle)",
    )
    parser.add_argument("--backend", choices=["postgres", "embedded"], default="postgres")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--broker-url", default=DEFAULT_BROKER_URL)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds a step may take")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (logs)")
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if args.repeat < 1 or args.files < 10 or not set(args.parts) <= {"files", "tabular"}:
        parser.error("--repeat >= 1, --files >= 10, --parts a list of files,tabular")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    print(
        f"python {sys.version.split()[0]}, nproc {os.cpu_count()}, "
        f"loadavg {os.getloadavg()[0]:.2f}, backend {args.backend}",
        flush=True,
    )
    results = bench(args)
    print_summary(results)
    print(f"loadavg {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
