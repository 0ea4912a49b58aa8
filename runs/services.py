"""The run engine: submit, advance, execute, cancel and reap, applied to the database.

The database is the truth and the broker a doorbell: every state change is a
conditional update, so a duplicate delivery or a dead worker leaves nothing
inconsistent. Decisions come from the plain-Python core (``studio.core.readiness``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import KombuError

from runs import reuse, transitions
from runs.models import Experiment, PipelineGraph, Run, StepRun
from runs.timeline import StepTimes, timeline_figure, waited_for
from studio.core.environments import plan
from studio.core.errors import StudioError
from studio.core.names import check_experiment_name, check_name, check_tags
from studio.core.parameters import resolve_parameters
from studio.core.paths import clean_path
from studio.core.readiness import decide
from studio.core.spec import (
    GraphSpec,
    ParameterSpec,
    topological_order,
)
from studio.core.status import ACTIVE, WAITING, Status
from studio.core.validation import validate_graph
from studio.workspace import modules, outages, storage
from studio.workspace.models import (
    CONTROL_QUEUE,
    ApiToken,
    ComputeTarget,
    Dataset,
    EnvironmentBuild,
    Snapshot,
    queue_for,
)
from studio.workspace.services import get_dataset, save_dataset_definition

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

log = logging.getLogger("studio.engine")


# --- submit ---------------------------------------------------------------------------


def validate_submission(graph_data: Any) -> GraphSpec:
    """Parse and check a graph as the SDK would, plus what only the server knows."""
    try:
        spec = GraphSpec.from_dict(graph_data)
    except StudioError as exc:
        raise StudioError(exc.field, exc.message) from None
    digests = {s.snapshot for s in spec.steps}
    snapshot_files = dict(
        Snapshot.objects.filter(digest__in=digests).values_list("digest", "files")
    )
    targets = list(ComputeTarget.objects.values_list("name", flat=True))
    wanted = {i.dataset for s in spec.steps for i in s.inputs if i.dataset}
    wanted |= {p.default["id"] for p in spec.parameters if p.type == "dataset"}
    datasets = {
        str(d)
        for d in Dataset.objects.filter(id__in=[d for d in wanted if _is_uuid(d)]).values_list(
            "id", flat=True
        )
    }
    datastores = set(storage.datastores().values_list("name", flat=True))
    errors = validate_graph(
        spec,
        compute_targets=targets,
        snapshot_files=snapshot_files,
        datasets=datasets,
        datastores=datastores,
    )
    if errors:
        raise StudioError(errors[0].field, "; ".join(e.message for e in errors))
    modules.check_graph(spec)
    for i, step in enumerate(spec.steps):
        if step.environment is not None:
            plan(
                step.environment,
                settings.STUDIO_ENV_ALLOW_CUSTOM_SOURCES,
                f"graph.steps[{i}].environment",
            )
    for step in spec.steps:
        for port in step.inputs:
            if port.datastore:
                try:
                    clean_path(port.path, allow_glob=True)
                except StudioError as exc:
                    raise StudioError(
                        "graph.steps", f"Input {port.name} on step {step.name}: {exc}"
                    ) from None
    return spec


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@transaction.atomic
def submit_run(
    *,
    experiment_name: str,
    graph_data: Any,
    user: AbstractUser | None = None,
    token: ApiToken | None = None,
    pipeline_parameters: Mapping[str, Any] | None = None,
    regenerate_outputs: bool = False,
    continue_on_step_failure: bool = False,
    tags: Mapping[str, str] | None = None,
    properties: Mapping[str, str] | None = None,
    description: str | None = None,
    run_source: str = "SDK",
    source: Mapping[str, Mapping[str, str]] | None = None,
    idempotency_key: str | None = None,
    dispatch_in_worker: bool = False,
    warnings: list[str] | None = None,
) -> Run:
    """Validate a pipeline, store it with one StepRun per step, and queue its first steps.

    The first steps are fingerprinted (and reused, or rung) once the run is committed: here,
    or with ``dispatch_in_worker`` by a worker, so that the caller (a REST endpoint) answers
    without waiting for the reuse check.
    """
    check_experiment_name(experiment_name)
    check_tags(dict(tags or {}))
    spec = validate_submission(graph_data)
    warnings = [
        *(warnings or []),
        *modules.deprecation_warnings(modules.check_graph(spec).values()),
    ]
    parameters = run_parameters(spec, pipeline_parameters)
    default_target = settings.STUDIO_DEFAULT_COMPUTE
    ensure_compute_target(default_target)

    experiment, _ = Experiment.objects.get_or_create(name=experiment_name)
    graph = PipelineGraph.store(spec)
    _remember_graph(graph.id, spec)
    number = _next_run_number(experiment)
    run = Run.objects.create(
        experiment=experiment,
        graph=graph,
        number=number,
        description=(description if description is not None else spec.description)
        or experiment_name,
        parameters=parameters,
        tags=dict(tags or {}),
        properties=dict(properties or {}),
        **_source_fields(source),
        idempotency_key=idempotency_key,
        continue_on_step_failure=continue_on_step_failure,
        regenerate_outputs=regenerate_outputs,
        run_source=run_source,
        created_by=user,
        created_by_token=token,
        warnings=list(warnings or []),
    )
    order = topological_order(spec)
    by_id = {s.node_id: s for s in spec.steps}
    steps = StepRun.objects.bulk_create(
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
    queued = _advance(run, steps)
    # The queued steps are the run's outbox: committed with it, rung after the commit. A broker
    # that refuses the message leaves them owed, for the scheduler's tick to ring.
    if dispatch_in_worker:
        transaction.on_commit(lambda: _ring_dispatch(queued))
    else:
        transaction.on_commit(lambda: dispatch(queued))
    return run


def run_parameters(spec: GraphSpec, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every parameter's value for a run: the overrides (coerced to the declared types) over
    the defaults; a dataset named by the dataset it is, a data path on a datastore that exists."""
    parameters = resolve_parameters(spec, overrides)
    for declared in spec.parameters:
        if declared.type == "dataset":
            parameters[declared.name] = _dataset_parameter(declared, parameters[declared.name])
        value = parameters[declared.name]
        if declared.type == "datapath" and value["datastore"] != storage.DEFAULT_DATASTORE:
            if not storage.Datastore.objects.filter(name=value["datastore"]).exists():
                raise StudioError(
                    f"pipeline_parameters.{declared.name}",
                    f"Pipeline parameter {declared.name}: datastore {value['datastore']} does not exist",
                )
    return parameters


