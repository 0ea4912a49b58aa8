"""The run engine: submit, advance, execute, cancel and reap, applied to the database.

The database is the truth and the broker a doorbell: every state change is a
conditional update, so a duplicate delivery or a dead worker leaves nothing
inconsistent. Decisions come from the plain-Python core (``runs.readiness``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from pipelines.models import PipelineGraph
from pipelines.parameters import ParameterError, format_value, resolve_parameters
from runs.executor import StepJob, run_step
from runs.models import Experiment, Run, StepRun
from runs.readiness import ACTIVE, WAITING, Status, decide
from studio import storage
from studio.models import ComputeTarget, Snapshot, queue_for
from studio.sdk.spec import EXPERIMENT_NAME, GraphSpec, SpecError, topological_order, validate_graph

log = logging.getLogger("studio.engine")

RUN_TOKEN_SALT = "studio.run-token"
HOSTNAME = socket.gethostname()


class SubmissionError(ValueError):
    """A submission refused before anything was stored; ``field`` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# --- submit ---------------------------------------------------------------------------


def validate_submission(graph_data: Any) -> GraphSpec:
    """Parse and check a graph as the SDK would, plus what only the server knows."""
    try:
        spec = GraphSpec.from_dict(graph_data)
    except SpecError as exc:
        raise SubmissionError(exc.field, exc.message) from None
    digests = {s.snapshot for s in spec.steps}
    snapshot_files = dict(Snapshot.objects.filter(digest__in=digests).values_list("digest", "files"))
    targets = list(ComputeTarget.objects.values_list("name", flat=True))
    errors = validate_graph(spec, compute_targets=targets, snapshot_files=snapshot_files)
    if errors:
        raise SubmissionError(errors[0].field, "; ".join(e.message for e in errors))
    return spec


@transaction.atomic
def submit_run(
    *,
    experiment_name: str,
    graph_data: Any,
    user=None,
    token=None,
    pipeline_parameters: Mapping[str, Any] | None = None,
    regenerate_outputs: bool = False,
    continue_on_step_failure: bool = False,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    run_source: str = "SDK",
) -> Run:
    """Validate a pipeline, store it with one StepRun per step, and queue its first steps."""
    if not isinstance(experiment_name, str) or not EXPERIMENT_NAME.match(experiment_name):
        raise SubmissionError(
            "experiment_name",
            "Experiment name must start with a letter or digit and contain only letters, digits, "
            "'_' and '-', at most 255 characters.",
        )
    spec = validate_submission(graph_data)
    try:
        parameters = resolve_parameters(spec, pipeline_parameters)
    except ParameterError as exc:
        raise SubmissionError("pipeline_parameters", str(exc)) from None
    default_target = settings.STUDIO_DEFAULT_COMPUTE
    ensure_compute_target(default_target)

    experiment, _ = Experiment.objects.get_or_create(name=experiment_name)
    graph = PipelineGraph.store(spec)
    number = Run.objects.filter(experiment=experiment).count() + 1
    run = Run.objects.create(
        experiment=experiment,
        graph=graph,
        number=number,
        description=(description if description is not None else spec.description) or experiment_name,
        parameters=parameters,
        tags=dict(tags or {}),
        continue_on_step_failure=continue_on_step_failure,
        regenerate_outputs=regenerate_outputs,
        run_source=run_source,
        created_by=user,
        created_by_token=token,
    )
    order = topological_order(spec)
    by_id = {s.node_id: s for s in spec.steps}
    StepRun.objects.bulk_create(
        [
            StepRun(
                run=run,
                node_id=node,
                name=by_id[node].name,
                position=position,
                compute_target=by_id[node].compute_target or default_target,
            )
            for position, node in enumerate(order)
        ]
    )
    advance_run(run.id)
    return run


def ensure_compute_target(name: str) -> ComputeTarget:
    target, _ = ComputeTarget.objects.get_or_create(name=name, defaults={"kind": "local"})
    return target


# --- advance --------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _graph_shape(graph_id) -> tuple[dict[str, set[str]], GraphSpec]:
    spec = PipelineGraph.objects.get(id=graph_id).graph()
    return spec.upstream(), spec


