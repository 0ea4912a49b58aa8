"""The builder's choices that need no build: interpreters, eviction, the build lock."""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import subprocess
import time

import pytest
import uv

from runs import envbuild
from runs.envbuild import BuildFailed, Interpreter
from studio.core.environments import parse_definition, plan
from tests.wheels import version_package

PYTHONS = [Interpreter((3, 10, 13), "/p310"), Interpreter((3, 12, 1), "/p312")]


def test_the_nearest_python_is_used_with_a_warning_unless_strict():
    chosen, warning = envbuild.choose_interpreter("3.12", PYTHONS, strict=False)
    assert chosen.path == "/p312" and warning == ""
    chosen, warning = envbuild.choose_interpreter("3.8", PYTHONS, strict=False)
    assert chosen.path == "/p310"
    assert (
        "Python 3.8 is not on this worker (it has 3.10, 3.12); building on Python 3.10" in warning
    )
    chosen, _ = envbuild.choose_interpreter("3.11", PYTHONS, strict=False)
    assert chosen.path == "/p312"  # equally near: the newer
    with pytest.raises(
        BuildFailed, match=r"Python 3.8 is not on this worker \(it has 3.10, 3.12\)"
    ):
        envbuild.choose_interpreter("3.8", PYTHONS, strict=True)


def _built(env_dir, name: str, size: int, used: float) -> None:
    path = env_dir / name
    path.mkdir(parents=True)
    (path / "size").write_text(str(size))
    marker = path / envbuild.READY
    marker.write_text("")
    os.utime(marker, (used, used))


