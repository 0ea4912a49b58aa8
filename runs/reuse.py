"""Step reuse applied to the database: fingerprint a ready step, reuse a match, or say why not."""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from runs import inputs, transitions
from runs.environments import plan_of
from runs.models import DatasetUse, Run, StepRun
from studio.core.fingerprint import (
    FIRST_RUN,
    REGENERATE,
    REUSE_DISABLED,
    explain_difference,
    fingerprint,
    fingerprint_parts,
    snapshot_file_changes,
)
from studio.core.paths import fingerprint_files
from studio.core.spec import GraphSpec, StepSpec
from studio.core.status import Status
from studio.workspace import models_registry
from studio.workspace.models import Snapshot
from studio.workspace.services import get_datastore

log = logging.getLogger("studio.reuse")


def environment_part(node: StepSpec) -> dict:
    """What the fingerprint holds of the step's environment: Python, packages, variables."""
    return plan_of(node).fingerprint_part(platform.python_version())


def input_identities(run: Run, node: StepSpec) -> dict[str, dict]:
    """What each input is now, to the fingerprint."""
    return {item.name: inputs.identity(item) for item in inputs.step_inputs(run, node)}


def outputs_intact(step: StepRun) -> bool:
    """True when every output of a completed step still exists and matches its manifest."""
    for output in step.outputs.values():
        try:
            store = get_datastore(output["datastore"]).store()
            files = list(store.walk(output["path"]))
            if not files and not store.holds(output["path"]):
                return False
        except Exception:
            log.info("outputs of %s cannot be read", step.id, exc_info=True)
            return False
        if fingerprint_files(files) != output.get("manifest"):
            return False
    return True


@dataclass
class ReuseDecision:
    fingerprint: str
    parts: dict
    original: StepRun | None
    reason: str
    undecided: bool = False  # a candidate exists, its outputs were not checked (quick=True)


def decide_reuse(
    step: StepRun, run: Run, spec: GraphSpec, explain: bool = True, quick: bool = False
) -> ReuseDecision:
    """Fingerprint a ready step and find a completed step with intact outputs to reuse.

    Why a step is not reused costs a query more; with ``explain=False`` the reason is left
    empty, for :func:`why_not_reused` once the step's script is running. With ``quick`` the
    outputs of a candidate are not read (that can take long on a remote store): the decision
    is then ``undecided`` when there is any candidate.

    In a rerun (``Run.source["rerun_of"]``), a step that completed in the run it reruns is
    reused from there, whatever ``allow_reuse`` and ``regenerate_outputs`` say.
    """
    node = spec.step(step.node_id)
    parts = fingerprint_parts(
        node, run.parameters, input_identities(run, node), environment_part(node)
    )
    digest = fingerprint(parts)
    rerun = run.source.get("rerun_of")
    if rerun:
        done = completed_in(rerun["id"], step.node_id)
        if done is not None:
            if quick:
                return ReuseDecision(digest, parts, None, "", undecided=True)
            if outputs_intact(done):
                reason = f"rerun of run {rerun['number']}: completed there"
                return ReuseDecision(digest, parts, done, reason)
    if run.regenerate_outputs:
        return ReuseDecision(digest, parts, None, REGENERATE)
    if not node.allow_reuse:
        return ReuseDecision(digest, parts, None, REUSE_DISABLED)
    candidates = (
        StepRun.objects.filter(fingerprint=digest, status=Status.COMPLETED)
        .exclude(id=step.id)
        .order_by("-ended_at")[:5]
    )
    churn: list[str] = []
    for candidate in candidates:
        if quick:
            return ReuseDecision(digest, parts, None, "", undecided=True)
        original = candidate.reused_from or candidate
        if original.status == Status.COMPLETED and outputs_intact(original):
            # A model it loaded as "latest" has a newer version now: that is a new input.
            stale = models_registry.stale_reads(original.id)
            if stale:
                churn = churn or stale
                continue
            return ReuseDecision(
                digest, parts, original, f"Reused from run {original.run_id}, step {original.name}"
            )
    if churn:
        return ReuseDecision(digest, parts, None, "; ".join(churn))
    reason = _why_not(step, run, digest, parts) if explain else ""
    return ReuseDecision(digest, parts, None, reason)


def completed_in(run_id: str, node_id: str) -> StepRun | None:
    """The step ``node_id`` of run ``run_id`` if it completed there: the step that wrote its
    outputs (the one it reused, if it was reused)."""
    done = (
        StepRun.objects.filter(run_id=run_id, node_id=node_id, status=Status.COMPLETED)
        .select_related("reused_from")
        .first()
    )
    if done is None:
        return None
    return done.reused_from or done


def explanation_missing(step: StepRun) -> bool:
    return bool(step.fingerprint) and not step.reuse_reason and not step.reused_from_id


def why_not_reused(step: StepRun) -> str:
    """Why a fingerprinted step found nothing to reuse (for :func:`explanation_missing` steps)."""
    return _why_not(step, step.run, step.fingerprint, step.fingerprint_parts)


def _why_not(step: StepRun, run: Run, digest: str, parts: dict) -> str:
    earlier = StepRun.objects.filter(name=step.name)
    if step.queued_at is not None:
        earlier = earlier.filter(queued_at__lt=step.queued_at)
    earlier = (
        earlier.exclude(run=run)
        .exclude(fingerprint="")
        .filter(Q(run__experiment=run.experiment) | Q(fingerprint=digest))
        .order_by("-queued_at")
        .first()
    )
    if earlier is None:
        return FIRST_RUN
    if earlier.fingerprint == digest:
        if earlier.status != Status.COMPLETED:
            return f"the earlier run of this step with the same inputs ended {earlier.status}"
        return "the outputs of the earlier run were deleted or changed"

    def changes(old: str, new: str) -> list[str]:
        manifests = dict(
            Snapshot.objects.filter(digest__in=[old, new]).values_list("digest", "files")
        )
        if old in manifests and new in manifests:
            return snapshot_file_changes(manifests[old], manifests[new])
        return []

    reasons = explain_difference(parts, earlier.fingerprint_parts, changes)
    return "; ".join(reasons) or "inputs changed"


def fingerprint_values(decision: ReuseDecision) -> dict:
    return {
        "fingerprint": decision.fingerprint,
        "fingerprint_parts": decision.parts,
        "reuse_reason": decision.reason,
    }


def apply_reuse(step: StepRun, decision: ReuseDecision) -> bool:
    """Record the fingerprint; finish the step as Reused when there is an original. Conditional."""
    values = fingerprint_values(decision)
    if decision.original is None:
        transitions.record_fingerprint(step.id, values)
        return False
    return transitions.reuse(step.id, decision.original, values, timezone.now())


def record_reads(step: StepRun, node: StepSpec) -> None:
    for port in node.inputs:
        if port.is_dataset:
            DatasetUse.objects.get_or_create(
                dataset_id=port.dataset_id(step.run.parameters), step_run=step, direction="read"
            )
