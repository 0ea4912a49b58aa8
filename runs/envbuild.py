"""Build a step's environment on this worker host: a virtual environment made by uv, once.

Each environment lives under ``STUDIO_ENV_DIR/<build hash>`` with a lock file beside it. A
step that needs it takes the lock shared for as long as it runs; whoever builds takes it
exclusively, so concurrent steps wait for one build; eviction takes it exclusively without
waiting, so an environment in use is never evicted. The Studio SDK (``studio/sdk`` and
``studio/core``, with the few pure-Python packages it needs) is copied once per host into a
read-only folder that every environment sees after its own packages. Plain Python: the
caller records what happened.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from runs.executor import StepJob, run_step
from runs.sandbox import Sandbox, interpreter_roots
from studio import core as studio_core
from studio.core.environments import Plan

# The Python versions the SDK imports on, and so the ones environments may use.
ACCEPTED = ((3, 10), (3, 11), (3, 12), (3, 13))
READY = ".studio-ready"
# What the SDK needs at run time besides the standard library (all pure Python, or with a
# pure-Python fallback that other Python versions use).
SDK_RUNTIME_PACKAGES = (
    "requests",
    "urllib3",
    "idna",
    "certifi",
    "charset-normalizer",
    "PyYAML",
    "tzlocal",
    "pathspec",
    "python-dateutil",
    "six",
)
RUN_TYPES_GROUP = "studio.sdk.run_types"


class BuildFailed(Exception):
    """The environment could not be built; the message is for the step's error."""