SOURCES = ("published_pipeline", "pipeline_endpoint", "schedule")
# A run submitted from a pipeline draft: kept in ``source`` only (the draft lists its runs).
DRAFT = "pipeline_draft"
# A run that reruns another: the completed steps of that one are reused (runs.reuse).
RERUN_OF = "rerun_of"


def _source_fields(source: Mapping[str, Mapping[str, str]] | None) -> dict:
    """What started a run: ``{kind: {"id", "name"}}`` for kinds in SOURCES, from the layer
    above that started it (the ids are kept in columns: the lists filter on them), and
    DRAFT, and RERUN_OF (with the ``number`` of the run it reruns)."""
    source = {
        k: dict(v) for k, v in (source or {}).items() if k in (*SOURCES, DRAFT, RERUN_OF) and v
    }
    return {
        "source": source,
        **{f"{kind}_id": source[kind]["id"] for kind in source if kind in SOURCES},
    }


RERUNNABLE = (Status.FAILED, Status.CANCELED)


def rerun_failed(
    run: Run, *, user: AbstractUser | None = None, token: ApiToken | None = None
) -> Run:
    """Submit a failed or canceled run's pipeline again, with the same parameters and options.

    The new run records the run it reruns; each of its steps that completed there is reused
    whatever its ``allow_reuse`` says (see :func:`runs.reuse.decide_reuse`), so only the
    failed, canceled and not started steps run, and those downstream of them.
    """
    if run.status not in RERUNNABLE:
        raise StudioError(
            "run",
            f"Run {run.number} is {run.status}: only a failed or canceled run can be rerun.",
            status=409,
        )
    return submit_run(
        experiment_name=run.experiment.name,
        graph_data=run.graph.spec,
        user=user,
        token=token,
        pipeline_parameters=run.parameters,
        regenerate_outputs=run.regenerate_outputs,
        continue_on_step_failure=run.continue_on_step_failure,
        tags=run.tags,
        description=run.description,
        run_source="Rerun",
        source={
            **{k: v for k, v in run.source.items() if k == "published_pipeline"},
            RERUN_OF: {"id": run.id, "name": f"Run {run.number}", "number": str(run.number)},
        },
    )