def advance_run(run_id: str, keep_local: bool = False) -> str | None:
    """Queue the steps that are ready, cancel those that can no longer run, end the run.

    Runs under a lock on the run row. Tasks are sent when the transaction commits.
    With ``keep_local`` one ready step is left unsent and its id returned, for the
    calling worker to start at once instead of waiting for the broker.
    """
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(id=run_id).first()
        if run is None or run.is_finished:
            return None
        steps = list(run.steps.only("id", "node_id", "status", "compute_target", "error", "position"))
        upstream, _ = _graph_shape(run.graph_id)
        statuses = {s.node_id: s.status for s in steps}
        order = [s.node_id for s in steps]
        decision = decide(upstream, statuses, run.continue_on_step_failure, run.cancel_requested, order)
        now = timezone.now()
        by_node = {s.node_id: s for s in steps}

        settled = True
        for node, reason in decision.cancel.items():
            updated = StepRun.objects.filter(id=by_node[node].id, status__in=list(WAITING)).update(
                status=Status.CANCELED, error=reason, ended_at=now
            )
            settled = settled and updated == 1
        to_send = []
        if decision.queue:
            ids = [by_node[n].id for n in decision.queue]
            StepRun.objects.filter(id__in=ids, status=Status.NOT_STARTED).update(
                status=Status.QUEUED, queued_at=now
            )
            to_send = [(by_node[n].id, by_node[n].compute_target) for n in decision.queue]

        fields = []
        if run.status == Status.NOT_STARTED and decision.queue:
            run.status, run.started_at = Status.RUNNING, now
            fields += ["status", "started_at"]
        if decision.run_status is not None and settled:
            run.status, run.ended_at = decision.run_status, now
            fields += ["status", "ended_at"]
            if run.started_at is None:
                run.started_at = now
                fields.append("started_at")
            if decision.run_status == Status.FAILED:
                first = next((s for s in steps if statuses[s.node_id] == Status.FAILED), None)
                if first is not None:
                    run.error = f"Step {first.name} failed: {first.error}"[:5000]
                    fields.append("error")
        if fields:
            run.save(update_fields=fields)

        kept = None
        if keep_local and to_send and _serves(to_send[0][1]):
            kept = to_send.pop(0)[0]
        if to_send:
            transaction.on_commit(lambda: _ring(to_send))
    return kept


def _serves(target: str) -> bool:
    served = settings.STUDIO_WORKER_TARGETS
    return "*" in served or target in served


def _ring(steps: list[tuple[str, str]]) -> None:
    from runs.tasks import execute_step

    for step_id, target in steps:
        execute_step.apply_async(args=[step_id], queue=queue_for(target))


# --- execute --------------------------------------------------------------------------


@dataclass
class _Claim:
    step: StepRun
    run: Run
    spec: GraphSpec


def claim_step(step_id: str) -> _Claim | None:
    """Take a Queued step for this worker; None if another delivery already has it."""
    now = timezone.now()
    claimed = StepRun.objects.filter(id=step_id, status=Status.QUEUED).update(
        status=Status.RUNNING,
        attempt=F("attempt") + 1,
        worker=f"{HOSTNAME}:{os.getpid()}",
        started_at=now,
        heartbeat_at=now,
        ended_at=None,
        exit_code=None,
        error="",
    )
    if not claimed:
        return None
    step = StepRun.objects.select_related("run", "run__experiment").get(id=step_id)
    _, spec = _graph_shape(step.run.graph_id)
    return _Claim(step=step, run=step.run, spec=spec)


def execute_step(step_id: str) -> None:
    """Claim a step, run it, record the outcome, and go on with the next ready step here."""
    next_id: str | None = step_id
    while next_id is not None:
        claim = claim_step(next_id)
        if claim is None:
            return
        next_id = _run_claimed(claim)


