"""Step environments: what a built one adds to a step's start, and what a build costs.

Measured on the worker's own path (``runs.envbuild``: find or build the environment, then
start the script), each next to its reference in the same run:

1. warm start: an already-built environment vs the worker's own interpreter, from "prepare"
   to the script's first line (median of 20 each);
2. a new three-package environment whose packages are in uv's cache: prepare + build + the
   script's first line (median of 7);
3. a cold build (empty uv cache) vs ``uv venv`` + ``uv pip install`` of the same packages
   into an empty venv with an empty cache (median of 7 each; needs PyPI).

    .venv/bin/python bench/environments.py [--rounds 7] [--skip-cold]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uv
from common import ROOT  # noqa: F401  (puts the project on sys.path)

from runs import envbuild
from studio.core.environments import parse_definition, plan

PACKAGES = ["tabulate", "requests", "pyyaml"]
SCRIPT = "import time; print(time.time_ns())\n"


def _build(env_dir: Path, packages: list[str], log: Path, cache: str | None = None):
    base = dict(os.environ)
    base.pop("PYTHONPATH", None)
    if cache:
        base["UV_CACHE_DIR"] = cache
    return envbuild.Build(
        env_dir=env_dir,
        uv=uv.find_uv_bin(),
        pythons=[sys.executable],
        strict=False,
        base_env=base,
        log_path=log,
        log_cap=10**8,
        watch=lambda: False,
        heartbeat=lambda: None,
        heartbeat_seconds=60,
        on_wait=lambda: None,
        on_build=lambda: None,
    )


def _first_line_after(python: str, script: Path, started: int) -> float:
    """Seconds from ``started`` (ns) to the script's first line."""
    out = subprocess.run([python, str(script)], capture_output=True, text=True, check=True)
    return (int(out.stdout.strip()) - started) / 1e9


def _prepare_and_start(step_plan, build, script: Path) -> float:
    started = time.time_ns()
    if step_plan.on_worker:
        return _first_line_after(sys.executable, script, started)
    environment = envbuild.ensure(step_plan, build)
    try:
        return _first_line_after(environment.python, script, started)
    finally:
        environment.release()


def warm_start(work: Path, rounds: int = 20) -> dict:
    script = work / "first_line.py"
    script.write_text(SCRIPT)
    built_plan = plan(parse_definition({"python": None, "pip_packages": PACKAGES}))
    worker_plan = plan(parse_definition({}))
    build = _build(work / "envs", PACKAGES, work / "warm.log")
    _prepare_and_start(built_plan, build, script)  # build it once
    built, own = [], []
    for _ in range(rounds):
        own.append(_prepare_and_start(worker_plan, build, script))
        built.append(_prepare_and_start(built_plan, build, script))
    return {"worker": statistics.median(own), "built": statistics.median(built)}


def new_environment(work: Path, rounds: int) -> list[float]:
    """Prepare + build + first line, packages in uv's cache (warmed by warm_start)."""
    script = work / "first_line.py"
    times = []
    for i in range(rounds):
        step_plan = plan(parse_definition({"python": None, "pip_packages": PACKAGES}))
        build = _build(work / f"new-{i}", PACKAGES, work / f"new-{i}.log")
        times.append(_prepare_and_start(step_plan, build, script))
    return times


def cold(work: Path, rounds: int) -> tuple[list[float], list[float]]:
    studio_times, reference = [], []
    uv_bin = uv.find_uv_bin()
    for i in range(rounds):
        cache = work / f"cache-s{i}"
        step_plan = plan(parse_definition({"python": None, "pip_packages": PACKAGES}))
        build = _build(work / f"cold-{i}", PACKAGES, work / f"cold-{i}.log", str(cache))
        started = time.perf_counter()
        envbuild.ensure(step_plan, build).release()
        studio_times.append(time.perf_counter() - started)
        env = {**os.environ, "UV_CACHE_DIR": str(work / f"cache-r{i}")}
        venv = work / f"ref-{i}"
        started = time.perf_counter()
        subprocess.run(
            [uv_bin, "venv", "-q", "--python", sys.executable, str(venv)], env=env, check=True
        )
        subprocess.run(
            [uv_bin, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *PACKAGES],
            env=env,
            check=True,
        )
        reference.append(time.perf_counter() - started)
    return studio_times, reference


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="studio-bench-envs-"))
    try:
        warm = warm_start(work)
        print(
            f"warm start, median of 20: worker's Python {warm['worker'] * 1000:.1f} ms, "
            f"built environment {warm['built'] * 1000:.1f} ms "
            f"(+{(warm['built'] - warm['worker']) * 1000:.1f} ms)"
        )
        new = new_environment(work, args.rounds)
        print(
            f"new environment, packages in uv's cache, prepare to first line: median "
            f"{statistics.median(new):.2f} s (min {min(new):.2f}, max {max(new):.2f})"
        )
        if not args.skip_cold:
            studio_times, reference = cold(work, args.rounds)
            ratio = statistics.median(studio_times) / statistics.median(reference)
            print(
                f"cold build, empty cache: Studio median {statistics.median(studio_times):.2f} s, "
                f"uv venv + uv pip install {statistics.median(reference):.2f} s ({ratio:.2f}x)"
            )
    finally:
        for path in work.rglob("*"):
            if not path.is_symlink() and path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
