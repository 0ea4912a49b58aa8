"""How much Studio adds to a pipeline of no-op steps, end to end, on a live server.

Starts its own Studio (web, worker, scheduler) on loopback with ``tests.harness.Studio``,
submits through the SDK a 20-step chain and a 1 -> 10 -> 1 fan-out of no-op scripts, and
times each run as the issue defines it: from just before ``Experiment.submit`` (snapshot
check/upload included) to the run's recorded completion (its ``ended_at``; client and server
share this machine's clock). The client also polls ``GET /api/runs/<id>/`` (every 100 ms by
default) to learn that the run ended; that time is reported beside it, but it includes up to
one poll interval of waiting, and polling faster loads the machine being measured (each poll
serializes the run with its steps). The floor is the same no-op script started back to back
as plain subprocesses with this interpreter (20 for the chain, 12 for the fan-out); overhead
per step = (time - floor) / steps.

    .venv/bin/python bench/pipeline_overhead.py [--backend embedded|postgres|both] [--repeat N]

``embedded`` is SQLite + the filesystem broker (the defaults); ``postgres`` is PostgreSQL +
Redis on this machine (--database-url / --broker-url, or BENCH_DATABASE_URL / BENCH_BROKER_URL).
Other Studios (the integration tests) use that server too, and a worker of theirs on the same
database and queue would take this benchmark's steps, so by default it creates a private
database ``studio_bench_<pid>`` on the same server (dropped at the end) and uses Redis db 15
(tests.harness.isolated_services takes dbs 1-14; CI uses 0).

Steps keep allow_reuse=True but get an argument unique to the run and step (--reuse fresh), so
the reuse check runs in full and finds nothing; --reuse disabled sets allow_reuse=False.

The machine may be shared: before each run the script waits (--quiet) for idle CPUs, and a run
during which other processes used more than --max-other-load of the CPUs is measured again.
Everything started here is stopped on exit, errors included.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlparse

import requests
from common import TERMINAL, drop_database, exit_on_sigterm, flush_redis, pg_execute, running
from cpuload import cpu_times, proc_stats, process_tree, wait_quiet

from tests.harness import Studio

PYTHON = sys.executable
DEFAULT_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"
)
# Redis database 15: CI's broker is db 0 and tests.harness.isolated_services takes 1-14, and a
# worker of another Studio on the same queue would take (and fail) this benchmark's steps.
DEFAULT_BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")
NOOP = 'import sys\n\nprint("noop", *sys.argv[1:])\n'
CHAIN_STEPS = 20
FAN_WIDTH = 10

# Targets from the issue: (whole chain in seconds, overhead per step in seconds).
TARGETS = {"postgres": (0.5, 0.015), "embedded": (0.8, 0.030)}


@dataclass
class Sample:
    wall: float  # client: perf_counter before submit -> poll that saw the terminal status
    server: float | None  # server's run.ended_at - client wall clock at submit
    submit: float  # time inside Experiment.submit (snapshot check + POST runs/)
    floor: float  # the same number of no-op subprocesses, back to back
    polls: int
    steps: int
    breakdown: dict = field(default_factory=dict)
    idle_before: float | None = None  # share of CPU idle just before the run
    others_cpu: float | None = None  # share of all CPUs other processes used during floor + run


def _when(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- the pipelines ---------------------------------------------------------------------------


def build_pipeline(ws, source: Path, shape: str, reuse: str, nonce: str):
    """The chain or the fan-out, as (Pipeline, number of steps, argv of each step's script).

    reuse="fresh": steps keep the SDK default allow_reuse=True and get an argument unique to
    this run and step, so nothing can be reused but the whole reuse path runs (fingerprint,
    lookup of a match, the explanation why none was reused), as after a code change.
    reuse="disabled": allow_reuse=False and the same pipeline every time.
    """
    from studio.sdk.pipeline.core import Pipeline, StepSequence
    from studio.sdk.pipeline.steps import PythonScriptStep

    def step(name: str) -> PythonScriptStep:
        # Identical steps share a fingerprint (a chain of them would reuse its first step),
        # so a fresh step's argument names the step too.
        return PythonScriptStep(
            name=name,
            script_name="noop.py",
            source_directory=str(source),
            arguments=["--nonce", f"{nonce}-{name}"] if reuse == "fresh" else [],
            allow_reuse=reuse == "fresh",
        )

    if shape == "chain":
        steps = [step(f"step-{i:02d}") for i in range(CHAIN_STEPS)]
        pipeline = Pipeline(ws, [StepSequence(steps)], description="bench chain")
    else:
        start = step("start")
        middles = [step(f"middle-{i:02d}") for i in range(FAN_WIDTH)]
        end = step("end")
        for middle in middles:
            middle.run_after(start)
            end.run_after(middle)
        steps = [start, *middles, end]
        pipeline = Pipeline(ws, steps, description="bench fan-out")
    argv = ["noop.py", "--nonce", f"{nonce}-{steps[0].name}"] if reuse == "fresh" else ["noop.py"]
    return pipeline, len(steps), argv


# --- measuring -------------------------------------------------------------------------------


def floor(source: Path, count: int, argv: list[str]) -> float:
    """``count`` no-op scripts started one after another as plain subprocesses (stdout piped, as the worker does)."""
    t0 = time.perf_counter()
    for _ in range(count):
        subprocess.run(
            [PYTHON, *argv],
            cwd=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return time.perf_counter() - t0


def breakdown(data: dict, submitted_wall: float) -> dict:
    """Where a run's time went, from the server's own timestamps (same machine, same clock)."""
    steps = sorted(data["steps"], key=lambda s: _when(s["started_at"]) or 0.0)
    created, started, ended = (
        _when(data["created_at"]),
        _when(data["started_at"]),
        _when(data["ended_at"]),
    )
    first_start = min(_when(s["started_at"]) for s in steps)
    last_end = max(_when(s["ended_at"]) for s in steps)
    inside = [_when(s["ended_at"]) - _when(s["started_at"]) for s in steps]
    queued = [_when(s["started_at"]) - _when(s["queued_at"]) for s in steps if s.get("queued_at")]
    out = {
        "submit_to_created": created - submitted_wall if created else None,
        "submit_to_first_step_start": first_start - submitted_wall,
        "step_started_to_ended_sum": sum(inside),
        "step_started_to_ended_median": statistics.median(inside),
        "queued_to_started_median": statistics.median(queued) if queued else None,
        "last_step_end_to_run_end": (ended - last_end) if ended else None,
        "run_started_minus_created": (started - created) if started and created else None,
    }
    if data["description"] == "bench chain":
        chain = sorted(data["steps"], key=lambda s: s["position"])
        gaps = [_when(b["started_at"]) - _when(a["ended_at"]) for a, b in pairwise(chain)]
        out["chain_gap_median"] = statistics.median(gaps)
        out["chain_gap_max"] = max(gaps)
        out["chain_gap_sum"] = sum(gaps)
    return out


def _our_cpu_ticks(roots: list[int], database: str | None) -> int:
    """CPU ticks used so far by this benchmark: ``roots`` and their descendants (steps reaped by
    a worker count in its cutime), the PostgreSQL backends connected to ``database`` and the
    shared PostgreSQL and Redis server processes. Other databases' backends are someone else's.
    Approximate: a backend of ours that exits during the run is not counted."""
    stats = proc_stats()
    ours = process_tree(stats, roots)
    total = sum(stats[pid].total for pid in ours)
    for pid, stat in stats.items():
        if pid in ours:
            continue
        if stat.comm.startswith("redis-server"):
            total += stat.own
        elif stat.comm.startswith("postgres"):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            client = "127.0.0.1(" in title or "[local]" in title
            if not client or (database and f" {database} " in title):
                total += stat.own
    return total


def measure(studio: Studio, experiment, source: Path, shape: str, args) -> Sample:
    quiet = (args.quiet, args.quiet_wait)
    poll, timeout = args.poll, args.timeout
    pipeline, steps, argv = build_pipeline(
        experiment.workspace, source, shape, args.reuse, uuid.uuid4().hex[:12]
    )
    idle = wait_quiet(*quiet, sample=0.5) if quiet[0] > 0 else None
    roots = [os.getpid(), *(p.pid for p in studio.procs.values())]
    database = urlparse(studio.env.get("DATABASE_URL", "")).path.lstrip("/") or None
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {studio.token}"
    cpu0, ours0 = cpu_times(), _our_cpu_ticks(roots, database)
    floor_time = floor(source, steps, argv)

    sink = io.StringIO()
    wall0 = time.time()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sink):  # the SDK prints a line a step
        run = experiment.submit(pipeline)
    t_submit = time.perf_counter()
    url = f"{studio.url}/api/runs/{run.id}/"
    polls = 0
    deadline = t0 + timeout
    while True:
        data = session.get(url, timeout=30).json()
        polls += 1
        if data["status"] in TERMINAL:
            t_end = time.perf_counter()
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"run {run.id} not finished after {timeout} s (status {data['status']})\n{studio.tail('worker')}"
            )
        time.sleep(poll)
    session.close()
    cpu1, ours1 = cpu_times(), _our_cpu_ticks(roots, database)
    busy = (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])
    # CPU that other processes on the machine used while this run went on, as a share of all CPUs.
    others = max(0, busy - (ours1 - ours0)) / max(1, cpu1[0] - cpu0[0])
    if data["status"] != "Completed":
        raise RuntimeError(f"run {run.id} ended {data['status']}: {data.get('error')}")
    reused = [s["name"] for s in data["steps"] if (s.get("reuse") or {}).get("reused")]
    if reused:
        raise RuntimeError(f"run {run.id} reused steps {reused}: the benchmark must run every step")
    ended = _when(data["ended_at"])
    return Sample(
        wall=t_end - t0,
        server=(ended - wall0) if ended else None,
        submit=t_submit - t0,
        floor=floor_time,
        polls=polls,
        steps=steps,
        breakdown=breakdown(data, wall0),
        idle_before=idle,
        others_cpu=others,
    )


# --- one backend -----------------------------------------------------------------------------


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def database_for(args):
    """The PostgreSQL URL to use: by default a private database on the server of --database-url,
    created here and dropped afterwards, so that no other Studio's scheduler or worker (sharing
    the tests' database) touches the benchmark's runs. --shared-database uses the URL as is."""
    if args.shared_database:
        yield args.database_url
        return
    parsed = urlparse(args.database_url)
    name = f"studio_bench_{os.getpid()}"
    pg_execute(args.database_url, f'CREATE DATABASE "{name}"')
    try:
        yield parsed._replace(path=f"/{name}").geturl()
    finally:
        drop_database(args.database_url, name)


def _flush_bench_broker(args) -> None:
    """Empty the benchmark's own Redis database (never one given with --broker-url)."""
    if args.broker_url == DEFAULT_BROKER_URL:
        flush_redis(args.broker_url)


def bench_backend(backend: str, args) -> dict:
    if backend == "postgres":
        with database_for(args) as url:
            _flush_bench_broker(args)
            try:
                return _bench_backend(
                    backend, args, {"DATABASE_URL": url, "CELERY_BROKER_URL": args.broker_url}
                )
            finally:
                _flush_bench_broker(args)
    return _bench_backend(backend, args, {})


def _bench_backend(backend: str, args, env: dict) -> dict:
    if env:
        print(
            f"[{backend}] DATABASE_URL={env['DATABASE_URL']} CELERY_BROKER_URL={env['CELERY_BROKER_URL']}",
            flush=True,
        )
    data_dir = Path(tempfile.mkdtemp(prefix=f"studio-bench-{backend}-"))
    source = data_dir / "source"
    source.mkdir()
    (source / "noop.py").write_text(NOOP)
    studio = Studio(data_dir / "studio", **env)
    results: dict = {}
    try:
        print(f"[{backend}] starting Studio in {data_dir} ...", flush=True)
        with running(studio, tail_lines=15) as took:
            print(f"[{backend}] up at {studio.url} in {took:.1f} s", flush=True)
            from studio.sdk.core import Experiment

            ws = studio.workspace()
            for shape in args.shapes:
                experiment = Experiment(ws, f"bench-{shape}")
                results[shape] = measure_shape(backend, studio, experiment, source, shape, args)
    finally:
        if args.keep:
            print(f"[{backend}] kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return results


def measure_shape(backend: str, studio: Studio, experiment, source: Path, shape: str, args) -> dict:
    """A warm-up run, then --repeat runs; a run during which other processes used more than
    --max-other-load of the CPUs is measured again (at most --max-discard times)."""
    warm = measure(studio, experiment, source, shape, args)
    print(f"[{backend}] {shape}: warm-up {warm.wall:.3f} s", flush=True)
    samples = []
    discarded = []
    while len(samples) < args.repeat:
        sample = measure(studio, experiment, source, shape, args)
        bd = sample.breakdown
        gap = bd.get("chain_gap_median")
        noisy = sample.others_cpu > args.max_other_load
        print(
            f"[{backend}] {shape} #{len(samples) + 1}: wall {sample.wall:.3f} s, "
            f"server {sample.server:.3f} s, submit {sample.submit * 1000:.0f} ms, "
            f"floor {sample.floor:.3f} s, "
            f"step inside median {bd['step_started_to_ended_median'] * 1000:.1f} ms"
            + (f", gap median {gap * 1000:.1f} ms" if gap is not None else "")
            + f", idle before {sample.idle_before or 0:.0%}"
            + f", other load {sample.others_cpu:.0%}"
            + (" -> discarded, measuring again" if noisy else ""),
            flush=True,
        )
        if noisy and len(discarded) < args.max_discard:
            discarded.append(sample)
            continue
        samples.append(sample)
    print(f"[{backend}] {shape}: loadavg {os.getloadavg()[0]:.2f} after", flush=True)
    return {
        "steps": sample.steps,
        "warmup": asdict(warm),
        "samples": [asdict(s) for s in samples],
        "discarded": [asdict(s) for s in discarded],
    }


# --- report ----------------------------------------------------------------------------------


def summarize(backend: str, shape: str, result: dict) -> dict:
    samples = result["samples"]
    steps = result["steps"]
    walls = [s["wall"] for s in samples]
    # The measure: submit -> recorded completion (the client's poll only learns of it later).
    times = [s["server"] if s["server"] is not None else s["wall"] for s in samples]
    fl = statistics.median(s["floor"] for s in samples)
    med = statistics.median(times)
    row = {
        "backend": backend,
        "shape": shape,
        "steps": steps,
        "n": len(samples),
        "median": med,
        "min": min(times),
        "max": max(times),
        "client_median": statistics.median(walls),
        "submit_median": statistics.median(s["submit"] for s in samples),
        "floor": fl,
        "overhead_per_step": (med - fl) / steps,
        "overhead_per_step_min": (min(times) - fl) / steps,
        "others_cpu_max": max(s["others_cpu"] for s in samples),
        "discarded": len(result.get("discarded", [])),
        "idle_before_min": min(
            (s["idle_before"] for s in samples if s.get("idle_before") is not None), default=None
        ),
    }
    keys = samples[0]["breakdown"].keys()
    row["breakdown"] = {
        k: statistics.median(v)
        for k in keys
        if (v := [s["breakdown"][k] for s in samples if s["breakdown"][k] is not None])
    }
    return row


def print_table(rows: list[dict]) -> None:
    print()
    print(
        "| backend | shape | steps | runs | submit to recorded completion: median | min | max "
        "| client saw it (median) "
        "| floor (median) | overhead/step (median) | overhead/step (min) "
        "| other load (worst) | target |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        target = ""
        if r["shape"] == "chain":
            total, per = TARGETS[r["backend"]]
            met = r["median"] < total and r["overhead_per_step"] < per
            target = f"< {total} s and < {per * 1000:.0f} ms/step: {'met' if met else 'NOT met'}"
        server = f"{r['client_median']:.3f} s"
        runs = f"{r['n']}" + (f" (+{r['discarded']} discarded)" if r["discarded"] else "")
        print(
            f"| {r['backend']} | {r['shape']} | {r['steps']} | {runs} | {r['median']:.3f} s "
            f"| {r['min']:.3f} s | {r['max']:.3f} s | {server} | {r['floor']:.3f} s "
            f"| {r['overhead_per_step'] * 1000:.1f} ms | {r['overhead_per_step_min'] * 1000:.1f} ms "
            f"| {r['others_cpu_max']:.0%} | {target} |"
        )
    print()
    for r in rows:
        parts = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in r["breakdown"].items())
        print(
            f"{r['backend']} {r['shape']} (medians; server timestamps, same clock): "
            f"submit call {r['submit_median'] * 1000:.1f} ms, {parts}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["embedded", "postgres", "both"], default="both")
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="measured runs per shape, after one warm-up (default 5)",
    )
    parser.add_argument("--shapes", default="chain,fanout", help="comma-separated: chain,fanout")
    parser.add_argument(
        "--reuse",
        choices=["fresh", "disabled"],
        default="fresh",
        help="fresh (default): allow_reuse=True but a new argument each run, so the whole reuse "
        "check runs and finds nothing; disabled: allow_reuse=False",
    )
    parser.add_argument(
        "--poll", type=float, default=0.1, help="seconds between status polls (default 0.1)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds a run may take before giving up"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--shared-database",
        action="store_true",
        help="use --database-url itself instead of a private database on its server",
    )
    parser.add_argument("--broker-url", default=DEFAULT_BROKER_URL)
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.85,
        help="before each run wait until this fraction of CPU is idle (0 = don't wait; default 0.85)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="longest wait for --quiet, in seconds (default 120)",
    )
    parser.add_argument(
        "--max-other-load",
        type=float,
        default=0.15,
        help="measure a run again when other processes used more than this share of the CPUs "
        "during it (default 0.15)",
    )
    parser.add_argument(
        "--max-discard", type=int, default=20, help="most runs discarded per shape (default 20)"
    )
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (logs) afterwards")
    args = parser.parse_args(argv)
    args.shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    if args.repeat < 1 or any(s not in ("chain", "fanout") for s in args.shapes):
        parser.error("--repeat must be >= 1 and --shapes a list of chain,fanout")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    backends = ["embedded", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and not (
        reachable(args.database_url, 5432) and reachable(args.broker_url, 6379)
    ):
        if args.backend == "postgres":
            print(
                f"PostgreSQL ({args.database_url}) or Redis ({args.broker_url}) is not reachable.",
                file=sys.stderr,
            )
            return 2
        print(
            f"skipping postgres: {args.database_url} or {args.broker_url} is not reachable",
            file=sys.stderr,
        )
        backends.remove("postgres")

    print(
        f"reuse mode: {args.reuse}, poll every {args.poll * 1000:.0f} ms, repeat {args.repeat} after one warm-up"
    )
    print(
        f"python {PYTHON} ({sys.version.split()[0]}), nproc {os.cpu_count()}, loadavg {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows, raw = [], {}
    for backend in backends:
        raw[backend] = bench_backend(backend, args)
        rows += [summarize(backend, shape, result) for shape, result in raw[backend].items()]
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "raw": raw}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