def reruns_of(run: Run) -> list[Run]:
    """The runs that rerun ``run``, oldest first."""
    return list(
        Run.objects.filter(**{f"source__{RERUN_OF}__id": run.id})
        .only("id", "number", "status", "created_at")
        .order_by("created_at")
    )


_DATASET_CLASSES = {"file": "FileDataset", "tabular": "TabularDataset"}


def _dataset_parameter(declared: ParameterSpec, value: dict) -> dict:
    """The dataset a dataset-typed parameter names (by id, by name and version, or a literal
    path, saved as a dataset like the default), checked to be of the default's kind."""
    name, expected = declared.name, declared.default["kind"]
    try:
        if "id" in value:
            dataset = (
                Dataset.objects.filter(id=value["id"]).first() if _is_uuid(value["id"]) else None
            )
            if dataset is None:
                raise StudioError("id", f"no dataset has the id {value['id']}")
        elif "name" in value:
            dataset = get_dataset(value["name"], value["version"])
        else:
            like = Dataset.objects.filter(id=declared.default["id"]).first()
            dataset = save_dataset_definition(
                kind=expected,
                paths=[[value["datastore"], value["path"]]],
                options=like.options if like is not None else {},
            )
    except StudioError as exc:
        raise StudioError(
            f"pipeline_parameters.{name}", f"Pipeline parameter {name}: {exc.message}"
        ) from None
    if dataset.kind != expected:
        raise StudioError(
            f"pipeline_parameters.{name}",
            f"Pipeline parameter with name {name} is of incorrect type {_DATASET_CLASSES[dataset.kind]}. "
            f"Expected type: {_DATASET_CLASSES[expected]}",
        )
    return {
        "id": str(dataset.id),
        "kind": dataset.kind,
        "name": dataset.name,
        "version": dataset.version,
    }


def _next_run_number(experiment: Experiment) -> int:
    """The experiment's next run number. The increment locks the experiment's row until the
    submission commits, so concurrent submissions get distinct numbers."""
    Experiment.objects.filter(id=experiment.id).update(last_run_number=F("last_run_number") + 1)
    return (
        Experiment.objects.filter(id=experiment.id).values_list("last_run_number", flat=True).get()
    )


def ensure_compute_target(name: str) -> ComputeTarget:
    check_name("compute target", name)
    target, _ = ComputeTarget.objects.get_or_create(name=name, defaults={"kind": "local"})
    return target


def compute_target_status(target: ComputeTarget) -> dict:
    """A compute target's nodes (its live workers) and how many of its steps are running."""
    workers = [w.hostname for w in target.live_workers()]
    running = StepRun.objects.filter(
        compute_target=target.name, status__in=[Status.PREPARING, Status.RUNNING]
    ).count()
    return {
        "name": target.name,
        "kind": target.kind,
        "vm_size": target.vm_size,
        "min_nodes": target.min_nodes,
        "max_nodes": target.max_nodes,
        "created_at": target.created_at,
        "provisioning_state": "Succeeded" if workers else "Creating",
        "workers": workers,
        "running_steps": running,
    }


# --- advance --------------------------------------------------------------------------


_graphs: OrderedDict = OrderedDict()  # graph id -> (upstream, spec); graphs never change


def _graph_shape(graph_id: UUID) -> tuple[dict[str, set[str]], GraphSpec]:
    shape = _graphs.get(graph_id)
    if shape is None:
        shape = _remember_graph(graph_id, PipelineGraph.objects.get(id=graph_id).graph())
    return shape


