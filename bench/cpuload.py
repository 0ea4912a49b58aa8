"""How busy this machine's CPUs are, from /proc/stat: the benchmarks wait for quiet CPUs and
report the share other processes took (imported by the scripts beside it)."""

from __future__ import annotations

import time
from pathlib import Path


def cpu_times() -> tuple[int, int]:
    """(all ticks, idle + iowait ticks) of the machine so far, in USER_HZ ticks."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(fields), fields[3] + fields[4]


def idle_fraction(seconds: float = 1.0) -> float:
    """The share of the CPUs that stayed idle during the next ``seconds``."""
    total0, idle0 = cpu_times()
    time.sleep(seconds)
    total1, idle1 = cpu_times()
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_quiet(threshold: float, max_wait: float, sample: float = 1.0) -> float:
    """Wait (up to ``max_wait`` s) until the CPUs are at least ``threshold`` idle over a
    ``sample``; returns the last reading."""
    deadline = time.monotonic() + max_wait
    idle = idle_fraction(sample)
    while idle < threshold and time.monotonic() < deadline:
        idle = idle_fraction(sample)
    return idle
