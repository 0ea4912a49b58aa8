"""How long ``make test-fast`` takes: everything that needs no server, worker or browser.

Runs the same pytest command ``make test-fast`` runs, ``--repeat`` times, and next to each run
two references measured in the same minute, since this machine's speed drifts: the suite's
collection alone (interpreter, Django and every test module imported) and a fixed piece of
pure-Python work (what one core does now).

    .venv/bin/python bench/fast_suite.py --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
FAST = ["-m", "not integration and not browser", "-n", "auto"]


def _timed(argv: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed, done.stdout.strip().splitlines()[-1]


def _cpu_reference() -> float:
    """A fixed amount of pure-Python work: 2 million additions and a sort of 200,000 numbers."""
    started = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    sorted(range(200_000, 0, -1))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "STUDIO_TEST_BUDGET": "fast"}
    suites, collects, cpus = [], [], []
    for i in range(args.repeat):
        cpus.append(_cpu_reference())
        collect, _ = _timed([*PYTEST, *FAST, "--collect-only"], env)
        collects.append(collect)
        suite, summary = _timed([*PYTEST, *FAST], env)
        suites.append(suite)
        print(
            f"#{i + 1}: suite {suite:.1f} s ({summary}); collection alone {collect:.1f} s; "
            f"CPU reference {cpus[-1] * 1000:.0f} ms; load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    print(
        f"median: suite {statistics.median(suites):.1f} s (min {min(suites):.1f}, "
        f"max {max(suites):.1f}); collection {statistics.median(collects):.1f} s; "
        f"CPU reference {statistics.median(cpus) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
