"""How busy this machine's CPUs are, from /proc/stat and /proc/<pid>/stat: the benchmarks wait for
quiet CPUs and report the share other processes took (imported by the scripts beside it)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
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


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the CPUs that were busy between two ``cpu_times()`` readings."""
    total = max(1, after[0] - before[0])
    return (total - (after[1] - before[1])) / total


@dataclass(frozen=True)
class ProcStat:
    """One process in /proc/<pid>/stat, CPU in USER_HZ ticks."""

    ppid: int
    comm: str
    own: int  # utime + stime
    reaped: int  # cutime + cstime: children it has waited for

    @property
    def total(self) -> int:
        return self.own + self.reaped


def own_ticks(pid: int | str) -> int:
    """utime + stime of one process ("self" for this one), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def proc_stats() -> dict[int, ProcStat]:
    """Every process on the machine now."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            comm = text[text.index("(") + 1 : text.rindex(")")]
            rest = text[text.rindex(")") + 2 :].split()
            stats[int(entry)] = ProcStat(
                ppid=int(rest[1]),
                comm=comm,
                own=int(rest[11]) + int(rest[12]),
                reaped=int(rest[13]) + int(rest[14]),
            )
    return stats


def process_tree(stats: dict[int, ProcStat], roots: list[int]) -> set[int]:
    """``roots`` (those still running) and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        children.setdefault(stat.ppid, []).append(pid)
    found, todo = set(), [r for r in roots if r in stats]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found
