"""The state machine of steps and runs: every change of status, and nowhere else.

A step moves::

    NotStarted -queue-> Queued -claim-> Running -finish-> Completed | Failed | Canceled
                                        Running -prepare-> Preparing -prepared-> Running
                                        (its environment is being built; it may finish)
                        Queued -reuse-> Completed        Queued -fail-> Failed
    NotStarted, Queued -cancel-> Canceled
    Running -request_cancel-> CancelRequested -finish-> Canceled
    Running, CancelRequested -lose-> Failed | Canceled   (its worker stopped heartbeating)

and, without changing its status, a Queued step is fingerprinted, rung (its message is
sent: the outbox, see ``StepRun.rung_at``), rung again or left unrung (the broker refused
its message), and a Running one records its process and heartbeats (or has its heartbeat
renewed by the reaper after the database refused writes). A run moves NotStarted -start-> Running
-end-> Completed | Failed | Canceled, and -request_cancel-> CancelRequested -end-> Canceled.

Each step transition is one conditional UPDATE naming the states it moves from, and the
attempt when it belongs to one: when two workers, a cancel and the reaper race, one wins and
the others are refused (they move nothing and return False, or 0). Run transitions change a
run its caller has locked (``select_for_update``); they check the state it moves from and
return the fields to save. Transitions still to come (a timeout, a requeue after a
shutdown, mini-batch claims) belong here too.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F

from runs.models import Run, StepRun
from studio.core.status import ACTIVE, TERMINAL, WAITING, Status


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[Status]
    targets: frozenset[Status]  # equal to sources: the status stays, other fields change


def _t(name: str, sources: Iterable[Status], targets: Iterable[Status] | None = None):
    sources = frozenset(sources)
    return Transition(name, sources, frozenset(targets) if targets is not None else sources)


RUNNING = {Status.RUNNING}
QUEUED = {Status.QUEUED}

STEP = {
    t.name: t
    for t in (
        _t("queue", {Status.NOT_STARTED}, QUEUED),
        _t("fingerprint", QUEUED),
        _t("ring", QUEUED),
        _t("ring_again", QUEUED),
        _t("unring", QUEUED),
        _t("claim", QUEUED, RUNNING),
        _t("prepare", RUNNING, {Status.PREPARING}),
        _t("prepared", {Status.PREPARING}, RUNNING),
        _t("start", ACTIVE),
        _t("heartbeat", {Status.PREPARING, Status.RUNNING}),
        _t("reuse", QUEUED, {Status.COMPLETED}),
        _t("fail", QUEUED, {Status.FAILED}),
        _t("finish", {Status.PREPARING, Status.RUNNING, Status.CANCEL_REQUESTED}, TERMINAL),
        _t("cancel", WAITING, {Status.CANCELED}),
        _t("request_cancel", ACTIVE - {Status.CANCEL_REQUESTED}, {Status.CANCEL_REQUESTED}),
        _t("lose", ACTIVE, {Status.FAILED, Status.CANCELED}),
        _t("requeue", {Status.PREPARING, Status.RUNNING}, QUEUED),
        _t("renew", ACTIVE),
    )
}
RUN = {
    t.name: t
    for t in (
        _t("start", {Status.NOT_STARTED}, RUNNING),
        _t("request_cancel", {Status.NOT_STARTED, Status.RUNNING}, {Status.CANCEL_REQUESTED}),
        _t("end", {Status.NOT_STARTED, Status.RUNNING, Status.CANCEL_REQUESTED}, TERMINAL),
    )
}


class RefusedTransition(ValueError):
    """A transition was asked to move to a state it never moves to (a programming error)."""


def _steps(name: str, target: Status | None = None, **where):
    """The steps a transition may move (its source states, and ``where``), with the fields
    that set its ``target``."""
    transition = STEP[name]
    if target is not None and target not in transition.targets:
        raise RefusedTransition(f"A step's {name} never moves it to {target}.")
    fields = {"status": target} if target is not None else {}
    return StepRun.objects.filter(status__in=transition.sources, **where), fields


# --- steps -------------------------------------------------------------------------------


def queue(step_ids: list[str], now: datetime) -> int:
    """NotStarted -> Queued: the steps are ready (their inputs exist), and each is owed a
    message (committed with the queueing, sent once it is: the outbox)."""
    steps, fields = _steps("queue", Status.QUEUED, id__in=step_ids)
    return steps.update(**fields, queued_at=now, rung_at=None)


def record_fingerprint(step_id: str, values: dict) -> bool:
    """Queued stays Queued, with its fingerprint (and why it is not reused)."""
    steps, _ = _steps("fingerprint", id=step_id)
    return steps.update(**values) == 1


def ring(step_id: str, now: datetime) -> bool:
    """Queued stays Queued, its owed message taken for sending by the caller (one caller
    wins: it sends the message)."""
    steps, _ = _steps("ring", id=step_id, rung_at__isnull=True)
    return steps.update(rung_at=now) == 1


def ring_again(step_ids: list[str], now: datetime) -> int:
    """Queued stays Queued: its message is sent again (the one sent was lost, or a worker
    handed it on)."""
    steps, _ = _steps("ring_again", id__in=step_ids)
    return steps.update(rung_at=now)


def unring(step_ids: list[str]) -> int:
    """Queued stays Queued, its message owed again: the broker did not take it."""
    steps, _ = _steps("unring", id__in=step_ids, rung_at__isnull=False)
    return steps.update(rung_at=None)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_values(now: datetime) -> dict:
    """What a claim writes on a step, besides the attempt number."""
    return {
        "status": Status.RUNNING,
        "worker": worker_name(),
        "started_at": now,
        "heartbeat_at": now,
        "ended_at": None,
        "exit_code": None,
        "error": "",
    }


def claim(step_id: str, now: datetime, attempt: int | None = None, **values) -> bool:
    """Queued -> Running for this worker, as the next attempt; with ``attempt``, only if the
    step is still at that attempt. ``values`` are written in the same update."""
    where = {"id": step_id} if attempt is None else {"id": step_id, "attempt": attempt}
    steps, _ = _steps("claim", Status.RUNNING, **where)
    next_attempt = F("attempt") + 1 if attempt is None else attempt + 1
    return steps.update(**values, **claim_values(now), attempt=next_attempt) == 1


def prepare(step_id: str, attempt: int) -> bool:
    """Running -> Preparing: the attempt waits for its environment to be built."""
    steps, fields = _steps("prepare", Status.PREPARING, id=step_id, attempt=attempt)
    return steps.update(**fields) == 1


def prepared(step_id: str, attempt: int) -> bool:
    """Preparing -> Running: the environment is built; the script starts."""
    steps, fields = _steps("prepared", Status.RUNNING, id=step_id, attempt=attempt)
    return steps.update(**fields) == 1


def start(step_id: str, attempt: int, **values) -> bool:
    """Running (or CancelRequested) stays so: the attempt's process started (its pid...)."""
    steps, _ = _steps("start", id=step_id, attempt=attempt)
    return steps.update(**values) == 1


