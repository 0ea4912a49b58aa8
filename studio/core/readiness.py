"""What runs next, and how a run ends: plain decisions over plain data (no Django).

Statuses are RunHistory's words. The engine feeds in the current step statuses
and applies the returned decision to the database under a lock on the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from studio.core.status import TERMINAL, WAITING, Status


@dataclass(frozen=True)
class Decision:
    """What to do now: queue these steps, cancel those (with a reason), end the run."""

    queue: tuple[str, ...] = ()
    cancel: Mapping[str, str] = field(default_factory=dict)
    run_status: Status | None = None


def decide(
    upstream: Mapping[str, set[str]],
    statuses: Mapping[str, str],
    continue_on_step_failure: bool = False,
    cancel_requested: bool = False,
    order: list[str] | None = None,
) -> Decision:
    """Decide the next move of a run from its steps' statuses.

    - A NotStarted step whose upstream steps all Completed is queued.
    - A cancel request cancels every step that has not started.
    - A failed step cancels the steps that have not started: all of them, or with
      ``continue_on_step_failure`` only those downstream of it.
    - The run ends once every step is terminal: Failed if one failed, else Canceled
      if one was canceled, else Completed.
    """
    order = order or list(upstream)
    current = {node: Status(statuses[node]) for node in order}
    failed = [n for n in order if current[n] == Status.FAILED]
    cancel: dict[str, str] = {}

    if cancel_requested:
        for node in order:
            if current[node] in WAITING:
                cancel[node] = "Canceled by request"
    elif failed:
        if continue_on_step_failure:
            doomed = _downstream_of(
                upstream, set(failed) | {n for n in order if current[n] == Status.CANCELED}
            )
            for node in order:
                if node in doomed and current[node] == Status.NOT_STARTED:
                    cancel[node] = "Not run: an upstream step did not complete"
        else:
            for node in order:
                if current[node] in WAITING:
                    cancel[node] = f"Not run: step {failed[0]} failed"
    else:
        # A canceled upstream step (worker lost, cancel) blocks its downstream steps.
        canceled = {n for n in order if current[n] == Status.CANCELED}
        if canceled:
            for node in _downstream_of(upstream, canceled):
                if current[node] == Status.NOT_STARTED:
                    cancel[node] = "Not run: an upstream step was canceled"

    after = {**current, **{n: Status.CANCELED for n in cancel}}
    queue = tuple(
        node
        for node in order
        if after[node] == Status.NOT_STARTED
        and all(after[u] == Status.COMPLETED for u in upstream[node])
        and not cancel_requested
    )
    run_status = None
    if not queue and all(after[n] in TERMINAL for n in order):
        if any(s == Status.FAILED for s in after.values()):
            run_status = Status.FAILED
        elif any(s == Status.CANCELED for s in after.values()):
            run_status = Status.CANCELED
        else:
            run_status = Status.COMPLETED
    return Decision(queue=queue, cancel=cancel, run_status=run_status)


def _downstream_of(upstream: Mapping[str, set[str]], roots: set[str]) -> set[str]:
    downstream: dict[str, set[str]] = {n: set() for n in upstream}
    for node, ups in upstream.items():
        for u in ups:
            downstream.setdefault(u, set()).add(node)
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        for child in downstream.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen
