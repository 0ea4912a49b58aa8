"""The four invariants every fault test ends with: nothing left Queued or Running; nothing
published from an attempt that did not complete; only verified successes in the reuse index;
no process left behind once the Studio under test has stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

_STATE = """
import json
from runs.models import Run, StepRun
from runs.reuse import outputs_intact
from studio.core.status import TERMINAL
done = list(TERMINAL)
runs = Run.objects.all()
steps = StepRun.objects.all()
only = {only!r}
if only:
    runs, steps = runs.filter(id__in=only), steps.filter(run_id__in=only)
print(json.dumps({{
    "unfinished": [
        *runs.exclude(status__in=done).values_list("id", flat=True),
        *steps.exclude(status__in=done).values_list("id", flat=True),
    ],
    "published_by_a_failed_attempt": list(
        steps.exclude(status="Completed").exclude(outputs={{}}).values_list("id", flat=True)
    ),
    "unverified_in_the_reuse_index": [
        s.id
        for s in steps.filter(status="Completed").exclude(fingerprint="")
        if not outputs_intact(s.reused_from or s)
    ],
}}))
"""


def database_state(manage: Callable[..., str], run_ids: Iterable[str] = ()) -> dict:
    """What breaks the first three invariants, read by ``manage.py shell`` (``manage`` runs a
    management command of the Studio under test); only ``run_ids`` when given (a Studio shared
    with other tests)."""
    out = manage("shell", "-c", _STATE.format(only=list(run_ids)))
    return json.loads(out.strip().splitlines()[-1])


def assert_database_invariants(manage: Callable[..., str], run_ids: Iterable[str] = ()) -> None:
    assert database_state(manage, run_ids) == {
        "unfinished": [],
        "published_by_a_failed_attempt": [],
        "unverified_in_the_reuse_index": [],
    }


def processes_under(folder: Path) -> list[int]:
    """Processes working in ``folder`` (a step's working copy is under its Studio's data dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd.startswith(str(folder)):
                found.append(int(entry.name))
    return found


def assert_invariants(studio, run_ids: Iterable[str] = ()) -> None:
    """All four, for a harness ``Studio`` of the test's own (stopped at the end: its processes
    must all be gone), or, with ``run_ids``, the first three for those runs of a shared one."""
    assert_database_invariants(studio.manage, run_ids)
    if not run_ids:
        studio.stop()
        assert processes_under(studio.data_dir) == []