def _run_claimed(claim: _Claim) -> str | None:
    step, run, spec = claim.step, claim.run, claim.spec
    node = spec.step(step.node_id)
    attempt = step.attempt
    try:
        job, staged = _prepare(step, run, spec, node)
    except Exception as exc:  # a broken layout fails the step with the reason, never hangs
        log.exception("could not prepare step %s", step.id)
        return finish_step(step.id, attempt, exit_code=None, stopped=False, error=f"Could not prepare the step: {exc}")

    def _watch() -> bool:
        row = StepRun.objects.filter(id=step.id).values_list("status", "attempt").first()
        return row is None or row[0] != Status.RUNNING or row[1] != attempt

    def _heartbeat() -> None:
        StepRun.objects.filter(id=step.id, attempt=attempt, status=Status.RUNNING).update(heartbeat_at=timezone.now())

    def _on_start(pid: int) -> None:
        StepRun.objects.filter(id=step.id, attempt=attempt).update(pid=pid)

    outcome = run_step(
        job,
        watch=_watch,
        heartbeat=_heartbeat,
        heartbeat_seconds=settings.STUDIO_HEARTBEAT_SECONDS,
        grace_seconds=settings.STUDIO_CANCEL_GRACE_SECONDS,
        on_start=_on_start,
        thread_cleanup=connection.close,
    )
    shutil.rmtree(job.cwd, ignore_errors=True)
    error = ""
    if outcome.exit_code is None:
        error = outcome.reason or "The step could not be started."
    elif outcome.exit_code != 0 and not outcome.stopped:
        error = f"Step failed with exit code {outcome.exit_code}.\n{_log_tail(step.id)}"
    outputs = {}
    if outcome.exit_code == 0 and not outcome.stopped:
        outputs = _publish_outputs(staged)
    else:
        for attempt_dir, _ in staged.values():
            shutil.rmtree(attempt_dir, ignore_errors=True)
    return finish_step(
        step.id,
        attempt,
        exit_code=outcome.exit_code,
        stopped=outcome.stopped,
        error=error,
        outputs=outputs,
        log_size=outcome.log_size,
    )


def _log_tail(step_id: str, lines: int = 20) -> str:
    data, _ = storage.read_log(step_id, offset=-16384)
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _env_name(name: str) -> str:
    return re.sub(r"\W", "_", name)


def run_token(step_id: str, attempt: int) -> str:
    return "run." + signing.dumps({"s": step_id, "a": attempt}, salt=RUN_TOKEN_SALT, compress=True)


