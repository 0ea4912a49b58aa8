"""The database itself keeps one run per (user, Idempotency-Key), so racing retries cannot both insert."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from runs.models import Experiment, PipelineGraph, Run

pytestmark = pytest.mark.django_db


def test_two_runs_with_the_same_key_of_the_same_user_are_refused(alice, bob):
    experiment = Experiment.objects.create(name="idem")
    graph = PipelineGraph.objects.create(digest="b" * 64, spec={"steps": []})
    Run.objects.create(experiment=experiment, graph=graph, created_by=alice, idempotency_key="k1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(
            experiment=experiment, graph=graph, created_by=alice, idempotency_key="k1"
        )
    Run.objects.create(experiment=experiment, graph=graph, created_by=bob, idempotency_key="k1")
    Run.objects.create(experiment=experiment, graph=graph, created_by=alice)
    Run.objects.create(experiment=experiment, graph=graph, created_by=alice)
    assert Run.objects.filter(idempotency_key="k1").count() == 2