def _remember_graph(graph_id: UUID, spec: GraphSpec) -> tuple[dict[str, set[str]], GraphSpec]:
    shape = _graphs[graph_id] = (spec.upstream(), spec)
    while len(_graphs) > 256:
        _graphs.popitem(last=False)
    return shape


def graph_of(graph_id: UUID) -> GraphSpec:
    return _graph_shape(graph_id)[1]


def advance_run(run_id: str) -> list[tuple[str, str]]:
    """Queue the steps that are ready, cancel those that can no longer run, end the run.

    Runs under a lock on the run row and returns the steps it queued, as
    (step id, compute target), for :func:`dispatch` once the transaction commits.
    """
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(id=run_id).first()
        if run is None:
            return []
        return _advance(run)


_ADVANCE_FIELDS = (
    "run_id",
    "id",
    "node_id",
    "name",
    "status",
    "compute_target",
    "error",
    "position",
    "attempt",
    "queued_at",
    "fingerprint",
    "reuse_reason",
    "reused_from_id",
)


def _advance(
    run: Run, steps: list[StepRun] | None = None, loaded: dict | None = None
) -> list[tuple[str, str]]:
    """:func:`advance_run` for a run the caller has locked (or just created, with its
    ``steps``) in its transaction. ``loaded`` receives the run's steps by id, as they are now."""
    if run.is_finished:
        return []
    if steps is None:
        steps = list(run.steps.only(*_ADVANCE_FIELDS))
    if loaded is not None:
        loaded.update((s.id, s) for s in steps)
    upstream, _ = _graph_shape(run.graph_id)
    statuses = {s.node_id: s.status for s in steps}
    order = [s.node_id for s in steps]
    decision = decide(upstream, statuses, run.continue_on_step_failure, run.cancel_requested, order)
    now = timezone.now()
    by_node = {s.node_id: s for s in steps}

    settled = True
    for node, reason in decision.cancel.items():
        settled = transitions.cancel(by_node[node].id, reason, now) and settled
    queued: list[tuple[str, str]] = []
    fields: list[str] = []
    if decision.queue:
        transitions.queue([by_node[n].id for n in decision.queue], now)
        for node in decision.queue:
            by_node[node].status, by_node[node].queued_at = Status.QUEUED, now
        queued = [(by_node[n].id, by_node[n].compute_target) for n in decision.queue]
        fields += transitions.start_run(run, now)
    if decision.run_status is not None and settled:
        error = ""
        if decision.run_status == Status.FAILED:
            first = next((s for s in steps if statuses[s.node_id] == Status.FAILED), None)
            error = f"Step {first.name} failed: {first.error}" if first is not None else ""
        fields += transitions.end_run(run, decision.run_status, now, error)
    if fields:
        run.save(update_fields=list(dict.fromkeys(fields)))
    return queued


def dispatch(
    queued: list[tuple[str, str]],
    keep_local: bool = False,
    run: Run | None = None,
    handed: bool = False,
) -> StepRun | None:
    """Fingerprint queued steps: finish reusable ones at once, ring the doorbell for the rest.

    Each step is taken from the outbox first (:func:`transitions.ring`): a step another
    caller took is left to it. With ``handed`` the ``queued`` steps were taken by whoever
    sent this worker the dispatch message, and are rung here again. With ``keep_local`` one
    step this worker serves is not sent but claimed here and returned (Running, its run and
    experiment loaded), for the caller to run at once instead of waiting for the broker.
    ``run``, with its experiment, saves loading it again.
    """
    kept = None
    pending = list(queued)
    handed_ids = {step_id for step_id, _ in queued} if handed else set()
    while pending:
        to_ring = []
        advanced_runs = set()
        for step_id, target in pending:
            if step_id not in handed_ids and not transitions.ring(step_id, timezone.now()):
                continue
            step = _queued_step(step_id, run)
            if step is None:
                continue
            spec = graph_of(step.run.graph_id)
            try:
                decision = reuse.decide_reuse(step, step.run, spec, explain=False)
            except Exception as exc:  # an input that cannot be read fails the step, with the reason
                log.warning("cannot fingerprint step %s: %s", step_id, exc)
                transitions.fail(
                    step_id, f"Could not read the step's inputs: {exc}", timezone.now()
                )
                advanced_runs.add(step.run_id)
                continue
            reuse.record_reads(step, spec.step(step.node_id))
            if decision.original is None and keep_local and kept is None and _serves(target):
                if _claim_fingerprinted(step, decision):
                    kept = step
                continue
            if reuse.apply_reuse(step, decision):
                advanced_runs.add(step.run_id)
            else:
                to_ring.append((step_id, target))
        renewed = [step_id for step_id, _ in to_ring if step_id in handed_ids]
        if renewed:
            transitions.ring_again(renewed, timezone.now())
        _ring(to_ring)
        pending = [item for run_id in advanced_runs for item in advance_run(run_id)]
    return kept