def _prepare(step: StepRun, run: Run, spec: GraphSpec, node) -> tuple[StepJob, dict]:
    """Lay out the working copy, resolve inputs, outputs and arguments, build the env."""
    work = settings.DATA_DIR / "work" / f"{step.id}.{step.attempt}"
    storage.working_copy(node.snapshot, work)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "AZUREML_", "AML_", "DJANGO_", "CELERY_", "DATABASE_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH", "")]))

    # Outputs go to an attempt-scoped folder, published under their final name on success.
    staged: dict[str, tuple[Path, Path]] = {}
    paths: dict[str, str] = {}
    for output in node.outputs:
        final = storage.output_path(output.kind, step.id, output.name)
        attempt_dir = final.parent / f".attempt-{step.attempt}" / output.name
        shutil.rmtree(attempt_dir, ignore_errors=True)
        attempt_dir.mkdir(parents=True)
        staged[output.name] = (attempt_dir, final)
        paths[("output", output.name)] = str(attempt_dir)
        if output.kind == "PipelineData":
            env[f"AZUREML_DATAREFERENCE_{_env_name(output.name)}"] = str(attempt_dir)

    producers = {
        s.node_id: s for s in StepRun.objects.filter(run=run, node_id__in=[i.source_step for i in node.inputs])
    }
    for port in node.inputs:
        producer = producers[port.source_step]
        rel = producer.outputs.get(port.source_output)
        if rel is None:
            raise RuntimeError(f"input {port.name}: step {producer.name} recorded no output {port.source_output}")
        location = str(storage.default_datastore().root_path / rel)
        paths[("input", port.name)] = location
        env[f"AZUREML_DATAREFERENCE_{_env_name(port.name)}"] = location

    def resolve(arg) -> str:
        if arg.kind == "literal":
            return arg.value
        if arg.kind == "parameter":
            return format_value(run.parameters[arg.value])
        return paths[(arg.kind, arg.value)]

    argv = [sys.executable, node.script_name, *(resolve(a) for a in node.arguments)]
    for name, arg in node.params:
        env[f"AML_PARAMETER_{_env_name(name)}"] = resolve(arg)
    for parameter in spec.parameters:
        env.setdefault(f"AML_PARAMETER_{_env_name(parameter.name)}", format_value(run.parameters[parameter.name]))

    env.update(
        {
            "STUDIO_URL": settings.STUDIO_PUBLIC_URL,
            "STUDIO_RUN_TOKEN": run_token(step.id, step.attempt),
            "STUDIO_RUN_ID": step.id,
            "STUDIO_PARENT_RUN_ID": run.id,
            "STUDIO_EXPERIMENT_NAME": run.experiment.name,
            "AZUREML_RUN_ID": step.id,
            "AZUREML_ARM_PROJECT_NAME": run.experiment.name,
        }
    )
    log_path = storage.step_log_path(step.id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if step.attempt > 1 and log_path.exists():
        with open(log_path, "ab") as fh:
            fh.write(f"\n[attempt {step.attempt}]\n".encode())
    job = StepJob(argv=argv, cwd=work, env=env, log_path=log_path, log_cap=settings.STUDIO_LOG_CAP_BYTES)
    return job, staged


def _publish_outputs(staged: dict[str, tuple[Path, Path]]) -> dict[str, str]:
    root = storage.default_datastore().root_path
    outputs = {}
    for name, (attempt_dir, final) in staged.items():
        shutil.rmtree(final, ignore_errors=True)
        os.replace(attempt_dir, final)
        shutil.rmtree(attempt_dir.parent, ignore_errors=True)
        outputs[name] = final.relative_to(root).as_posix()
    return outputs


def finish_step(
    step_id: str,
    attempt: int,
    *,
    exit_code: int | None,
    stopped: bool,
    error: str = "",
    outputs: dict | None = None,
    log_size: int = 0,
) -> str | None:
    """Record how an attempt ended (if this attempt still owns the step), then advance."""
    if exit_code == 0 and not stopped:
        status = Status.COMPLETED
    elif stopped:
        status = Status.CANCELED
        error = error or "Canceled by request"
    else:
        status = Status.FAILED
    updated = StepRun.objects.filter(
        id=step_id, attempt=attempt, status__in=[Status.RUNNING, Status.CANCEL_REQUESTED]
    ).update(
        status=status,
        exit_code=exit_code,
        error=error[:20000],
        outputs=outputs or {},
        log_size=log_size,
        ended_at=timezone.now(),
    )
    run_id = StepRun.objects.filter(id=step_id).values_list("run_id", flat=True).first()
    if run_id is None:
        return None
    if not updated:
        log.info("step %s attempt %s ended after losing its claim", step_id, attempt)
    return advance_run(run_id, keep_local=True)


# --- cancel and reap ------------------------------------------------------------------


def cancel_run(run: Run) -> Run:
    """Ask a run to stop: waiting steps are canceled now, running ones are killed by their worker."""
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(id=run.id)
        if locked.is_finished:
            return locked
        locked.cancel_requested = True
        locked.status = Status.CANCEL_REQUESTED
        locked.save(update_fields=["cancel_requested", "status"])
        StepRun.objects.filter(run=locked, status__in=list(ACTIVE)).update(status=Status.CANCEL_REQUESTED)
    advance_run(run.id)
    return Run.objects.get(id=run.id)


def reap_lost_steps() -> int:
    """Fail steps whose worker stopped heartbeating; re-ring steps whose message was lost."""
    now = timezone.now()
    horizon = now - timedelta(seconds=settings.STUDIO_WORKER_LOST_SECONDS)
    lost = StepRun.objects.filter(status__in=list(ACTIVE)).filter(
        Q(heartbeat_at__lt=horizon) | Q(heartbeat_at__isnull=True)
    )
    count = 0
    for step in lost.only("id", "run_id", "status", "attempt"):
        cancel = step.status == Status.CANCEL_REQUESTED
        updated = StepRun.objects.filter(id=step.id, attempt=step.attempt, status=step.status).update(
            status=Status.CANCELED if cancel else Status.FAILED,
            error="Canceled (worker lost)" if cancel else "Worker lost: the worker running this step stopped responding.",
            ended_at=now,
        )
        if updated:
            count += 1
            advance_run(step.run_id)
    stale = now - timedelta(seconds=max(60.0, settings.STUDIO_WORKER_LOST_SECONDS * 2))
    lingering = list(
        StepRun.objects.filter(status=Status.QUEUED, queued_at__lt=stale).values_list("id", "compute_target")
    )
    if lingering:
        StepRun.objects.filter(id__in=[i for i, _ in lingering]).update(queued_at=now)
        _ring(lingering)
    for run_id in Run.objects.filter(status__in=[Status.RUNNING, Status.CANCEL_REQUESTED]).exclude(
        steps__status__in=[*WAITING, *ACTIVE]
    ).values_list("id", flat=True):
        advance_run(run_id)
    return count