def heartbeat(step_id: str, attempt: int, now: datetime) -> bool:
    """Preparing or Running stays so: the attempt's worker is alive."""
    steps, _ = _steps("heartbeat", id=step_id, attempt=attempt)
    return steps.update(heartbeat_at=now) == 1


def reuse(step_id: str, original: StepRun, values: dict, now: datetime) -> bool:
    """Queued -> Completed with the outputs of ``original``, which it reuses."""
    steps, fields = _steps("reuse", Status.COMPLETED, id=step_id)
    updated = steps.update(
        **fields,
        **values,
        reused_from=original,
        outputs=original.outputs,
        started_at=now,
        ended_at=now,
        exit_code=0,
        properties={
            "azureml.reusedrunid": original.id,
            "azureml.reusednodeid": original.node_id,
            "azureml.reusedpipeline": original.run_id,
            "azureml.isreused": "true",
        },
    )
    return updated == 1


def fail(step_id: str, error: str, now: datetime) -> bool:
    """Queued -> Failed before it ran (its inputs could not be read)."""
    steps, fields = _steps("fail", Status.FAILED, id=step_id)
    return steps.update(**fields, error=error, ended_at=now) == 1


def finish(step_id: str, attempt: int, status: Status, now: datetime, **values) -> bool:
    """Preparing, Running or CancelRequested -> Completed, Failed or Canceled: how it ended,
    if it still owns the step."""
    steps, fields = _steps("finish", status, id=step_id, attempt=attempt)
    return steps.update(**fields, **values, ended_at=now) == 1