def _queued_step(step_id: str, run: Run | None) -> StepRun | None:
    steps = StepRun.objects.filter(id=step_id, status=Status.QUEUED).order_by()
    if run is None:
        return steps.select_related("run", "run__experiment").first()
    step = steps.first()
    if step is not None:
        if step.run_id != run.id:
            return _queued_step(step_id, None)
        step.run = run
    return step


def _claim_fingerprinted(step: StepRun, decision: reuse.ReuseDecision) -> bool:
    """Record a queued step's fingerprint and claim it for this worker in one update."""
    now = timezone.now()
    values = reuse.fingerprint_values(decision)
    claimed = transitions.claim(step.id, now, attempt=step.attempt, **values)
    if claimed:
        for name, value in {**values, **transitions.claim_values(now)}.items():
            setattr(step, name, value)
        step.attempt += 1
    return claimed


def advance_and_dispatch(run_id: str, keep_local: bool = False) -> StepRun | None:
    return dispatch(advance_run(run_id), keep_local=keep_local)


def _serves(target: str) -> bool:
    served = settings.STUDIO_WORKER_TARGETS
    return "*" in served or target in served


# The engine rings its tasks (runs.tasks) by name: the tasks call the engine, never the reverse.
EXECUTE_STEP = "runs.execute_step"
DISPATCH_STEPS = "runs.dispatch_steps"


def _ring_dispatch(queued: list[tuple[str, str]]) -> None:
    """Ask a worker to :func:`dispatch` these queued steps (taken from the outbox here)."""
    now = timezone.now()
    _ring_control([item for item in queued if transitions.ring(item[0], now)])


def _ring_control(steps: list[tuple[str, str]]) -> bool:
    """Send the dispatch message of steps taken from the outbox; if the broker refuses it,
    they are owed again (False)."""
    if not steps or ring_doorbell(DISPATCH_STEPS, [[list(i) for i in steps]], CONTROL_QUEUE):
        return True
    transitions.unring([step_id for step_id, _ in steps])
    return False


def _ring(steps: list[tuple[str, str]]) -> int:
    """Send the execute message of steps taken from the outbox; if the broker refuses one,
    it and the rest are owed again. Returns how many were sent."""
    for position, (step_id, target) in enumerate(steps):
        if not ring_doorbell(EXECUTE_STEP, [step_id], queue_for(target)):
            transitions.unring([i for i, _ in steps[position:]])
            return position
    return len(steps)


_refusing = {"since": None}  # when the broker began refusing messages, for one log line


def ring_doorbell(task: str, args: list, queue: str) -> bool:
    """Send one task message, after the commit that made it owed; False if the broker did
    not take it (down, or its folder unusable): the caller leaves the message owed, and the
    scheduler's tick sends it once the broker is back. Never raises: what was committed
    stands, and the caller answers as it would have."""
    try:
        current_app.send_task(task, args=args, queue=queue)
    except (KombuError, OSError) as exc:  # down, unreachable, its folder unusable
        if _refusing["since"] is None:
            _refusing["since"] = timezone.now()
            log.warning("the broker refused a message (%s); it stays owed: %s", task, exc)
        return False
    except Exception:  # anything else is shown whole, and still leaves the message owed
        log.exception("sending a message (%s) failed; it stays owed", task)
        return False
    if _refusing["since"] is not None:
        log.warning("the broker takes messages again (refused since %s)", _refusing["since"])
        _refusing["since"] = None
    return True