def test_eviction_removes_the_least_recently_used_first_and_never_one_in_use(tmp_path):
    now = time.time()
    _built(tmp_path, "old", 100, now - 300)
    _built(tmp_path, "inuse", 100, now - 200)
    _built(tmp_path, "recent", 100, now - 100)
    held = os.open(tmp_path / "inuse.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_SH)
    try:
        removed = envbuild.evict(tmp_path, cap_bytes=150)
    finally:
        os.close(held)
    assert removed == ["old", "recent"]
    assert (tmp_path / "inuse").is_dir() and not (tmp_path / "old").exists()


def test_the_sdk_runtime_holds_the_sdk_and_what_it_needs_read_only(tmp_path):
    runtime = envbuild.sdk_runtime(tmp_path)
    assert (runtime / "studio" / "sdk" / "core" / "run.py").is_file()
    assert (runtime / "studio" / "core" / "spec.py").is_file()
    assert (runtime / "requests" / "__init__.py").is_file()
    assert not (runtime / "runs").exists() and not (runtime / "studio" / "settings.py").exists()
    entry_points = runtime / "studio_sdk_runtime-1.dist-info" / "entry_points.txt"
    assert "azureml.PipelineRun" in entry_points.read_text()
    try:
        # Read-only by mode (root ignores modes: steps run as root are not held by it).
        assert stat.S_IMODE((runtime / "studio" / "core" / "spec.py").stat().st_mode) == 0o444
        assert stat.S_IMODE((runtime / "studio" / "core").stat().st_mode) == 0o555
        assert envbuild.sdk_runtime(tmp_path) == runtime  # made once
    finally:
        envbuild._remove(runtime)


SDK_USE = (
    "import studio.sdk.core, studio.sdk.pipeline.core, studio.sdk.pipeline.steps, studio.sdk.data;"
    "from studio.sdk.core import Run; from studio.sdk.run_types import run_type;"
    "Run.get_context(); run_type('azureml.PipelineRun')"
)
IMPORTS = SDK_USE + "; print('ok')"


def test_the_sdk_imports_on_every_python_this_host_builds_environments_with(tmp_path):
    runtime = envbuild.sdk_runtime(tmp_path)
    found = envbuild.interpreters([])
    assert found, "no Python 3.10-3.13 on this host"
    try:
        for interpreter in found:
            # -S: no site-packages at all, only the standard library and the SDK copy
            done = subprocess.run(
                [
                    interpreter.path,
                    "-S",
                    "-c",
                    f"import sys; sys.path.append({str(runtime)!r}); {IMPORTS}",
                ],
                capture_output=True,
                text=True,
            )
            assert done.stdout.strip() == "ok", (interpreter, done.stderr)
    finally:
        envbuild._remove(runtime)


def _callbacks(tmp_path, **changes) -> envbuild.Build:
    settings = {
        "env_dir": tmp_path / "envs",
        "uv": uv.find_uv_bin(),
        "pythons": [],
        "strict": False,
        "base_env": {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "UV_OFFLINE": "1",
            "UV_FIND_LINKS": str(tmp_path / "wheels"),
        },
        "log_path": tmp_path / "build.log",
        "log_cap": 10**7,
        "watch": lambda: False,
        "heartbeat": lambda: None,
        "heartbeat_seconds": 60,
        "on_wait": lambda: None,
        "on_build": lambda: None,
        "bwrap": shutil.which("bwrap"),  # sandboxed where bubblewrap is installed
    }
    return envbuild.Build(**{**settings, **changes})


def test_an_environment_is_built_on_the_python_it_asks_for_with_its_package_and_the_sdk(tmp_path):
    version_package(tmp_path / "wheels", "1.0")
    wanted = envbuild.interpreters([])[-1]  # the newest this host has
    step_plan = plan(
        parse_definition({"python": wanted.short, "pip_packages": ["studio-envtest==1.0"]})
    )
    environment = envbuild.ensure(step_plan, _callbacks(tmp_path))
    try:
        assert environment.built_here
        done = subprocess.run(
            [
                environment.python,
                "-c",
                f"import sys, studio_envtest; {SDK_USE}; print(studio_envtest.VERSION, sys.version_info[:2])",
            ],
            capture_output=True,
            text=True,
        )
        assert done.stdout.strip() == f"1.0 ({wanted.version[0]}, {wanted.version[1]})", done.stderr
        again = envbuild.ensure(step_plan, _callbacks(tmp_path))
        assert not again.built_here and not again.waited
        again.release()
    finally:
        environment.release()
        envbuild._remove(tmp_path / "envs")


def test_a_conda_package_that_pypi_lacks_fails_with_what_that_means(tmp_path):
    (tmp_path / "wheels").mkdir()
    step_plan = plan(parse_definition({"conda_packages": ["cudatoolkit=11.8"]}))
    with pytest.raises(BuildFailed) as failed:
        envbuild.ensure(step_plan, _callbacks(tmp_path))
    message = str(failed.value)
    assert "cudatoolkit" in message and "conda packages are installed from PyPI" in message
    assert "Traceback" not in message
    envbuild._remove(tmp_path / "envs")


def test_strict_python_fails_naming_the_versions_the_host_has(tmp_path):
    step_plan = plan(parse_definition({"python": "3.7", "pip_packages": ["studio-envtest"]}))
    with pytest.raises(BuildFailed, match=r"Python 3.7 is not on this worker \(it has 3\.1"):
        envbuild.ensure(step_plan, _callbacks(tmp_path, strict=True))


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_build_runs_sandboxed_and_cannot_read_the_hosts_files(tmp_path):
    """What the installer runs (a package's build script is submitted code) sees only the new
    environment, its inputs and uv's cache: here a stand-in for uv reports what it can read."""
    secret = tmp_path / "secret_key"
    secret.write_text("s3cr3t")
    probe = tmp_path / "tools" / "uv"
    probe.parent.mkdir()
    probe.write_text(
        "#!/usr/bin/python3\n"
        "import sys\n"
        f"try:\n    print('READ', open({str(secret)!r}).read())\n"
        "except OSError as exc:\n    print('BLOCKED', type(exc).__name__)\n"
        "sys.exit(1)\n"
    )
    probe.chmod(0o755)
    step_plan = plan(parse_definition({"pip_packages": ["studio-envtest"]}))
    with pytest.raises(BuildFailed) as failed:
        envbuild.ensure(step_plan, _callbacks(tmp_path, uv=str(probe)))
    log = (tmp_path / "build.log").read_text()
    assert "BLOCKED FileNotFoundError" in log and "s3cr3t" not in log, log
    assert "could not be built" in str(failed.value)
