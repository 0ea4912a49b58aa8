"""The worker's side of a step: claim it, lay it out, run it, publish its outputs.

Outputs are written to an attempt-scoped place (a hidden folder on a local
datastore, a local staging folder for a remote one) and published under their
final path only when the script exits 0; a failed or canceled attempt publishes
nothing, and its attempt folders are removed whatever happened (a full disk among them).
How an attempt ended is recorded even if the database refuses writes for a while: the
worker keeps the outcome and tries again (``outages.keep_trying``).
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from uv import find_uv_bin

from runs import (
    envbuild,
    environments,
    inputs,
    parallel,
    reuse,
    sandbox,
    services,
    shutdown,
    transitions,
)
from runs.envbuild import BuildFailed, Environment
from runs.executor import Outcome, StepJob, run_step
from runs.logs import exception_line
from runs.models import DatasetUse, Run, StepRun
from studio.core.errors import StudioError
from studio.core.parameters import format_value
from studio.core.paths import ATTEMPTS_FOLDER, clean_path, fingerprint_files, join
from studio.core.spec import (
    Arg,
    GraphSpec,
    NotebookSpec,
    OutputSpec,
    ParallelSpec,
    StepSpec,
    mini_batch_size_to_int,
)
from studio.core.status import Status
from studio.workspace import outages, storage
from studio.workspace.auth import issue_run_token
from studio.workspace.datastores import Store
from studio.workspace.models import Datastore, queue_for
from studio.workspace.services import get_datastore, register_dataset

log = logging.getLogger("studio.worker")


@dataclass
class _Claim:
    step: StepRun
    run: Run
    spec: GraphSpec


@dataclass
class _Output:
    name: str
    datastore: Datastore
    store: Store
    final: str  # path on the datastore
    scratch: Path  # where the script writes: a folder, or a file when is_file
    register: dict | None = None
    is_file: bool = False


@dataclass
class _Layout:
    job: StepJob
    outputs: list[_Output] = field(default_factory=list)
    # Attempt folders on local datastores, where the outputs are written before they are
    # published (removed once the attempt is over, whatever its outcome).
    scratch_roots: list[Path] = field(default_factory=list)


def claim_step(step_id: str) -> _Claim | None:
    """Take a Queued step for this worker; None if another delivery already has it."""
    if not transitions.claim(step_id, timezone.now()):
        return None
    return _claim_of(StepRun.objects.select_related("run", "run__experiment").get(id=step_id))


def _claim_of(step: StepRun) -> _Claim:
    return _Claim(step=step, run=step.run, spec=services.graph_of(step.run.graph_id))


def execute_step(step_id: str) -> None:
    """Claim a step, run it, record the outcome, and go on with the next ready step here
    (``finish_step`` hands back one it claimed for this worker)."""
    if shutdown.stopping():  # a message this stopping worker still took: for another worker
        transitions.unring([step_id])  # owed again, and rung once this worker takes no more
        shutdown.hand_back(step_id)
        return
    claim = claim_step(step_id)
    while claim is not None:
        step = _run_claimed(claim)
        if step is not None and shutdown.stopping():
            # The next ready step was claimed here: give it back rather than start it.
            services.requeue_step(step.id, step.attempt, "the worker shut down", ring=False)
            shutdown.hand_back(step.id)
            step = None
        claim = _claim_of(step) if step is not None else None


def _run_claimed(claim: _Claim) -> StepRun | None:
    with _beating(claim.step.id, claim.step.attempt):
        return _attempt(claim)


@contextmanager
def _beating(step_id: str, attempt: int) -> Iterator[None]:
    """Heartbeats for the whole attempt, not only while its script runs: laying out inputs
    and publishing outputs (downloads and uploads) can take longer than
    STUDIO_WORKER_LOST_SECONDS, and a silent attempt would be failed as "Worker lost"."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.STUDIO_HEARTBEAT_SECONDS):
                try:
                    transitions.heartbeat(step_id, attempt, timezone.now())
                except Exception:  # a passing database error: the next beat tries again
                    log.warning("heartbeat of step %s failed", step_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name="attempt-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _attempt(claim: _Claim) -> StepRun | None:
    step, run, spec = claim.step, claim.run, claim.spec
    attempt = step.attempt
    work = settings.DATA_DIR / "work" / f"{step.id}.{attempt}"
    node = spec.step(step.node_id)

    def watch() -> bool:
        if shutdown.due():
            if services.requeue_step(step.id, attempt, "the worker shut down", ring=False):
                shutdown.hand_back(step.id)
            return True
        return _stopped(step.id, attempt)

    def heartbeat() -> None:
        try:
            transitions.heartbeat(step.id, attempt, timezone.now())
        except DatabaseError as exc:
            # The watcher must outlive a database that refuses writes for a while.
            if outages.database_unwritable(exc) is None:
                raise
            log.warning("could not record the heartbeat of step %s: %s", step.id, exc)
            connection.close()

    environment = None
    feed = _feed(step, run, node) if node.parallel is not None else None
    try:
        base = _base_environment()
        environment = environments.prepare(step, node, watch, heartbeat)
        layout = _prepare(step, run, spec, node, work, base, environment, feed)
    except Exception as exc:  # a broken layout fails the step with the reason, never hangs
        if environment is not None:
            environment.release()
        if feed is not None:
            feed.close()
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(exc, BuildFailed):
            stopped = watch()
            return _record(
                step.id,
                attempt,
                status=Status.CANCELED if stopped else Status.FAILED,
                error="" if stopped else str(exc),
                run_id=run.id,
            )
        log.warning(
            "could not prepare step %s: %s",
            step.id,
            exc,
            exc_info=not isinstance(exc, (StudioError, ValueError)),
        )
        full = outages.no_space(exc)
        return _record(
            step.id,
            attempt,
            status=Status.FAILED,
            error=(
                f"Could not prepare the step: {outages.no_space_message(full)}"
                if full is not None
                else f"Could not prepare the step: {exc}"
            ),
            run_id=run.id,
        )
    timeout = step_timeout(node)
    try:
        outcome = run_step(
            layout.job,
            watch=watch,
            heartbeat=heartbeat if feed is None else _with_logs(heartbeat, layout, step.id),
            heartbeat_seconds=settings.STUDIO_HEARTBEAT_SECONDS,
            grace_seconds=settings.STUDIO_CANCEL_GRACE_SECONDS,
            on_start=lambda pid: _started(step, pid, environment, feed),
            thread_cleanup=lambda: connection.close(),  # the watcher thread's own connection
            timeout_seconds=timeout,
        )
    finally:
        if environment is not None:
            environment.release()
        if feed is not None:
            feed.close()
    if feed is not None and not outcome.stopped and _stopped(step.id, attempt):
        outcome.stopped = True  # its processes ended on their own, told the step stops
    try:
        status, error, outputs = _ending(step, layout, outcome, timeout, work)
    finally:
        for root in layout.scratch_roots:
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return _record(
        step.id,
        attempt,
        status=status,
        exit_code=outcome.exit_code,
        error=error,
        outputs=outputs,
        log_size=outcome.log_size,
        run_id=run.id,
        on_success=(
            (lambda: _register_outputs(step, layout.outputs, outputs))
            if any(o.register for o in layout.outputs)
            else None
        ),
    )


def _record(step_id: str, attempt: int, **ending) -> StepRun | None:
    """``services.finish_step``, tried again while the database refuses writes: a step that
    succeeded is recorded as succeeded once writing works again, not lost."""
    return outages.keep_trying(
        lambda: services.finish_step(step_id, attempt, **ending),
        f"how step {step_id} ended",
        give_up_after=settings.STUDIO_RECORD_RETRY_SECONDS,
    )


def step_timeout(node: StepSpec) -> int | None:
    """How long the step's script may run: its max_run_duration_seconds, at most
    STUDIO_MAX_STEP_SECONDS (0: no ceiling); None: no limit."""
    limits = [node.timeout_seconds, settings.STUDIO_MAX_STEP_SECONDS or None]
    return min((s for s in limits if s), default=None)


_GOING = (Status.PREPARING, Status.RUNNING)


def _stopped(step_id: str, attempt: int) -> bool:
    """Whether the attempt should stop: a cancel was asked, or it lost the step."""
    row = StepRun.objects.filter(id=step_id).values_list("status", "attempt").first()
    return row is None or row[0] not in _GOING or row[1] != attempt


def _started(
    step: StepRun, pid: int, environment: Environment | None, feed: parallel.Feed | None = None
) -> None:
    """While the script starts: record its pid, and why it was not reused if still open."""
    if feed is not None:
        feed.started()
    fields: dict = {"pid": pid}
    if environment is not None:
        fields["environment_hash"] = environment.build_hash
    if reuse.explanation_missing(step):
        try:
            fields["reuse_reason"] = step.reuse_reason = reuse.why_not_reused(step)
        except Exception:  # only an explanation for the pages: never fails the step
            log.warning("could not explain why step %s was not reused", step.id, exc_info=True)
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Display-only fields: this commit need not wait for the disk (a database
                # crash may lose it, never anything else), so it holds up the step less.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            transitions.start(step.id, step.attempt, **fields)
    except DatabaseError as exc:
        # Display-only: a database refusing writes does not stop the script it started.
        if outages.database_unwritable(exc) is None:
            raise
        log.warning("could not record the start of step %s: %s", step.id, exc)


def _ending(
    step: StepRun,
    layout: _Layout,
    outcome: Outcome,
    timeout: int | None = None,
    work: Path | None = None,
) -> tuple[Status, str, dict]:
    """How the attempt ended: (status, error, published outputs). Outputs are published
    only when the script exited 0 and its ./outputs and ./logs were kept, and all of them
    or none."""
    kept_short = _keep_artifacts(layout.job.cwd, step.id)
    if kept_short is not None and outcome.exit_code == 0 and not outcome.stopped:
        return (
            Status.FAILED,
            f"Could not keep the step's files: {outages.no_space_message(kept_short)}; "
            "nothing was published.",
            {},
        )
    if outcome.timed_out:
        return Status.FAILED, f"Step timed out after {timeout} s.", {}
    if outcome.stopped:
        return Status.CANCELED, "", {}
    if outcome.exit_code == 0:
        try:
            return Status.COMPLETED, "", _publish_outputs(step, layout.outputs)
        except Exception as exc:
            log.warning("could not publish outputs of %s", step.id, exc_info=True)
            full = outages.no_space(exc)
            reason = outages.no_space_message(full) if full is not None else exc
            return Status.FAILED, f"Could not publish the step's outputs: {reason}", {}
    if outcome.exit_code is None:
        return Status.FAILED, outcome.reason, {}
    tail = _log_tail(step.id)
    raised = exception_line(tail)
    failed = f"Step failed with exit code {outcome.exit_code}" + (f": {raised}" if raised else ".")
    # A script that failed on a full disk rarely says so in a log on that same disk.
    written = [*layout.scratch_roots, *(o.scratch for o in layout.outputs), layout.job.log_path]
    full_at = outages.full_filesystem([*written, *([work] if work is not None else [])])
    if outcome.log_no_space is not None:
        full_at = full_at or outcome.log_no_space.filename
    if full_at is not None:
        failed = (
            f"{failed} No space left on device: {full_at} is full; "
            "the attempt's partial outputs were removed."
        )
    return Status.FAILED, f"{failed}\n{tail}", {}


def _with_logs(heartbeat: Callable[[], None], layout: _Layout, step_id: str) -> Callable[[], None]:
    """A ParallelRunStep's heartbeat also copies its ``logs/`` (each process's, the reports)
    to the step run as they grow, so that the run page shows them while the step runs."""

    def beat() -> None:
        heartbeat()
        source = layout.job.cwd / "logs"
        if source.is_dir():
            try:
                shutil.copytree(source, storage.step_log_dir(step_id) / "logs", dirs_exist_ok=True)
            except (OSError, shutil.Error):  # kept whole when the attempt ends
                log.debug("could not copy the logs of step %s yet", step_id, exc_info=True)

    return beat


def _keep_artifacts(cwd: Path, step_id: str) -> OSError | None:
    """Files the script wrote to ./outputs and ./logs stay with the step run (as in azureml).
    Returns the error of a copy a full disk cut short (and removed), if any."""
    for folder in ("outputs", "logs"):
        source = cwd / folder
        if source.is_dir() and not source.is_symlink():
            try:
                shutil.copytree(
                    source,
                    storage.step_log_dir(step_id) / folder,
                    ignore=lambda where, names: [
                        n for n in names if os.path.islink(os.path.join(where, n))
                    ],
                    dirs_exist_ok=True,
                )
            except (OSError, shutil.Error) as exc:
                log.warning("could not keep %s of step %s", folder, step_id, exc_info=True)
                target = storage.step_log_dir(step_id) / folder
                full = outages.no_space(exc)
                if full is None and os.strerror(errno.ENOSPC) in str(exc):
                    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
                if full is not None:
                    # A half-made copy would only hold the space a full disk lacks.
                    shutil.rmtree(target, ignore_errors=True)
                    return full
    return None


def _log_tail(step_id: str, lines: int = 20) -> str:
    data, _ = storage.read_log(step_id, offset=-16384)
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _env_name(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _output_path(node_output: OutputSpec, step: StepRun) -> str:
    prefix = "azureml" if node_output.kind == "PipelineData" else "dataset"
    template = node_output.path or f"{prefix}/{{run-id}}/{{output-name}}"
    return clean_path(
        template.replace("{run-id}", step.id).replace("{output-name}", node_output.name)
    )


def _prepare(
    step: StepRun,
    run: Run,
    spec: GraphSpec,
    node: StepSpec,
    work: Path,
    base: dict[str, str],
    environment: Environment | None,
    feed: parallel.Feed | None = None,
    part: int = 0,
) -> _Layout:
    """Lay out the working copy, resolve inputs, outputs and arguments, set the variables.
    ``part``: a ParallelRunStep's node number on a worker that joins the step's first one
    (its outputs are the step's, being written; its log its own)."""
    source = work / "source"
    storage.working_copy(node.snapshot, source)
    env = dict(base)
    if node.environment is not None:
        env.update(node.environment.variables)
    bin_dir = environment.bin_dir if environment is not None else os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join(filter(None, [bin_dir, base.get("PATH", os.defpath)]))
    if environment is not None:
        # The environment's own packages, then the SDK copy its .pth file names: never the
        # worker's checkout.
        env["VIRTUAL_ENV"] = str(environment.path)
        env.pop("PYTHONPATH", None)
    paths: dict[tuple[str, str], str] = {}
    outputs, scratch_roots = _lay_out_outputs(step, node, work, paths, env, keep=part > 0)
    _lay_out_inputs(run, node, work, paths, env)
    # Models a step loads (Model.get_model_path) are downloaded once per host, and checked
    # against their manifest on every use: steps share this folder.
    model_cache = settings.DATA_DIR / "cache" / "models"
    model_cache.mkdir(parents=True, exist_ok=True)
    env["STUDIO_MODEL_CACHE"] = str(model_cache)
    python = environment.python if environment is not None else sys.executable
    runtime = (
        envbuild.notebook_runtime(settings.STUDIO_ENV_DIR, find_uv_bin(), python, dict(os.environ))
        if node.notebook is not None
        else None
    )
    argv = _command(run, spec, node, paths, env, python, runtime, feed, part)
    bwrap = sandbox.bwrap_path() if settings.STUDIO_SANDBOX != "off" else None
    if bwrap is not None:
        argv = _confined(argv, bwrap, env, work, source, python, paths, scratch_roots, runtime)
    elif settings.STUDIO_SANDBOX == "on":
        raise StudioError("sandbox", "STUDIO_SANDBOX=on, and bubblewrap (bwrap) is not installed.")
    env.update(
        {
            "STUDIO_URL": settings.STUDIO_PUBLIC_URL,
            "STUDIO_RUN_TOKEN": issue_run_token(step.id, step.attempt, run.created_by_id),
            "STUDIO_RUN_ID": step.id,
            "STUDIO_PARENT_RUN_ID": run.id,
            "STUDIO_EXPERIMENT_NAME": run.experiment.name,
            "AZUREML_RUN_ID": step.id,
            "AZUREML_ARM_PROJECT_NAME": run.experiment.name,
        }
    )
    log_path = (
        storage.step_log_path(step.id)
        if part == 0
        else storage.step_log_dir(step.id) / "logs" / "sys" / f"node{part}.{step.attempt}.txt"
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if step.attempt > 1 and log_path.exists():
        with open(log_path, "ab") as fh:
            fh.write(f"\n[attempt {step.attempt}]\n".encode())
    job = StepJob(
        argv=argv,
        cwd=source,
        env=env,
        log_path=log_path,
        log_cap=settings.STUDIO_LOG_CAP_BYTES,
        pass_fds=feed.child_fds if feed is not None else (),
    )
    return _Layout(job=job, outputs=outputs, scratch_roots=scratch_roots)


def _confined(
    argv: list[str],
    bwrap: str,
    env: dict[str, str],
    work: Path,
    source: Path,
    python: str,
    paths: dict,
    scratch_roots: list[Path],
    notebook_runtime: Path | None = None,
) -> list[str]:
    """The step's command run in its sandbox: its interpreter, the SDK copy (and a notebook
    step's runtime) and its inputs to read; its working folder and output folders to write;
    nothing else of this host."""
    box = sandbox.Sandbox(cwd=source)
    box.read(*sandbox.interpreter_roots(python))
    if notebook_runtime is not None:
        box.read(notebook_runtime)
    if "VIRTUAL_ENV" not in env:
        # The worker's own Python: its checkout is out of sight, so the SDK comes from the copy.
        runtime = envbuild.sdk_runtime(settings.STUDIO_ENV_DIR)
        env["PYTHONPATH"] = str(runtime)
        box.read(runtime)
    else:
        box.read(*_pth_folders(Path(env["VIRTUAL_ENV"])))
    for (kind, _), location in paths.items():
        if kind == "input":
            box.read(location)
    datasets_file = env.get("STUDIO_INPUT_DATASETS_FILE")
    if datasets_file:
        box.read(*_absolute_paths(json.loads(Path(datasets_file).read_text())))
    box.write(work, *scratch_roots, env["STUDIO_MODEL_CACHE"])
    env["HOME"] = str(work)
    env["TMPDIR"] = "/tmp"
    return box.wrap(argv, bwrap)


def _pth_folders(venv: Path) -> list[str]:
    """The folders an environment's .pth files add (the SDK copy)."""
    found = []
    for pth in venv.glob("lib/python3*/site-packages/_studio_sdk.pth"):
        found += [line.strip() for line in pth.read_text().splitlines() if line.strip()]
    return found


def _absolute_paths(value: object) -> list[str]:
    """Every absolute path that exists in a JSON value (where datasets are read)."""
    if isinstance(value, str):
        return [value] if value.startswith("/") and os.path.exists(value) else []
    if isinstance(value, dict):
        return [p for v in value.values() for p in _absolute_paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in _absolute_paths(v)]
    return []


def _base_environment() -> dict[str, str]:
    """What of the worker's environment a step gets: the variables of an allow list (never a
    database or broker URL, a key or a credential of the server)."""
    env = sandbox.passed_variables(
        os.environ,
        sandbox.STEP_VARIABLES,
        sandbox.STEP_PREFIXES,
        extra=settings.STUDIO_STEP_VARIABLES,
    )
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH", "")])
    )
    return env


def _lay_out_outputs(
    step: StepRun, node: StepSpec, work: Path, paths: dict, env: dict, keep: bool = False
) -> tuple[list[_Output], list[Path]]:
    """Where the script writes each output, before it is published: (outputs, the attempt
    folders on local datastores, removed once the attempt is over). ``keep``: what is there
    stays (another worker of the same attempt writes there)."""
    outputs: list[_Output] = []
    scratch_roots: list[Path] = []
    attempt_folder = join(ATTEMPTS_FOLDER, f"{step.id}.{step.attempt}")
    for output in node.outputs:
        datastore = get_datastore(output.datastore)
        store = datastore.store()
        if store.is_local:
            # On the datastore's own file system, so that publishing is a rename.
            root = store.local_path(attempt_folder)
            if root not in scratch_roots:
                scratch_roots.append(root)
            scratch = root / output.name
        else:
            scratch = work / "outputs" / output.name
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
        if output.is_file:
            scratch.parent.mkdir(parents=True, exist_ok=True)
        else:
            scratch.mkdir(parents=True, exist_ok=keep)
        final = _output_path(output, step)
        register = output.registration()
        outputs.append(
            _Output(output.name, datastore, store, final, scratch, register, output.is_file)
        )
        paths[("output", output.name)] = str(scratch)
        variable = (
            _env_name(output.name)
            if output.kind != "PipelineData"
            else f"AZUREML_DATAREFERENCE_{_env_name(output.name)}"
        )
        env[variable] = str(scratch)
    return outputs, scratch_roots


def _lay_out_inputs(run: Run, node: StepSpec, work: Path, paths: dict, env: dict) -> None:
    """Where the script finds each input; datasets described for ``Run.input_datasets``."""
    input_datasets: dict[str, dict] = {}
    for item in inputs.step_inputs(run, node):
        location, description = inputs.local_location(item, work)
        paths[("input", item.name)] = location
        if description is not None:
            input_datasets[item.name] = description
        else:
            env[f"AZUREML_DATAREFERENCE_{_env_name(item.name)}"] = location
    if input_datasets:
        datasets_file = work / "input_datasets.json"
        datasets_file.write_text(json.dumps(input_datasets))
        env["STUDIO_INPUT_DATASETS_FILE"] = str(datasets_file)


def _command(
    run: Run,
    spec: GraphSpec,
    node: StepSpec,
    paths: dict,
    env: dict,
    python: str,
    notebook_runtime: Path | None = None,
    feed: parallel.Feed | None = None,
    part: int = 0,
) -> list[str]:
    """The script's (or CommandStep's, or notebook runner's) command line, and its parameters
    as AML_PARAMETER_* variables."""

    def resolve(arg: Arg) -> str:
        if arg.kind == "literal":
            return arg.value
        if arg.kind == "parameter":
            return format_value(run.parameters[arg.value])
        return paths[(arg.kind, arg.value)]

    for name, arg in node.params:
        env[f"AML_PARAMETER_{_env_name(name)}"] = resolve(arg)
    for parameter in spec.parameters:
        env.setdefault(
            f"AML_PARAMETER_{_env_name(parameter.name)}",
            format_value(run.parameters[parameter.name]),
        )
    if node.notebook is not None and notebook_runtime is not None:
        job = _notebook_job(node.notebook, run, paths, notebook_runtime)
        return [python, "-m", "studio.sdk.contrib.notebook._runner", json.dumps(job)]
    arguments = [resolve(a) for a in node.arguments]
    if node.parallel is not None:
        job = _parallel_job(node, node.parallel, run, paths, arguments)
        if feed is not None:
            job.update(feed=list(feed.child_fds), plan=part == 0, node=part)
        return [python, "-m", "studio.sdk.pipeline.steps._parallel_run", json.dumps(job)]
    if node.command is None:
        return [python, node.script_name, *arguments]
    return [_program(node.command, env["PATH"]), *arguments]


def _notebook_job(notebook: NotebookSpec, run: Run, paths: dict, runtime: Path) -> dict:
    """What the notebook runner is told: the notebook, where the executed notebook and its
    HTML go (the step's ``outputs/``, kept with the step run), and the parameters' values."""

    def value(arg: Arg) -> object:
        if arg.kind == "literal":
            return json.loads(arg.value)
        if arg.kind == "parameter":
            given = run.parameters[arg.value]
            return given if isinstance(given, (str, int, float, bool)) else format_value(given)
        return paths[(arg.kind, arg.value)]

    output = f"outputs/{notebook.output}"
    copy = None
    if notebook.output_data is not None:
        copy = f"{paths[('output', notebook.output_data)]}/{notebook.output}"
    return {
        "runtime": str(runtime),
        "notebook": notebook.path,
        "output": output,
        "html": os.path.splitext(output)[0] + ".html",
        "output_copy": copy,
        "parameters": {name: value(arg) for name, arg in notebook.parameters},
        "kernel": notebook.kernel,
        "timeout": notebook.timeout,
        "progress_bar": notebook.progress_bar,
        "log_output": notebook.log_output,
        "cwd": notebook.cwd,
    }


def _parallel_job(
    node: StepSpec, parallel: ParallelSpec, run: Run, paths: dict, arguments: list[str]
) -> dict:
    """What a ParallelRunStep's run is told: the entry script and its arguments, where each
    input to split is, the output folder, and the settings (pipeline parameters resolved)."""
    return {
        "entry_script": node.script_name,
        "arguments": arguments,
        "inputs": [{"name": n, "location": paths[("input", n)]} for n in parallel.inputs],
        "output_dir": paths[("output", parallel.output)] if parallel.output else None,
        "settings": _parallel_settings(parallel, run),
    }


def _parallel_settings(parallel: ParallelSpec, run: Run) -> dict:
    """A ParallelRunStep's settings in this run: the pipeline parameters that give them
    resolved."""
    settings = parallel.to_dict()
    for setting, name in parallel.parameters:
        value = run.parameters[name]
        try:
            settings[setting] = (
                mini_batch_size_to_int(value) if setting == "mini_batch_size" else value
            )
        except ValueError as exc:
            raise StudioError("parallel", f"Pipeline parameter {name}: {exc}") from None
        if setting != "logging_level" and (
            type(settings[setting]) is not int or settings[setting] < 1
        ):
            raise StudioError(
                "parallel",
                f"Pipeline parameter {name} gives {setting} {value!r}: a whole number from 1 is "
                "needed.",
            )
    return settings


def _feed(step: StepRun, run: Run, node: StepSpec) -> parallel.Feed:
    """The first worker's feed of a ParallelRunStep: once the mini-batches are stored, it rings
    for more workers of the step's compute target, ``node_count - 1`` of them."""
    assert node.parallel is not None
    settings = _parallel_settings(node.parallel, run)

    numbers = itertools.count(1)  # each message its own node number (its logs' folder)

    def ring_parts(missing: int) -> None:
        # Twice as many messages as workers missing: a worker busy with this very step may
        # hold one of them until the step is over (then it finds nothing to join), and the
        # feed lets no more than node_count workers take mini-batches.
        for _ in range(2 * missing):
            services.ring_doorbell(
                parallel.RUN_PART,
                [step.id, step.attempt, next(numbers)],
                queue_for(step.compute_target),
            )

    return parallel.Feed(step, settings, transitions.worker_name(), ring=ring_parts)


def execute_parallel_part(step_id: str, attempt: int, number: int) -> None:
    """Join a running ParallelRunStep attempt as its node ``number``: lay the step out here,
    and run its processes on the mini-batches the step's workers share, until none is left,
    the attempt ends, or this worker stops. How the step ends is its first worker's to say."""
    step = StepRun.objects.select_related("run", "run__experiment").filter(id=step_id).first()
    if step is None or step.attempt != attempt or step.status not in _GOING:
        return  # over, or another attempt's: nothing to join
    if shutdown.stopping():
        return  # the step's other workers do without this one
    run, spec = step.run, services.graph_of(step.run.graph_id)
    node = spec.step(step.node_id)
    assert node.parallel is not None
    parallel_settings = _parallel_settings(node.parallel, run)
    if len(parallel.active_workers(step.id, attempt)) >= parallel_settings["node_count"]:
        return  # a message rung again after the step found its workers
    work = settings.DATA_DIR / "work" / f"{step.id}.{attempt}.node{number}"

    def watch() -> bool:
        return shutdown.due() or _stopped(step.id, attempt)

    def no_beat() -> None:  # the step's heartbeat is its first worker's; the feed keeps
        return None  # this worker's mini-batches alive

    environment = None
    feed = parallel.Feed(step, parallel_settings, transitions.worker_name())
    try:
        environment = environments.prepare(step, node, watch, no_beat)
        layout = _prepare(
            step, run, spec, node, work, _base_environment(), environment, feed, part=number
        )
        run_step(
            layout.job,
            watch=watch,
            heartbeat=_with_logs(no_beat, layout, step.id),
            heartbeat_seconds=settings.STUDIO_HEARTBEAT_SECONDS,
            grace_seconds=settings.STUDIO_CANCEL_GRACE_SECONDS,
            on_start=lambda pid: feed.started(),
            thread_cleanup=lambda: connection.close(),
        )
        _keep_artifacts(layout.job.cwd, step.id)
    except Exception:  # this worker is one of several: the step goes on without it
        log.warning("node %s of step %s could not run", number, step.id, exc_info=True)
    finally:
        feed.close()
        if environment is not None:
            environment.release()
        shutil.rmtree(work, ignore_errors=True)


def _program(command: str, path: str) -> str:
    """A CommandStep's program: a path in the snapshot, or a name on the step's PATH (where
    the environment's ``python`` comes first)."""
    if "/" in command:
        return command
    found = shutil.which(command, path=path)
    if found is None:
        raise StudioError("command", f"command '{command}' was not found on the step's PATH.")
    return found


def _publish_outputs(step: StepRun, outputs: list[_Output]) -> dict:
    """Move or upload each output to its final path and record its manifest: all or none."""
    published: dict[str, dict] = {}
    try:
        for output in outputs:
            published[output.name] = _publish_output(output)
    except Exception:
        for output in outputs:
            if output.name in published:
                output.store.delete(output.final)
        raise
    return published


def _publish_output(output: _Output) -> dict:
    store, scratch = output.store, output.scratch
    if not (scratch.exists() or scratch.is_symlink()):
        raise StudioError("outputs", f"output {output.name}: the script wrote no file at {scratch}")
    scratch_is_dir = scratch.is_dir()
    try:
        return _move_output(output, scratch_is_dir)
    except Exception:
        # A half-moved or half-uploaded output (a full disk, a lost connection) never stays.
        try:
            store.delete(output.final)
        except Exception:
            log.warning("could not remove output %s", output.final, exc_info=True)
        raise


def _move_output(output: _Output, scratch_is_dir: bool) -> dict:
    store, scratch = output.store, output.scratch
    if store.is_local:
        final = store.local_path(output.final)
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        elif final.exists() or final.is_symlink():
            final.unlink()
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch, final)
    else:
        if store.exists(output.final):
            store.delete(output.final)
        if scratch_is_dir:
            store.upload_folder(scratch, output.final)
        else:
            with open(scratch, "rb") as fh:
                store.write_file(output.final, fh, overwrite=True)
    files = list(store.walk(output.final))
    if not files:
        # An empty output still exists, so that it can be verified and reused.
        store.keep_empty_folder(output.final)
    published = {
        "datastore": output.datastore.name,
        "path": output.final,
        "manifest": fingerprint_files(files),
        # What the run page shows of it.
        "files": len(files),
        "bytes": sum(f.size for f in files),
    }
    if not scratch_is_dir:
        published["is_file"] = True
    return published


def _register_outputs(step: StepRun, outputs: list[_Output], published: dict) -> None:
    for output in outputs:
        if not output.register:
            continue
        info = published[output.name]
        dataset = register_dataset(
            name=output.register["name"],
            kind=output.register.get("kind", "file"),
            paths=[[info["datastore"], info["path"]]],
            options=output.register.get("options") or {},
            description=output.register.get("description", ""),
            create_new_version=True,
            created_by_step_id=step.id,
        )
        DatasetUse.objects.get_or_create(dataset=dataset, step_run=step, direction="write")