def ring_pending(limit: int = 500) -> int:
    """Send the messages owed to queued steps (the outbox): those whose sender found the
    broker down, or that were queued again. Each is taken first (:func:`transitions.ring`),
    so a message is sent once however many schedulers tick. Returns how many steps were
    rung; stops at the first refusal (the broker is still down)."""
    owed = list(
        StepRun.objects.filter(status=Status.QUEUED, rung_at__isnull=True)
        .order_by("queued_at")
        .values_list("id", "compute_target", "fingerprint")[:limit]
    )
    now = timezone.now()
    rung = 0
    for row in owed:  # one at a time: while the broker is down, one refusal ends the pass
        if transitions.ring(row[0], now):
            if not _ring_taken([row]):
                break
            rung += 1
    return rung


def _ring_taken(taken: list[tuple[str, str, str]]) -> int:
    """Ring steps taken from the outbox: a step not fingerprinted yet goes to a worker to be
    dispatched (its reuse checked first), the others to their compute target's queue.
    Returns how many were rung; the rest are owed again."""
    later = [(i, target) for i, target, fingerprint in taken if not fingerprint]
    ready = [(i, target) for i, target, fingerprint in taken if fingerprint]
    if not _ring_control(later):
        transitions.unring([i for i, _ in ready])
        return 0
    return len(later) + _ring(ready)


# --- finish ----------------------------------------------------------------------------


def finish_step(
    step_id: str,
    attempt: int,
    *,
    run_id: str,
    status: Status,
    exit_code: int | None = None,
    error: str = "",
    outputs: dict | None = None,
    log_size: int = 0,
    on_success: Callable[[], None] | None = None,
) -> StepRun | None:
    """Record how an attempt ended (if it still owns the step) and advance the run, in one
    transaction under the run's lock (taken first, as cancel does, so that the two cannot
    deadlock).

    Returns the next ready step, claimed for the calling worker, if any.
    """
    if status == Status.CANCELED:
        error = error or "Canceled by request"
    with transaction.atomic():
        run = (
            Run.objects.select_for_update(of=("self",))
            .select_related("experiment")
            .filter(id=run_id)
            .first()
        )
        updated = transitions.finish(
            step_id,
            attempt,
            status,
            timezone.now(),
            exit_code=exit_code,
            error=error[:20000],
            outputs=outputs or {},
            log_size=log_size,
        )
        if updated and status == Status.COMPLETED and on_success is not None:
            try:
                with transaction.atomic():
                    on_success()
            except Exception:
                log.exception("post-success work of step %s failed", step_id)
        if not updated:
            log.info("step %s attempt %s ended after losing its claim", step_id, attempt)
        loaded: dict[str, StepRun] = {}
        queued = _advance(run, loaded=loaded) if run is not None else []
        kept = _claim_next_here(run, queued, loaded) if queued else None
    if kept is None:
        return dispatch(queued, keep_local=True, run=run)
    dispatch([item for item in queued if item[0] != kept.id], run=run)
    return kept


def _claim_next_here(
    run: Run, queued: list[tuple[str, str]], loaded: dict[str, StepRun]
) -> StepRun | None:
    """In the transaction that ended a step: fingerprint the first next step this worker
    serves and claim it, when that needs nothing but the database (no dataset or data-path
    input to list, no earlier step with its fingerprint whose outputs would have to be read).
    One commit then ends a step and starts the next; anything else is left to
    :func:`dispatch` after the commit."""
    spec = graph_of(run.graph_id)
    for step_id, target in queued:
        step = loaded.get(step_id)
        if step is None or not _serves(target):
            continue
        if any(port.is_dataset or port.is_datapath for port in spec.step(step.node_id).inputs):
            return None
        step.run = run
        try:
            decision = reuse.decide_reuse(step, run, spec, explain=False, quick=True)
        except DatabaseError:
            raise  # the transaction is lost anyway
        except Exception:  # the step that ended stays recorded; dispatch fails this one
            log.warning("could not fingerprint step %s here", step_id, exc_info=True)
            return None
        if decision.undecided or not _claim_fingerprinted(step, decision):
            return None  # perhaps reusable: dispatch checks the candidate's outputs
        return step
    return None


