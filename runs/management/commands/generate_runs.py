from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from runs.models import Experiment, Metric, PipelineGraph, Run, StepRun
from studio.core.spec import GraphSpec, StepSpec
from studio.core.status import Status

# eight in ten generated runs complete; the rest fail or are canceled
STATUSES = [Status.COMPLETED] * 8 + [Status.FAILED, Status.CANCELED]


def _graph(steps: int) -> PipelineGraph:
    """A chain-of-layers graph of ``steps`` no-op steps (four wide), stored once."""
    snapshot = hashlib.sha256(b"generated").hexdigest()
    specs = []
    for i in range(steps):
        upstream = (f"n{i - 4:04d}",) if i >= 4 else ()
        specs.append(
            StepSpec(
                node_id=f"n{i:04d}",
                name=f"step {i}",
                script_name="noop.py",
                snapshot=snapshot,
                run_after=upstream,
            )
        )
    return PipelineGraph.store(GraphSpec(steps=tuple(specs), description="generated"))


@dataclass(frozen=True)
class _Plan:
    """What every generated run shares, and how many runs there are in all."""

    runs: int
    steps: int
    graph: PipelineGraph
    experiments: list[Experiment]
    user: object
    now: datetime

    @property
    def nodes(self) -> list[tuple[str, str]]:
        """(node id, name) of each step of the graph, in order."""
        return [(s["node_id"], s["name"]) for s in self.graph.spec["steps"]]


def _batch(
    plan: _Plan, rng: random.Random, made: int, size: int
) -> tuple[list[Run], list[StepRun], list[Metric]]:
    """The next ``size`` runs after ``made``, a run every 30 s up to now, with their steps."""
    run_rows, step_rows, metric_rows = [], [], []
    nodes = plan.nodes
    for i in range(size):
        created = plan.now - timedelta(seconds=(plan.runs - made - i) * 30)
        status = rng.choice(STATUSES)
        duration = rng.randint(5, 3600)
        run = _run(plan, rng, made + i, created, status, duration)
        run_rows.append(run)
        steps, metrics = _step_runs(plan, rng, run, nodes, created, status, duration)
        step_rows += steps
        metric_rows += metrics
    return run_rows, step_rows, metric_rows


def _run(
    plan: _Plan,
    rng: random.Random,
    index: int,
    created: datetime,
    status: str,
    duration: int,
) -> Run:
    """The finished run number ``index + 1`` (not saved)."""
    return Run(
        id=str(uuid.UUID(int=rng.getrandbits(128))),
        experiment=rng.choice(plan.experiments),
        graph=plan.graph,
        number=index + 1,
        description=f"generated run {index + 1}",
        status=status,
        parameters={"reg_rate": round(rng.random(), 3)},
        tags={"batch": str(index // 1000)},
        created_by=plan.user,
        created_at=created,
        started_at=created,
        ended_at=created + timedelta(seconds=duration),
        duration_ms=duration * 1000,
        error="Step step 3 failed: exit code 1" if status == Status.FAILED else "",
    )


def _step_runs(
    plan: _Plan,
    rng: random.Random,
    run: Run,
    nodes: list[tuple[str, str]],
    created: datetime,
    status: str,
    duration: int,
) -> tuple[list[StepRun], list[Metric]]:
    """The run's step runs (step 3 ends as the run did) and the accuracy its first step logged."""
    step_rows, metric_rows = [], []
    for position, (node, name) in enumerate(nodes):
        step_id = str(uuid.UUID(int=rng.getrandbits(128)))
        step_rows.append(
            StepRun(
                id=step_id,
                run=run,
                node_id=node,
                name=name,
                position=position,
                compute_target="local",
                status=status if position == 3 or status == Status.COMPLETED else Status.COMPLETED,
                attempt=1,
                started_at=created,
                ended_at=created + timedelta(seconds=duration // plan.steps + 1),
            )
        )
        if position == 0:
            metric_rows.append(
                Metric(step_run_id=step_id, name="accuracy", value=round(rng.random(), 4))
            )
    return step_rows, metric_rows


def _big_run(plan: _Plan, steps: int) -> Run:
    """One completed run of a ``steps``-step graph, numbered after the generated runs."""
    big = _graph(steps)
    run = Run.objects.create(
        experiment=plan.experiments[0],
        graph=big,
        number=plan.runs + 1,
        description="200 steps",
        status=Status.COMPLETED,
        created_by=plan.user,
        started_at=plan.now,
        ended_at=plan.now,
        duration_ms=1000,
    )
    StepRun.objects.bulk_create(
        [
            StepRun(
                run=run,
                node_id=s["node_id"],
                name=s["name"],
                position=i,
                compute_target="local",
                status=Status.COMPLETED,
                attempt=1,
                started_at=plan.now,
                ended_at=plan.now,
            )
            for i, s in enumerate(big.spec["steps"])
        ]
    )
    return run


class Command(BaseCommand):
    help = "Fill the database with generated finished runs (for benchmarks and trying the pages at scale)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--runs", type=int, default=100_000)
        parser.add_argument(
            "--steps",
            type=int,
            default=10,
            help="Steps per run (default 10: 100,000 runs make 1,000,000 step runs)",
        )
        parser.add_argument("--experiments", type=int, default=50)
        parser.add_argument(
            "--big-run-steps",
            type=int,
            default=200,
            help="Also make one run with this many steps (0: none)",
        )
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=7)

    def handle(
        self,
        runs: int,
        steps: int,
        experiments: int,
        big_run_steps: int,
        batch: int,
        seed: int,
        **options,
    ) -> None:
        if runs < 0 or steps < 1 or experiments < 1 or batch < 1:
            raise CommandError("--runs must be >= 0 and --steps, --experiments, --batch >= 1")
        rng = random.Random(seed)
        user = get_user_model().objects.filter(is_superuser=True).first()
        exps = [
            Experiment.objects.get_or_create(name=f"generated-{i:03d}")[0]
            for i in range(experiments)
        ]
        plan = _Plan(runs, steps, _graph(steps), exps, user, timezone.now())
        made = 0
        while made < runs:
            size = min(batch, runs - made)
            run_rows, step_rows, metric_rows = _batch(plan, rng, made, size)
            with transaction.atomic():
                Run.objects.bulk_create(run_rows, batch_size=1000)
                StepRun.objects.bulk_create(step_rows, batch_size=2000)
                Metric.objects.bulk_create(metric_rows, batch_size=2000)
            made += size
            self.stdout.write(f"{made} runs")
        if big_run_steps:
            run = _big_run(plan, big_run_steps)
            self.stdout.write(f"big run: {run.id}")