@dataclass
class Interpreter:
    version: tuple[int, int, int]
    path: str

    @property
    def short(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


@dataclass
class Environment:
    """A built environment, held (shared lock) until :meth:`release`."""

    build_hash: str
    path: Path
    python: str
    lock_fd: int | None
    built_here: bool = False  # this step built it
    waited: bool = False  # this step waited for another's build

    @property
    def bin_dir(self) -> str:
        return str(Path(self.python).parent)

    def release(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # closing drops the lock
            self.lock_fd = None


# --- interpreters --------------------------------------------------------------------------

_interpreters: list[Interpreter] | None = None


def _candidates(configured: list[str]) -> list[str]:
    if configured:
        return configured
    found = [getattr(sys, "_base_executable", sys.executable)]
    for major, minor in ACCEPTED:
        on_path = shutil.which(f"python{major}.{minor}")
        if on_path:
            found.append(on_path)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        found.extend(str(p / "bin" / "python3") for p in sorted(pyenv.iterdir()))
    return found


def interpreters(configured: list[str]) -> list[Interpreter]:
    """The Pythons on this host that environments may use, one per minor version."""
    global _interpreters
    if _interpreters is not None:
        return _interpreters
    by_minor: dict[tuple[int, int], Interpreter] = {}
    for candidate in _candidates(configured):
        try:
            out = subprocess.run(
                [candidate, "-S", "-c", "import sys; print(*sys.version_info[:3])"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.split()
            version = (int(out[0]), int(out[1]), int(out[2]))
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            continue
        if version[:2] in ACCEPTED and version[:2] not in by_minor:
            by_minor[version[:2]] = Interpreter(version, candidate)
    _interpreters = sorted(by_minor.values(), key=lambda i: i.version)
    return _interpreters


def choose_interpreter(
    requested: str | None, available: list[Interpreter], strict: bool
) -> tuple[Interpreter, str]:
    """The interpreter for a requested version, and a warning when it is not that version."""
    names = ", ".join(i.short for i in available) or "none"
    if not available:
        raise BuildFailed("No Python interpreter this worker can build environments with.")
    if not requested:
        own = next((i for i in available if i.version[:2] == sys.version_info[:2]), available[-1])
        return own, ""
    parts = [int(p) for p in requested.split(".")[:2]] + [0]
    wanted = (parts[0], parts[1])
    exact = next((i for i in available if i.version[:2] == wanted), None)
    if exact is not None:
        return exact, ""
    if strict:
        raise BuildFailed(
            f"Python {requested} is not on this worker (it has {names}); without "
            "STUDIO_ENV_STRICT_PYTHON=1 the nearest would be used."
        )
    nearest = min(
        available,
        key=lambda i: (
            abs(i.version[1] - wanted[1]) + 100 * abs(i.version[0] - wanted[0]),
            -i.version[1],
        ),
    )
    return nearest, (
        f"WARNING: Python {requested} is not on this worker (it has {names}); building on "
        f"Python {nearest.short}, the nearest.\n"
    )


# --- the SDK every environment is given ------------------------------------------------------


@cache
def _sdk_digest() -> str:
    """What the SDK copy holds, by content (once per worker process: an upgrade restarts it)."""
    root = Path(studio_core.__file__).parent.parent
    digest = hashlib.sha256()
    for package in ("sdk", "core"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for name in SDK_RUNTIME_PACKAGES:
        try:
            digest.update(f"{name}={distribution(name).version}".encode())
        except PackageNotFoundError:
            pass
    return digest.hexdigest()[:16]


def sdk_runtime(env_dir: Path) -> Path:
    """The read-only folder with the SDK and what it needs, made once per host and version."""
    target = env_dir / f"sdk-{_sdk_digest()}"
    if (target / READY).exists():
        return target
    staging = env_dir / f".sdk-{os.getpid()}-{time.monotonic_ns()}"
    shutil.rmtree(staging, ignore_errors=True)
    root = Path(studio_core.__file__).parent.parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    (staging / "studio").mkdir(parents=True)
    (staging / "studio" / "__init__.py").write_text('"""The Studio SDK, as steps see it."""\n')
    for package in ("sdk", "core"):
        shutil.copytree(root / package, staging / "studio" / package, ignore=ignore)
    for name in SDK_RUNTIME_PACKAGES:
        _copy_distribution(name, staging)
    _write_run_types(staging)
    return _seal(staging, target)


NOTEBOOK_REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements-notebook.txt"


def notebook_runtime(env_dir: Path, uv: str, python: str, env: dict[str, str]) -> Path:
    """The read-only folder with papermill, ipykernel and nbconvert for notebook steps on
    ``python``: installed once per host and Python version from requirements-notebook.txt
    (wheels only: nothing is built), never into the worker's or the step's environment."""
    version = subprocess.run(
        [python, "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    pinned = NOTEBOOK_REQUIREMENTS.read_bytes()
    target = env_dir / f"notebook-{version}-{hashlib.sha256(pinned).hexdigest()[:16]}"
    if (target / READY).exists():
        return target
    env_dir.mkdir(parents=True, exist_ok=True)
    staging = env_dir / f".notebook-{os.getpid()}-{time.monotonic_ns()}"
    done = subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--no-config",
            "--quiet",
            "--only-binary",
            ":all:",
            "--python",
            python,
            "--target",
            str(staging),
            "-r",
            str(NOTEBOOK_REQUIREMENTS),
        ],
        capture_output=True,
        text=True,
        env={**env, "UV_NO_PROGRESS": "1", "NO_COLOR": "1"},
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        _remove(staging)
        raise BuildFailed(
            "The notebook runtime (papermill, ipykernel, nbconvert) could not be installed:\n"
            + (done.stderr or done.stdout).strip()
        )
    return _seal(staging, target)


def _seal(staging: Path, target: Path) -> Path:
    """Mark ``staging`` ready, make it read-only and move it to ``target`` in one rename; when
    another worker made ``target`` first, theirs is kept and ``staging`` removed."""
    (staging / READY).write_text("")
    for path in staging.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    try:
        os.rename(staging, target)
    except OSError:  # another worker made it first
        _remove(staging)
        return target
    for path in [target, *target.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
    return target


def _copy_distribution(name: str, target: Path) -> None:
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        return
    for file in dist.files or []:
        if file.parts[0] in ("..", "bin") or "__pycache__" in file.parts:
            continue
        source = Path(str(dist.locate_file(file)))
        if source.is_file():
            destination = target / Path(*file.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


def _write_run_types(target: Path) -> None:
    """The SDK finds its run types as entry points: declare them in the copy too."""
    try:
        points = [p for p in distribution("studio").entry_points if p.group == RUN_TYPES_GROUP]
    except PackageNotFoundError:
        points = []
    info = target / "studio_sdk_runtime-1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: studio-sdk-runtime\nVersion: 1\n")
    lines = [f"[{RUN_TYPES_GROUP}]"] + [f"{p.name} = {p.value}" for p in points]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def _remove(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        if not item.is_symlink():
            item.chmod(0o755 if item.is_dir() else 0o644)
    shutil.rmtree(path, ignore_errors=True)


# --- building --------------------------------------------------------------------------------


@dataclass
class Build:
    """How to build: where, with which tools, and the callbacks of the step that waits."""

    env_dir: Path
    uv: str
    pythons: list[str]
    strict: bool
    base_env: dict[str, str]
    log_path: Path
    log_cap: int
    watch: Callable[[], bool]
    heartbeat: Callable[[], None]
    heartbeat_seconds: float
    on_wait: Callable[[], None]  # the step starts waiting for a build (it is Preparing)
    on_build: Callable[[], None]  # this step builds it
    thread_cleanup: Callable[[], None] | None = None  # for the watcher thread of each command
    bwrap: str | None = None  # build sandboxed (a package's build script is submitted code)


def _lock(path: Path, mode: int) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
    except OSError:
        os.close(fd)
        raise
    return fd


def _append(log_path: Path, text: str) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as fh:
        fh.write(text)


def ensure(plan: Plan, build: Build) -> Environment:
    """The plan's environment on this host, built now if it is not yet; held shared."""
    build_hash = plan.build_hash
    path = build.env_dir / build_hash
    lock_path = build.env_dir / f"{build_hash}.lock"
    build.env_dir.mkdir(parents=True, exist_ok=True)
    if (path / READY).exists():
        fd = _lock(lock_path, fcntl.LOCK_SH)
        if (path / READY).exists():  # not evicted between the look and the lock
            _touch(path)
            return Environment(build_hash, path, _python_of(path), fd)
        os.close(fd)
    build.on_wait()
    _append(build.log_path, f"Environment {plan.definition.name or '(unnamed)'} [{build_hash}]\n")
    fd = _wait_for_lock(lock_path, build)
    try:
        if (path / READY).exists():
            _append(build.log_path, "Built meanwhile by another step on this host:\n")
            _append(build.log_path, (path / "build.log").read_text(errors="replace"))
            fcntl.flock(fd, fcntl.LOCK_SH)
            _touch(path)
            return Environment(build_hash, path, _python_of(path), fd, waited=True)
        started = time.monotonic()
        _build(plan, path, build)
        _append(build.log_path, f"Built in {time.monotonic() - started:.2f} s.\n")
        shutil.copyfile(build.log_path, path / "build.log")
        (path / "size").write_text(str(_size(path)))
        (path / READY).write_text(json.dumps({"built_at": time.time()}))
        _touch(path)
        fcntl.flock(fd, fcntl.LOCK_SH)  # from building to using: others may use it now
        return Environment(build_hash, path, _python_of(path), fd, built_here=True)
    except BaseException:
        os.close(fd)
        raise


def _wait_for_lock(lock_path: Path, build: Build) -> int:
    """The build lock, waited for while heartbeating; BuildFailed if the step is stopped."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    last_beat = time.monotonic()
    announced = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        if not announced:
            _append(build.log_path, "Waiting for another step's build of this environment...\n")
            announced = True
        if build.watch():
            os.close(fd)
            raise BuildFailed("Canceled while waiting for the environment's build.")
        if time.monotonic() - last_beat >= build.heartbeat_seconds:
            build.heartbeat()
            last_beat = time.monotonic()
        time.sleep(0.1)


def _build(plan: Plan, path: Path, build: Build) -> None:
    """uv venv, then uv pip install: each a watched subprocess writing to the build log."""
    build.on_build()
    if path.exists():
        _remove(path)
    for note in plan.notes:
        _append(build.log_path, f"Note: {note}\n")
    interpreter, warning = choose_interpreter(
        plan.definition.python, interpreters(build.pythons), build.strict
    )
    if warning:
        _append(build.log_path, warning)
    runtime = sdk_runtime(build.env_dir)
    requirements = path.with_name(f"{path.name}.requirements.txt")
    requirements.write_text(plan.requirements_text())
    _append(build.log_path, f"Requirements:\n{plan.requirements_text()}")
    env = {**build.base_env, "UV_NO_PROGRESS": "1", "NO_COLOR": "1"}
    python = str(path / "bin" / "python")
    path.mkdir(parents=True)
    commands = [
        [build.uv, "venv", "--no-config", "--quiet", "--python", interpreter.path, str(path)],
        [build.uv, "pip", "install", "--no-config", "--python", python, "-r", str(requirements)],
    ]
    for argv in commands:
        _append(build.log_path, "$ uv " + " ".join(argv[1:]) + "\n")
        if build.bwrap is not None:
            argv = _confined(argv, build, interpreter, requirements, path, env)
        outcome = run_step(
            StepJob(
                argv=argv,
                cwd=build.env_dir,
                env=env,
                log_path=build.log_path,
                log_cap=build.log_cap,
            ),
            watch=build.watch,
            heartbeat=build.heartbeat,
            heartbeat_seconds=build.heartbeat_seconds,
            grace_seconds=1.0,
            thread_cleanup=build.thread_cleanup,
        )
        if outcome.stopped:
            raise BuildFailed("Canceled during the environment's build.")
        if outcome.exit_code != 0:
            raise BuildFailed(_failure(plan, build.log_path, outcome.reason))
    site = next((path / "lib").glob("python3*/site-packages"))
    (site / "_studio_sdk.pth").write_text(f"{runtime}\n")
    (path / "requirements-resolved.txt").write_text(
        subprocess.run(
            [build.uv, "pip", "freeze", "--no-config", "--python", python],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        ).stdout
    )


def _confined(
    argv: list[str],
    build: Build,
    interpreter: Interpreter,
    requirements: Path,
    path: Path,
    env: dict[str, str],
) -> list[str]:
    """A build command in its sandbox: the interpreter, uv, the requirements and local wheels
    to read; the new environment and uv's cache to write; nothing else of this host."""
    box = Sandbox(cwd=path)
    box.read(*interpreter_roots(interpreter.path), Path(build.uv).parent, requirements)
    links = re.split(r"[,\s]+", env.get("UV_FIND_LINKS", ""))
    links += [line.split(" ", 1)[-1] for line in requirements.read_text().splitlines()]
    box.read(*(link for link in links if link.startswith("/") and os.path.exists(link)))
    cache = Path(
        env.get("UV_CACHE_DIR")
        or Path(env.get("XDG_CACHE_HOME") or Path(env.get("HOME", "/root")) / ".cache") / "uv"
    )
    box.write(path, cache)
    return box.wrap(argv, build.bwrap or "bwrap")


def _failure(plan: Plan, log_path: Path, reason: str) -> str:
    """The installer's own lines, and what a conda package that PyPI lacks means here."""
    text = log_path.read_text(errors="replace") if log_path.exists() else reason
    lines = [line for line in text.splitlines() if line.strip()]
    start = next(
        (i for i, line in enumerate(lines) if re.search(r"error|\u00d7|failed", line, re.I)),
        max(0, len(lines) - 12),
    )
    message = "\n".join(lines[start : start + 20]) or reason
    missing = [
        name
        for name in sorted(plan.from_conda)
        if re.search(rf"\b{re.escape(name)}\b.*(not found|no versions|was not found)", text, re.I)
    ]
    if missing:
        message += (
            f"\n{', '.join(missing)}: conda packages are installed from PyPI under the same name "
            "(no conda channel is reachable), and PyPI has no such package."
        )
    return f"The environment could not be built:\n{message}"


def _python_of(path: Path) -> str:
    return str(path / "bin" / "python")


def _touch(path: Path) -> None:
    """Record a use (eviction removes the least recently used first)."""
    try:
        os.utime(path / READY)
    except OSError:
        pass


def _size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def evict(env_dir: Path, cap_bytes: int, keep: str = "") -> list[str]:
    """Remove built environments, least recently used first, until they fit in ``cap_bytes``;
    one in use (its lock held) is never removed. Returns the hashes removed."""
    if not env_dir.is_dir():
        return []
    built = []
    for marker in env_dir.glob(f"*/{READY}"):
        path = marker.parent
        if path.name.startswith(("sdk-", "notebook-", ".")) or path.name == keep:
            continue
        size_file = path / "size"
        try:
            size = int(size_file.read_text())
        except (OSError, ValueError):
            size = _size(path)
            size_file.write_text(str(size))
        built.append((marker.stat().st_mtime, path, size))
    total = sum(size for _, _, size in built)
    removed = []
    for _, path, size in sorted(built, key=lambda item: item[0]):
        if total <= cap_bytes:
            break
        fd = os.open(env_dir / f"{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # in use
        try:
            (path / READY).unlink(missing_ok=True)
            _remove(path)
            total -= size
            removed.append(path.name)
        finally:
            os.close(fd)
    return removed
