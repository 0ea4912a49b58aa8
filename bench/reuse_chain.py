"""Step reuse: an unchanged 20-step chain resubmitted, and fingerprinting a 1 GB input folder.

Starts a Studio on the embedded defaults (SQLite + the filesystem broker) with
``tests.harness.Studio`` and:

1. chain: submits through the SDK a ``StepSequence`` of ``--steps`` PythonScriptSteps, no-op
   scripts in one source folder, each with distinct arguments (``--step i``) so each step is its
   own; waits for it; then resubmits it unchanged ``--repeat`` times and measures each from just
   before ``Experiment.submit`` (the SDK's snapshot hash + upload check included) to a poll of
   ``GET /api/runs/<id>/`` (every 10 ms) that sees ``Completed``; checks every step was Reused.
   Target: under 1 s.
2. data: writes ``--files`` files of ``--file-kb`` KB (default 10,000 x 100 KB = 1 GB, in 100
   folders) under the default datastore, registers the folder as a File dataset, then in this
   process (Django configured for the Studio's data dir and SQLite database) times
   ``studio.workspace.services.resolve_dataset(ds).fingerprint`` and ``runs.reuse.input_identities`` for a
   step reading the dataset, with nothing changed (median of ``--repeat``). Also the end-to-end
   resubmit of a one-step pipeline reading it (reused at submit). Target: under 2 s.
   The files are deleted at the end.

    .venv/bin/python bench/reuse_chain.py [--steps 20] [--repeat 5] [--files 10000] [--file-kb 100]

Everything it starts is stopped on exit, errors included.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from common import TERMINAL, exit_on_sigterm, fmt_ms, running
from cpuload import busy_share, cpu_times

from tests.harness import Studio

if TYPE_CHECKING:
    from studio.sdk.pipeline.core import Pipeline

NOOP = 'import sys\n\nprint("noop", *sys.argv[1:])\n'
CHAIN_TARGET = 1.0
FINGERPRINT_TARGET = 2.0


def cpu_busy_others(fn):
    """Run fn(); return (value, share of all CPUs that were busy meanwhile)."""
    t0 = cpu_times()
    value = fn()
    return value, busy_share(t0, cpu_times())


def submit_and_wait(studio: Studio, experiment, pipeline, poll: float = 0.01, timeout=300):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {studio.token}"
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        run = experiment.submit(pipeline)
    t_submit = time.perf_counter() - t0
    while True:
        data = session.get(f"{studio.url}/api/runs/{run.id}/", timeout=30).json()
        if data["status"] in TERMINAL:
            wall = time.perf_counter() - t0
            break
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"run {run.id} still {data['status']}\n{studio.tail('worker')}")
        time.sleep(poll)
    session.close()
    return wall, t_submit, data


def reused_steps(data: dict) -> int:
    return sum(1 for s in data["steps"] if (s.get("reuse") or {}).get("reused"))


def server_seconds(data: dict) -> float:
    """The run's created->ended, from the server's timestamps."""
    return (
        datetime.fromisoformat(data["ended_at"].replace("Z", "+00:00"))
        - datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))
    ).total_seconds()


@dataclass
class Bench:
    """What the phases share: the options, the running Studio, its workspace, the scripts."""

    args: argparse.Namespace
    studio: Studio
    ws: Any
    source: Path


@dataclass
class Timings:
    """Seconds per measured repetition (the warm-up left out)."""

    walls: list[float] = field(default_factory=list)
    submits: list[float] = field(default_factory=list)
    servers: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    fingerprint: list[float] = field(default_factory=list)
    identities: list[float] = field(default_factory=list)
    e2e: list[float] = field(default_factory=list)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--file-kb", type=int, default=100)
    parser.add_argument("--skip-data", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one fingerprint")
    return parser.parse_args()


# --- 1. the chain ------------------------------------------------------------------------------


def chain(bench: Bench) -> Pipeline:
    from studio.sdk.pipeline.core import Pipeline, StepSequence
    from studio.sdk.pipeline.steps import PythonScriptStep

    steps = [
        PythonScriptStep(
            name=f"step-{i:02d}",
            script_name="noop.py",
            source_directory=str(bench.source),
            arguments=["--step", str(i)],
            allow_reuse=True,
        )
        for i in range(bench.args.steps)
    ]
    return Pipeline(bench.ws, [StepSequence(steps)], description="reuse chain")


def measure_chain(bench: Bench, timings: Timings) -> None:
    """The chain run once, then resubmitted unchanged: a warm-up and --repeat measured."""
    from studio.sdk.core import Experiment

    args, studio = bench.args, bench.studio
    experiment = Experiment(bench.ws, "reuse-chain")
    wall, _, data = submit_and_wait(studio, experiment, chain(bench))
    assert data["status"] == "Completed", data.get("error")
    assert reused_steps(data) == 0, "the first run reused steps"
    print(f"first run ({args.steps} steps executed): {wall:.2f} s", flush=True)
    for i in range(args.repeat + 1):
        (wall, t_submit, data), b = cpu_busy_others(
            lambda: submit_and_wait(studio, experiment, chain(bench))
        )
        n = reused_steps(data)
        if data["status"] != "Completed" or n != args.steps:
            raise RuntimeError(f"resubmit ended {data['status']} with {n} steps reused")
        server = server_seconds(data)
        label = "warm-up" if i == 0 else f"#{i}"
        print(
            f"resubmit {label}: {wall * 1000:.0f} ms to Completed ({n}/{args.steps} reused); "
            f"inside Experiment.submit {t_submit * 1000:.0f} ms; server created->ended "
            f"{server * 1000:.0f} ms; machine busy {b:.0%}",
            flush=True,
        )
        if i:
            timings.walls.append(wall)
            timings.submits.append(t_submit)
            timings.servers.append(server)
            timings.busy.append(b)


# --- 2. the 1 GB folder ------------------------------------------------------------------------


def write_files(args: argparse.Namespace, root: Path) -> None:
    t = time.perf_counter()
    block = os.urandom(args.file_kb * 1024)
    per_folder = 100
    for i in range(args.files):
        folder = root / f"part-{i // per_folder:03d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file-{i:05d}.bin").write_bytes(block)
    os.sync()
    total_mb = args.files * args.file_kb / 1024
    print(
        f"\nwrote {args.files} files ({total_mb:.0f} MB) in {time.perf_counter() - t:.1f} s",
        flush=True,
    )


def resubmit_reader(bench: Bench, timings: Timings) -> tuple[Any, str]:
    """Register the folder as a File dataset, run a one-step pipeline reading it, resubmit it
    three times (reused at submit); returns (the dataset, the id of the last run)."""
    from studio.sdk.core import Dataset, Experiment
    from studio.sdk.pipeline.core import Pipeline
    from studio.sdk.pipeline.steps import PythonScriptStep

    ws, studio = bench.ws, bench.studio
    store = ws.get_default_datastore()
    t = time.perf_counter()
    dataset = Dataset.File.from_files(path=(store, "bigdata")).register(ws, "bigdata")
    print(
        f"registered File dataset bigdata v{dataset.version} in {time.perf_counter() - t:.2f} s",
        flush=True,
    )

    def reader() -> Pipeline:
        step = PythonScriptStep(
            name="read-big",
            script_name="noop.py",
            source_directory=str(bench.source),
            arguments=["--data", dataset.as_named_input("big").as_mount()],
            allow_reuse=True,
        )
        return Pipeline(ws, [step], description="big input")

    data_exp = Experiment(ws, "reuse-bigdata")
    wall, _, data = submit_and_wait(studio, data_exp, reader())
    assert data["status"] == "Completed", data.get("error")
    print(f"first run reading it: {wall:.2f} s", flush=True)
    for i in range(3):
        wall, _, data = submit_and_wait(studio, data_exp, reader())
        assert reused_steps(data) == 1, data
        timings.e2e.append(wall)
        print(
            f"resubmit #{i + 1} (reused; fingerprint computed in the submit request): "
            f"{wall * 1000:.0f} ms",
            flush=True,
        )
    return dataset, data["id"]


def measure_fingerprint(bench: Bench, timings: Timings, version: int, run_id: str) -> None:
    """In this process, Django on the Studio's data dir and SQLite database: the dataset's
    fingerprint and the step's input identities, nothing changed."""
    args = bench.args
    os.environ["STUDIO_DATA_DIR"] = str(bench.studio.data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from runs.models import Run
    from runs.reuse import input_identities
    from runs.services import graph_of
    from studio.workspace.models import Dataset as DatasetRow
    from studio.workspace.services import resolve_dataset

    row = DatasetRow.objects.get(name="bigdata", version=version)
    run = Run.objects.get(id=run_id)
    step = run.steps.get()
    node = graph_of(run.graph_id).step(step.node_id)
    expected = step.fingerprint_parts["inputs"]["big"]["data"]
    for i in range(args.repeat + 1):
        t = time.perf_counter()
        resolved = resolve_dataset(row)
        fp = resolved.fingerprint
        d_fp = time.perf_counter() - t
        t = time.perf_counter()
        ident = input_identities(run, node)
        d_ii = time.perf_counter() - t
        assert resolved.count == args.files, resolved.count
        assert fp == expected == ident["big"]["data"], "fingerprint changed"
        label = "warm-up" if i == 0 else f"#{i}"
        print(
            f"{label}: resolve_dataset(...).fingerprint {d_fp * 1000:.0f} ms "
            f"({resolved.count} files), input_identities {d_ii * 1000:.0f} ms",
            flush=True,
        )
        if i:
            timings.fingerprint.append(d_fp)
            timings.identities.append(d_ii)
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        resolve_dataset(row).fingerprint  # noqa: B018
        prof.disable()
        print("\n--- cProfile of resolve_dataset(ds).fingerprint (tottime, top 20) ---")
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)


