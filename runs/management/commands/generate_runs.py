from __future__ import annotations

import hashlib
import random
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from runs.models import Experiment, Metric, PipelineGraph, Run, StepRun
from studio.core.spec import GraphSpec, StepSpec
from studio.core.status import Status


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


class Command(BaseCommand):
    help = "Fill the database with generated finished runs (for benchmarks and trying the pages at scale)."

    def add_arguments(self, parser):
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
    ):
        if runs < 0 or steps < 1 or experiments < 1 or batch < 1:
            raise CommandError("--runs must be >= 0 and --steps, --experiments, --batch >= 1")
        rng = random.Random(seed)
        user = get_user_model().objects.filter(is_superuser=True).first()
        exps = [
            Experiment.objects.get_or_create(name=f"generated-{i:03d}")[0]
            for i in range(experiments)
        ]
        graph = _graph(steps)
        node_ids = [s["node_id"] for s in graph.spec["steps"]]
        names = [s["name"] for s in graph.spec["steps"]]
        now = timezone.now()
        statuses = [Status.COMPLETED] * 8 + [Status.FAILED, Status.CANCELED]
        made = 0
        while made < runs:
            size = min(batch, runs - made)
            run_rows, step_rows, metric_rows = [], [], []
            for i in range(size):
                created = now - timedelta(seconds=(runs - made - i) * 30)
                status = rng.choice(statuses)
                duration = rng.randint(5, 3600)
                run = Run(
                    id=str(uuid.UUID(int=rng.getrandbits(128))),
                    experiment=rng.choice(exps),
                    graph=graph,
                    number=made + i + 1,
                    description=f"generated run {made + i + 1}",
                    status=status,
                    parameters={"reg_rate": round(rng.random(), 3)},
                    tags={"batch": str((made + i) // 1000)},
                    created_by=user,
                    created_at=created,
                    started_at=created,
                    ended_at=created + timedelta(seconds=duration),
                    duration_ms=duration * 1000,
                    error="Step step 3 failed: exit code 1" if status == Status.FAILED else "",
                )
                run_rows.append(run)
                for position, (node, name) in enumerate(zip(node_ids, names, strict=True)):
                    step_id = str(uuid.UUID(int=rng.getrandbits(128)))
                    step_rows.append(
                        StepRun(
                            id=step_id,
                            run=run,
                            node_id=node,
                            name=name,
                            position=position,
                            compute_target="local",
                            status=status
                            if position == 3 or status == Status.COMPLETED
                            else Status.COMPLETED,
                            attempt=1,
                            started_at=created,
                            ended_at=created + timedelta(seconds=duration // steps + 1),
                        )
                    )
                    if position == 0:
                        metric_rows.append(
                            Metric(
                                step_run_id=step_id, name="accuracy", value=round(rng.random(), 4)
                            )
                        )
            with transaction.atomic():
                Run.objects.bulk_create(run_rows, batch_size=1000)
                StepRun.objects.bulk_create(step_rows, batch_size=2000)
                Metric.objects.bulk_create(metric_rows, batch_size=2000)
            made += size
            self.stdout.write(f"{made} runs")
        if big_run_steps:
            big = _graph(big_run_steps)
            run = Run.objects.create(
                experiment=exps[0],
                graph=big,
                number=runs + 1,
                description="200 steps",
                status=Status.COMPLETED,
                created_by=user,
                started_at=now,
                ended_at=now,
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
                        started_at=now,
                        ended_at=now,
                    )
                    for i, s in enumerate(big.spec["steps"])
                ]
            )
            self.stdout.write(f"big run: {run.id}")
