"""First contact: how long the first ``make run`` on a fresh clone takes to answer, with no package
cache, next to a reference measured in the same run.

Each round clones the repository (its committed HEAD) into a temporary folder and runs
``make run`` there as a newcomer would, with empty uv and pip caches of its own, and times from
the start of ``make`` until ``/login/`` answers 200 (and until the banner is printed). Then it
stops Studio with a Ctrl-C (SIGINT to the process group) and reports whether anything printed
ERROR or a traceback. The reference is the package installation alone: ``uv venv`` and
``uv pip install -r requirements.txt`` into an empty venv with an empty cache, i.e. the part no
project code can make faster. The runtime venv's size and the bytes received by the network
interfaces during the reference (the whole machine's traffic: an upper bound) are printed too.

    .venv/bin/python bench/first_start.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, exit_on_sigterm

from tests.harness import free_port

UV = ROOT / ".venv" / "bin" / "uv"


def _clean_env(tmp: Path) -> dict[str, str]:
    """The caller's environment without its venv, with empty caches of this round's own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UV_", "VIRTUAL_ENV", "STUDIO_", "DJANGO_", "PYTHON"))
        and k not in ("DATABASE_URL", "CELERY_BROKER_URL", "PORT")
    }
    env["UV_CACHE_DIR"] = str(tmp / "uv-cache")
    env["PIP_CACHE_DIR"] = str(tmp / "pip-cache")
    env["PYTHONUNBUFFERED"] = "1"  # the banner's time, as a terminal would show it
    return env


def _rx_bytes() -> int:
    total = 0
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        name, data = line.split(":", 1)
        if name.strip() != "lo":
            total += int(data.split()[0])
    return total


def _du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def reference(tmp: Path) -> tuple[float, int]:
    """uv venv + uv pip install -r requirements.txt, empty cache: seconds and bytes received."""
    env = _clean_env(tmp)
    started, rx = time.perf_counter(), _rx_bytes()
    subprocess.run([str(UV), "venv", "-q", "-p", "python3", str(tmp / "ref")], env=env, check=True)
    python = str(tmp / "ref" / "bin" / "python")
    requirements = str(ROOT / "requirements.txt")
    subprocess.run(
        [str(UV), "pip", "install", "-q", "--python", python, "-r", requirements],
        env=env,
        check=True,
    )
    return time.perf_counter() - started, _rx_bytes() - rx


# Where make run is, by the first line of each phase in its output (seen within 0.1 s).
PHASES = {
    "uv": "touch .venv/.uv-",
    "packages": "touch .venv/.installed",
    "migrated": "manage.py runstudio",
    "roles": "scheduler started",
}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def first_start(tmp: Path, timeout: float) -> dict:
    """Clone, make run, time until /login/ answers and until the banner; then Ctrl-C."""
    clone = tmp / "studio"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    port = free_port()
    env = {**_clean_env(tmp), "PORT": str(port), "STUDIO_ADMIN_PASSWORD": "first-start-bench"}
    log = tmp / "make-run.log"
    started = time.perf_counter()
    with open(log, "wb") as out:
        make = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    answered = banner = None
    phases: dict[str, float] = {}
    try:
        while time.perf_counter() - started < timeout and make.poll() is None:
            now = time.perf_counter() - started
            said = log.read_text(errors="replace")
            for phase, marker in PHASES.items():
                if phase not in phases and marker in said:
                    phases[phase] = now
            if answered is None and _answers(f"http://127.0.0.1:{port}/login/"):
                answered = now
            if banner is None and "Press Ctrl-C" in said:
                banner = now
            if answered is not None and banner is not None:
                break
            time.sleep(0.1)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
            try:
                make.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait()
    output = log.read_text(errors="replace")
    if answered is None:
        print(output[-3000:], file=sys.stderr)
        raise RuntimeError(f"make run did not answer within {timeout:.0f} s")
    return {
        "answered": answered,
        "banner": banner,
        "venv_bytes": _du(clone / ".venv"),
        "clean_stop": "Studio stopped." in output,
        "phases": phases,
        "output": output,
        "errors": [line for line in output.splitlines() if "ERROR" in line or "Traceback" in line],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--show-output", action="store_true", help="print make run's output")
    args = parser.parse_args()
    exit_on_sigterm()
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    starts, refs, banners = [], [], []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="studio-first-start-") as name:
            tmp = Path(name)
            ref, rx = reference(tmp / "r")
            got = first_start(tmp / "s", args.timeout)
            refs.append(ref)
            starts.append(got["answered"])
            banners.append(got["banner"] or float("nan"))
            print(
                f"round {n + 1}: make run answered after {got['answered']:.1f} s, banner at "
                f"{banners[-1]:.1f} s; reference uv install {ref:.1f} s "
                f"({rx / 1e6:.0f} MB received); runtime .venv {got['venv_bytes'] / 1e6:.0f} MB; "
                f"Ctrl-C: {'clean' if got['clean_stop'] and not got['errors'] else got['errors']}"
            )
            print(
                "  phases (s since make started): "
                + ", ".join(f"{k} {v:.1f}" for k, v in got["phases"].items())
            )
            if args.show_output:
                print(got["output"])
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"first make run answers: median {statistics.median(starts):.1f} s "
        f"(min {min(starts):.1f}, max {max(starts):.1f}); banner median "
        f"{statistics.median(banners):.1f} s; reference uv install median "
        f"{statistics.median(refs):.1f} s; load average at end {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