def measure_data(bench: Bench, timings: Timings) -> None:
    root = bench.studio.data_dir / "datastores" / "workspaceblobstore" / "bigdata"
    write_files(bench.args, root)
    dataset, last_run_id = resubmit_reader(bench, timings)
    measure_fingerprint(bench, timings, dataset.version, last_run_id)
    from django.db import connections

    connections.close_all()
    shutil.rmtree(root)
    print(f"deleted {root}", flush=True)


def print_summary(args: argparse.Namespace, timings: Timings) -> None:
    t = timings
    print("\n== summary")
    print(
        f"unchanged {args.steps}-step chain, submit -> Completed (all reused): "
        f"{fmt_ms(t.walls)}; of which inside Experiment.submit {fmt_ms(t.submits)}; server "
        f"created->ended {fmt_ms(t.servers)}; machine busy (max) {max(t.busy):.0%}"
    )
    chain_median = statistics.median(t.walls)
    print(f"target < {CHAIN_TARGET:.0f} s: {'MET' if chain_median < CHAIN_TARGET else 'NOT MET'}")
    if t.fingerprint:
        print(
            f"resolve_dataset(ds).fingerprint, {args.files} files unchanged: "
            f"{fmt_ms(t.fingerprint)}"
        )
        print(f"runs.reuse.input_identities for a step reading it: {fmt_ms(t.identities)}")
        print(f"end-to-end resubmit of a 1-step pipeline reading it (reused): {fmt_ms(t.e2e)}")
        fp_median = statistics.median(t.identities)
        print(
            f"target < {FINGERPRINT_TARGET:.0f} s: "
            f"{'MET' if fp_median < FINGERPRINT_TARGET else 'NOT MET'}"
        )


def main() -> int:
    args = parse_args()
    exit_on_sigterm()
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"):
        os.environ.pop(key, None)  # the embedded defaults
    tmp = Path(tempfile.mkdtemp(prefix="studio-bench-reuse-"))
    source = tmp / "source"
    source.mkdir()
    (source / "noop.py").write_text(NOOP)
    studio = Studio(tmp / "studio")
    try:
        with running(studio) as took:
            print(
                f"Studio (SQLite + filesystem broker) up at {studio.url} in {took:.1f} s",
                flush=True,
            )
            bench = Bench(args, studio, studio.workspace(), source)
            timings = Timings()
            measure_chain(bench, timings)
            if not args.skip_data:
                measure_data(bench, timings)
            print_summary(args, timings)
            return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