def cancel(step_id: str, reason: str, now: datetime) -> bool:
    """NotStarted or Queued -> Canceled: the step can no longer run."""
    steps, fields = _steps("cancel", Status.CANCELED, id=step_id)
    return steps.update(**fields, error=reason, ended_at=now) == 1


def request_cancel(run: Run) -> int:
    """Running -> CancelRequested, for the run's active steps: their workers stop them."""
    steps, fields = _steps("request_cancel", Status.CANCEL_REQUESTED, run=run)
    return steps.update(**fields)


def lose(step_id: str, attempt: int, seen: Status, now: datetime) -> bool:
    """Running or CancelRequested -> Failed or Canceled (a requested cancel is done): the
    attempt's worker stopped heartbeating. Only if the step is still as ``seen``."""
    target = Status.CANCELED if seen == Status.CANCEL_REQUESTED else Status.FAILED
    steps, fields = _steps("lose", target, id=step_id, attempt=attempt)
    error = (
        "Canceled (worker lost)"
        if target == Status.CANCELED
        else "Worker lost: the worker running this step stopped responding."
    )
    return steps.filter(status=seen).update(**fields, error=error, ended_at=now) == 1


def requeue(step_id: str, attempt: int, now: datetime) -> bool:
    """Preparing or Running -> Queued: the attempt was interrupted by its worker's shutdown;
    the next claim makes the next attempt."""
    steps, fields = _steps("requeue", Status.QUEUED, id=step_id, attempt=attempt)
    return (
        steps.update(
            **fields,
            queued_at=now,
            rung_at=None,  # its message is owed (the outbox)
            worker="",
            heartbeat_at=None,
            pid=None,
            error="",
        )
        == 1
    )


def renew(step_id: str, attempt: int, seen: Status, now: datetime) -> bool:
    """Preparing, Running or CancelRequested stays so, its heartbeat renewed by the reaper:
    the database refused writes, so the attempt's silence proves nothing yet."""
    steps, _ = _steps("renew", id=step_id, attempt=attempt)
    return steps.filter(status=seen).update(heartbeat_at=now) == 1


# --- runs (locked by the caller) -----------------------------------------------------------


def _run_may(run: Run, name: str, target: Status) -> bool:
    transition = RUN[name]
    if target not in transition.targets:
        raise RefusedTransition(f"A run's {name} never moves it to {target}.")
    return run.status in transition.sources


def start_run(run: Run, now: datetime) -> list[str]:
    """NotStarted -> Running: its first steps are queued. Returns the fields to save."""
    if not _run_may(run, "start", Status.RUNNING):
        return []
    run.status, run.started_at = Status.RUNNING, now
    return ["status", "started_at"]


def end_run(run: Run, status: Status, now: datetime, error: str = "") -> list[str]:
    """NotStarted, Running or CancelRequested -> Completed, Failed or Canceled: all its steps
    have ended. Returns the fields to save."""
    if not _run_may(run, "end", status):
        return []
    run.status, run.ended_at = status, now
    fields = ["status", "ended_at", "duration_ms"]
    if run.started_at is None:
        run.started_at = now
        fields.append("started_at")
    run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
    if error:
        run.error = error[:5000]
        fields.append("error")
    return fields


def request_cancel_run(run: Run) -> bool:
    """NotStarted or Running -> CancelRequested, and saved; then its active steps too."""
    if not _run_may(run, "request_cancel", Status.CANCEL_REQUESTED):
        return False
    run.cancel_requested = True
    run.status = Status.CANCEL_REQUESTED
    run.save(update_fields=["cancel_requested", "status"])
    request_cancel(run)
    return True
