"""A step's environment on the worker: build it (or find it built) and record what happened."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

import uv
from django.conf import settings
from django.db import connection

from runs import envbuild, sandbox, transitions
from runs.envbuild import BuildFailed
from runs.models import StepRun
from studio.core.environments import Definition, Plan, plan
from studio.core.errors import StudioError
from studio.core.spec import StepSpec
from studio.workspace import environments as registry
from studio.workspace import storage

log = logging.getLogger("studio.worker")

BUILD_LOG = "azureml-logs/20_image_build_log.txt"

__all__ = ["BUILD_LOG", "BuildFailed", "plan_of", "prepare"]


def plan_of(node: StepSpec) -> Plan:
    """What the step's environment asks for (its fingerprint, its page), whether or not its
    sources are allowed: :func:`prepare` decides whether it is built."""
    return plan(node.environment or Definition(), allow_custom_sources=True)


def build_log_path(step_id: str) -> Path:
    return storage.step_log_dir(step_id) / BUILD_LOG


def prepare(
    step: StepRun,
    node: StepSpec,
    watch: Callable[[], bool],
    heartbeat: Callable[[], None],
) -> envbuild.Environment | None:
    """The step's built environment, held until released; None for the worker's own Python.
    Raises BuildFailed with the installer's lines when it cannot be built."""
    log_path = build_log_path(step.id)
    try:
        step_plan = plan(
            node.environment or Definition(),
            allow_custom_sources=settings.STUDIO_ENV_ALLOW_CUSTOM_SOURCES,
        )
    except StudioError as exc:  # submitted while allowed, or from a published pipeline
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(f"{exc.field}: {exc}\n")
        raise BuildFailed(f"The environment is not built: {exc.field}: {exc}") from None
    if step_plan.on_worker:
        return None
    host = socket.gethostname()
    attempt = step.attempt
    building = {"started": False}

    def on_wait() -> None:
        transitions.prepare(step.id, attempt)

    def on_build() -> None:
        building["started"] = True
        registry.build_started(
            step_plan.build_hash,
            host,
            step_plan.definition.to_dict(),
            list(step_plan.requirements),
            step.id,
        )

    build = envbuild.Build(
        env_dir=settings.STUDIO_ENV_DIR,
        uv=uv.find_uv_bin(),
        pythons=settings.STUDIO_ENV_PYTHONS,
        strict=settings.STUDIO_ENV_STRICT_PYTHON,
        base_env=sandbox.passed_variables(
            os.environ,
            sandbox.BUILD_VARIABLES,
            sandbox.BUILD_PREFIXES,
            extra=settings.STUDIO_STEP_VARIABLES,
        ),
        log_path=log_path,
        log_cap=settings.STUDIO_LOG_CAP_BYTES,
        watch=watch,
        heartbeat=heartbeat,
        heartbeat_seconds=settings.STUDIO_HEARTBEAT_SECONDS,
        on_wait=on_wait,
        on_build=on_build,
        thread_cleanup=connection.close,
        bwrap=_bwrap(),
    )
    try:
        environment = envbuild.ensure(step_plan, build)
    except BuildFailed:
        if building["started"]:
            registry.build_finished(step_plan.build_hash, host, False, _read(log_path))
        raise
    try:
        _record(step_plan, environment, host, log_path)
        if environment.built_here or environment.waited:
            transitions.prepared(step.id, attempt)
    except BaseException:
        environment.release()  # held by nobody else: the caller never gets it
        raise
    return environment


def _record(step_plan: Plan, environment: envbuild.Environment, host: str, log_path: Path) -> None:
    """What the Environments page shows: the build, or a use; evictions after a build."""
    if environment.built_here:
        python = (environment.path / "pyvenv.cfg").read_text(errors="replace")
        registry.build_finished(
            environment.build_hash,
            host,
            True,
            _read(log_path),
            python=_python_version(python),
            size=_size_of(environment.path),
        )
        evicted = envbuild.evict(
            settings.STUDIO_ENV_DIR, settings.STUDIO_ENV_CACHE_BYTES, keep=environment.build_hash
        )
        registry.builds_evicted(evicted, host)
    else:
        if not environment.waited:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(
                f"Environment {step_plan.definition.name or '(unnamed)'} "
                f"[{environment.build_hash}]: already built on {host} ({environment.path}).\n"
            )
        registry.build_used(environment.build_hash, host)


def _bwrap() -> str | None:
    """bubblewrap, when builds are to be sandboxed (as the steps are)."""
    if settings.STUDIO_SANDBOX == "off":
        return None
    found = sandbox.bwrap_path()
    if found is None and settings.STUDIO_SANDBOX == "on":
        raise BuildFailed("STUDIO_SANDBOX=on, and bubblewrap (bwrap) is not installed.")
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _python_version(pyvenv_cfg: str) -> str:
    for line in pyvenv_cfg.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version_info", "version"):
            return value.strip()
    return ""


def _size_of(path: Path) -> int | None:
    try:
        return int((path / "size").read_text())
    except (OSError, ValueError):
        return None
