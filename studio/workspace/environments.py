"""Registered environments (``env.register(ws)``) and what each worker host has built."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.core.environments import parse_definition, plan
from studio.core.errors import StudioError
from studio.core.names import ENVIRONMENT_NAME
from studio.workspace.models import Environment, EnvironmentBuild

CURATED_PREFIX = "AzureML-"
LOG_LIMIT = 256 * 1024


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > 255:
        raise StudioError("name", "An environment name of 1 to 255 characters is required.")
    if name.startswith(CURATED_PREFIX):
        raise StudioError(
            "name",
            f"Names starting with {CURATED_PREFIX} are Azure ML's curated environments: choose "
            "another name.",
        )
    if not ENVIRONMENT_NAME.match(name):
        raise StudioError(
            "name", "An environment name may hold letters, digits, '.', '-' and '_' only."
        )
    return name


def register(name: Any, definition: Any, version: Any = None, user: Any = None) -> Environment:
    """A new version when the definition differs from the latest; the latest otherwise."""
    name = _check_name(name)
    parsed = parse_definition(definition, "definition")
    stored = {**parsed.to_dict(), "name": name, "version": None}
    build_hash = plan(parsed, settings.STUDIO_ENV_ALLOW_CUSTOM_SOURCES, "definition").build_hash
    for _ in range(3):
        try:
            with transaction.atomic():
                existing = Environment.objects.filter(name=name)
                if version is not None:
                    wanted = _version_number(version)
                    same = existing.filter(version=wanted).first()
                    if same is not None:
                        if same.definition == stored:
                            return same
                        raise StudioError(
                            "version",
                            f"Environment {name} version {wanted} exists with another "
                            "definition: reset version to None to auto-version.",
                            status=409,
                        )
                else:
                    # One read decides both: reading the latest and the highest version apart
                    # would let a version committed in between be skipped over (a duplicate).
                    latest = existing.order_by("-version").first()
                    if latest is not None and latest.definition == stored:
                        return latest
                    wanted = (latest.version if latest is not None else 0) + 1
                return Environment.objects.create(
                    name=name,
                    version=wanted,
                    definition=stored,
                    build_hash=build_hash,
                    created_by=user if getattr(user, "is_authenticated", False) else None,
                )
        except IntegrityError:
            continue  # a concurrent register took this version: look again
    raise StudioError("name", f"Environment {name} is being registered concurrently; retry.", 409)


def _version_number(version: Any) -> int:
    try:
        number = int(str(version))
    except ValueError:
        raise StudioError("version", "An environment version is a whole number.") from None
    if number < 1 or number > 10**9:
        raise StudioError("version", "An environment version is a whole number from 1.")
    return number


def get(name: str, version: Any = None) -> Environment:
    """A registered version (the latest without ``version``); 404 naming what exists."""
    found = Environment.objects.filter(name=name)
    if version not in (None, "", "latest"):
        number = str(version)
        found = (
            found.filter(version=int(number))
            if number.isdigit() and len(number) < 10
            else found.none()
        )
    environment = found.order_by("-version").first()
    if environment is not None:
        return environment
    names = sorted(set(Environment.objects.values_list("name", flat=True)))
    registered = ", ".join(names[:50]) if names else "none yet"
    if name.startswith(CURATED_PREFIX):
        message = (
            f"Environment {name} is one of Azure ML's curated environments, which Studio does "
            f"not have. Registered environments: {registered}. Define its packages with "
            "Environment.from_pip_requirements or CondaDependencies.create and register it."
        )
    elif version not in (None, "", "latest") and names and name in names:
        message = f"Environment {name} has no version {version}."
    else:
        message = f"Environment {name} not found. Registered environments: {registered}."
    raise StudioError("name", message, status=404)


def latest_versions() -> list[Environment]:
    latest = {}
    for environment in Environment.objects.order_by("name", "-version"):
        latest.setdefault(environment.name, environment)
    return list(latest.values())


def as_json(environment: Environment) -> dict:
    return {**environment.definition, "name": environment.name, "version": str(environment.version)}


# --- builds on worker hosts (recorded by the worker) ---------------------------------------


def build_started(
    build_hash: str, host: str, definition: dict, requirements: list, step_id: str
) -> None:
    EnvironmentBuild.objects.update_or_create(
        build_hash=build_hash,
        host=host,
        defaults={
            "state": EnvironmentBuild.BUILDING,
            "name": definition.get("name") or "",
            "definition": definition,
            "requirements": requirements,
            "step_id": step_id,
            "started_at": timezone.now(),
            "finished_at": None,
            "log": "",
        },
    )


def build_finished(
    build_hash: str, host: str, ready: bool, log: str, python: str = "", size: int | None = None
) -> None:
    if len(log) > LOG_LIMIT:
        log = f"{log[: LOG_LIMIT // 2]}\n[... build log truncated ...]\n{log[-LOG_LIMIT // 2 :]}"
    now = timezone.now()
    EnvironmentBuild.objects.filter(build_hash=build_hash, host=host).update(
        state=EnvironmentBuild.READY if ready else EnvironmentBuild.FAILED,
        log=log,
        python=python,
        size=size,
        finished_at=now,
        last_used_at=now if ready else None,
    )


_last_use_written: dict[tuple[str, str], float] = {}


def build_used(build_hash: str, host: str) -> None:
    """Record a use, at most once a minute per environment and worker process."""
    key = (build_hash, host)
    now = time.monotonic()
    if now - _last_use_written.get(key, -1e9) < 60:
        return
    _last_use_written[key] = now
    EnvironmentBuild.objects.filter(build_hash=build_hash, host=host).update(
        last_used_at=timezone.now()
    )


def builds_evicted(build_hashes: list[str], host: str) -> None:
    if build_hashes:
        EnvironmentBuild.objects.filter(build_hash__in=build_hashes, host=host).update(
            state=EnvironmentBuild.EVICTED
        )