# --- the timeline --------------------------------------------------------------------


def run_timeline(run: Run, now: datetime) -> dict:
    """The plotly figure of the run's timeline (``runs.timeline``), read in two queries: the
    steps' times with the runs their reused steps came from, and the environment builds of
    their environments. A build's start and end are the only record of preparing time: the
    step that built it prepared all along, one that waited for it on the same host until it
    ended."""
    rows = list(
        run.steps.values(
            "id",
            "name",
            "status",
            "position",
            "queued_at",
            "started_at",
            "ended_at",
            "worker",
            "environment_hash",
            "reused_from_id",
            "reused_from__run__number",
            "reused_from__run__experiment__name",
        )
    )
    hashes = {r["environment_hash"] for r in rows if r["environment_hash"]}
    built_by: dict[str, tuple] = {}
    built_on: dict[tuple[str, str], tuple] = {}
    for b in EnvironmentBuild.objects.filter(
        Q(step_id__in=run.steps.values("id")) | Q(build_hash__in=hashes)
    ).values("step_id", "build_hash", "host", "started_at", "finished_at"):
        window = (b["started_at"], b["finished_at"])
        built_by[b["step_id"]] = window
        built_on[(b["build_hash"], b["host"])] = window
    experiment = run.experiment.name
    steps = []
    for r in rows:
        preparing = built_by.get(r["id"])
        host = r["worker"].rsplit(":", 1)[0]
        if preparing is None and (r["environment_hash"], host) in built_on:
            preparing = waited_for(
                built_on[(r["environment_hash"], host)], r["started_at"], r["ended_at"]
            )
        from_experiment = r["reused_from__run__experiment__name"]
        steps.append(
            StepTimes(
                step_id=r["id"],
                name=r["name"],
                status=r["status"],
                position=r["position"],
                queued_at=r["queued_at"],
                started_at=r["started_at"],
                ended_at=r["ended_at"],
                preparing=preparing,
                reused=r["reused_from_id"] is not None,
                reused_from_run=r["reused_from__run__number"],
                reused_from_experiment=""
                if from_experiment in (None, experiment)
                else from_experiment,
            )
        )
    return timeline_figure(steps, run.started_at or run.created_at, now)


# --- run context -----------------------------------------------------------------------


def update_run(
    run: Run,
    *,
    display_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    remove_tags: list[str] | tuple[str, ...] = (),
) -> Run:
    """Rename a run (``display_name``; "" clears it), add or change ``tags`` and remove
    ``remove_tags``; what is not given is left as it is. 400 (StudioError) on bad values."""
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > 255 or "\x00" in display_name:
            raise StudioError("display_name", "A display name has at most 255 characters.")
    added = check_tags(dict(tags or {}))
    if not isinstance(remove_tags, (list, tuple)) or not all(
        isinstance(k, str) for k in remove_tags
    ):
        raise StudioError("remove_tags", "remove_tags is a list of tag names.")
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(id=run.id)
        fields = []
        if display_name is not None:
            locked.display_name = display_name
            fields.append("display_name")
        if added or remove_tags:
            merged = {**locked.tags, **added}
            for key in remove_tags:
                merged.pop(key, None)
            check_tags(merged)
            locked.tags = merged
            fields.append("tags")
        if fields:
            locked.save(update_fields=fields)
    return locked


# --- cancel and reap ------------------------------------------------------------------


def cancel_run(run: Run) -> Run:
    """Ask a run to stop: waiting steps are canceled now, running ones are killed by their worker."""
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(id=run.id)
        if not transitions.request_cancel_run(locked):
            return locked
    advance_and_dispatch(run.id)
    return Run.objects.get(id=run.id)


