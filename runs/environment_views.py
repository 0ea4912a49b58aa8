"""The Environments page: registered environments, their builds on each worker host, and the
runs that used each."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from runs.models import StepRun
from studio.core.environments import parse_definition, plan
from studio.workspace.models import Environment, EnvironmentBuild


def _runs_using(build_hashes: set[str]) -> dict[str, list[StepRun]]:
    """The latest steps that ran in each environment (by build hash)."""
    found: dict[str, list[StepRun]] = {h: [] for h in build_hashes}
    steps = (
        StepRun.objects.filter(environment_hash__in=build_hashes)
        .select_related("run__experiment")
        .order_by("-started_at")[:500]
    )
    for step in steps:
        if len(found[step.environment_hash]) < 10:
            found[step.environment_hash].append(step)
    return found


@require_GET
@login_required
def environments(request: HttpRequest) -> HttpResponse:
    versions = list(Environment.objects.order_by("name", "-version")[:1000])
    builds = list(EnvironmentBuild.objects.order_by("-started_at")[:500])
    by_hash: dict[str, list[EnvironmentBuild]] = {}
    for build in builds:
        by_hash.setdefault(build.build_hash, []).append(build)
    for version in versions:
        # As registered, whether or not its sources are allowed now (a build says so).
        version.plan = plan(parse_definition(version.definition), allow_custom_sources=True)
        version.builds = by_hash.get(version.build_hash, [])
    registered = {v.build_hash for v in versions}
    unregistered = [b for b in builds if b.build_hash not in registered]
    uses = _runs_using({v.build_hash for v in versions if v.build_hash} | set(by_hash))
    for version in versions:
        version.uses = uses.get(version.build_hash, [])
    for build in unregistered:
        build.uses = uses.get(build.build_hash, [])
    return render(
        request,
        "runs/environments.html",
        {"versions": versions, "unregistered": unregistered},
    )