def requeue_step(step_id: str, attempt: int, reason: str, ring: bool = True) -> bool:
    """Put a step whose attempt was interrupted (its worker shuts down) back in the queue, to
    run again as a new attempt on any worker serving its compute target; its log says so.
    Without ``ring`` the caller rings it (see ``ring_queued``). False if the attempt no longer
    owned the step."""
    if not transitions.requeue(step_id, attempt, timezone.now()):
        return False
    step = StepRun.objects.only("id", "compute_target", "reused_from_id").get(id=step_id)
    try:
        with open(storage.step_log_path(step.log_step_id), "ab") as log_file:
            log_file.write(f"\n[attempt {attempt} interrupted: {reason}; queued again]\n".encode())
    except OSError:
        log.warning("could not note the requeue of step %s in its log", step_id)
    if ring:
        ring_queued([step.id])
    return True


def ring_queued(step_ids: list[str]) -> int:
    """Send the owed messages of these queued steps, by the outbox's rule (each taken, then
    sent; one the broker refuses stays owed for the scheduler's tick). Returns how many."""
    now = timezone.now()
    owed = StepRun.objects.filter(id__in=step_ids, status=Status.QUEUED, rung_at__isnull=True)
    taken = [
        row
        for row in owed.values_list("id", "compute_target", "fingerprint")
        if transitions.ring(row[0], now)
    ]
    return _ring_taken(taken)


# Set when the reaper found that the database refused writes: no worker could heartbeat
# then either, so silence is counted again from the first pass that can write.
_writes_refused = {"since": None}


RERING_CAP = timedelta(minutes=5)


def _lingering(now: datetime, limit: int = 500) -> list[tuple[str, str, str]]:
    """Queued steps whose message was sent but that no worker took: after
    STUDIO_RERING_SECONDS, then after as long as the step has waited (at most RERING_CAP),
    so that a long backlog is not flooded with copies of its messages."""
    first = now - timedelta(seconds=settings.STUDIO_RERING_SECONDS)
    rows = (
        StepRun.objects.filter(status=Status.QUEUED, rung_at__lt=first)
        .order_by("rung_at")
        .values_list("id", "compute_target", "fingerprint", "queued_at", "rung_at")[:limit]
    )
    return [
        (step_id, target, fp)
        for step_id, target, fp, queued_at, rung_at in rows
        if now - rung_at >= min(rung_at - (queued_at or rung_at), RERING_CAP)
    ]


def reap_lost_steps() -> int:
    """Fail steps whose worker stopped heartbeating; re-ring steps whose message was lost.

    After the database refused writes, the steps that look lost are given a new heartbeat
    instead (their workers could not write either): they are lost only if their workers
    stay silent for a whole window once writing works again.
    """
    now = timezone.now()
    horizon = now - timedelta(seconds=settings.STUDIO_WORKER_LOST_SECONDS)
    lost = StepRun.objects.filter(status__in=list(ACTIVE)).filter(
        Q(heartbeat_at__lt=horizon) | Q(heartbeat_at__isnull=True)
    )
    count = 0
    for step in lost.only("id", "run_id", "status", "attempt"):
        try:
            if _writes_refused["since"] is not None:
                transitions.renew(step.id, step.attempt, Status(step.status), now)
                continue
            if transitions.lose(step.id, step.attempt, Status(step.status), now):
                count += 1
                advance_and_dispatch(step.run_id)
        except DatabaseError as exc:
            if outages.database_unwritable(exc) is not None:
                _writes_refused["since"] = _writes_refused["since"] or now
            raise
    _writes_refused["since"] = None
    lingering = _lingering(now)
    if lingering:
        transitions.ring_again([i for i, _, _ in lingering], now)
        _ring_taken(lingering)
    for run_id in (
        Run.objects.filter(status__in=[Status.RUNNING, Status.CANCEL_REQUESTED])
        .exclude(steps__status__in=[*WAITING, *ACTIVE])
        .values_list("id", flat=True)
    ):
        advance_and_dispatch(run_id)
    return count
