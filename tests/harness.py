"""Start a real Studio (web, Celery worker, scheduler) on loopback for a test, and end it."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PASSWORD = "studio-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_services(suffix: str) -> dict[str, str]:
    """A database and broker of its own when the suite runs on PostgreSQL/Redis.

    Two Studios sharing one database and broker would run each other's steps.
    """
    env = {}
    database = os.environ.get("DATABASE_URL", "")
    if database.startswith("postgres"):
        import psycopg

        base, _, name = database.rpartition("/")
        isolated = f"{name}_{suffix}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{isolated}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{isolated}"')
        env["DATABASE_URL"] = f"{base}/{isolated}"
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if broker.startswith("redis"):
        import redis

        base = broker.rsplit("/", 1)[0]
        isolated_broker = f"{base}/{1 + sum(map(ord, suffix)) % 14}"
        redis.Redis.from_url(isolated_broker).flushdb()
        env["CELERY_BROKER_URL"] = isolated_broker
    return env


WHEELHOUSE = ROOT / ".venv" / "wheelhouse"


def environment_settings(data_dir: Path) -> dict[str, str]:
    """Step environments built from local wheels only (no index is asked), on this Python:
    ``make test`` downloads the wheels of requirements-wheelhouse.txt, and the test package
    ``studio-envtest`` is built here at versions 1.0, 2.0 and 3.0."""
    from tests.wheels import version_package

    wheels = data_dir / "wheels"
    for version in ("1.0", "2.0", "3.0"):
        version_package(wheels, version)
    return {
        "UV_OFFLINE": "1",
        "UV_FIND_LINKS": f"{WHEELHOUSE},{wheels}",
        "STUDIO_ENV_PYTHONS": sys.executable,
        "STUDIO_ENV_DIR": str(data_dir / "envs"),
    }


# The first Studio on SQLite of a test process runs the migrations and keeps a copy of its
# fresh database here; the later ones start from that copy. Migrating takes 10 s or more on
# this machine, and the migrations write nothing that depends on the data dir.
_MIGRATED = Path(tempfile.gettempdir()) / f"studio-migrated-{os.getpid()}" / "studio.sqlite3"
atexit.register(shutil.rmtree, _MIGRATED.parent, ignore_errors=True)


def _copy_database(source: Path, target: Path) -> bool:
    """Copy an SQLite database no process has open (with its write-ahead log, if one was
    left), the main file last; False when there is none to copy."""
    if not source.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", ""):
        part = Path(f"{source}{suffix}")
        if part.exists():
            shutil.copyfile(part, f"{target}{suffix}.part")
            os.chmod(f"{target}{suffix}.part", 0o600)
            os.replace(f"{target}{suffix}.part", f"{target}{suffix}")
    return True


class _Background:
    """A call run in a thread; ``result()`` waits for it and raises what it raised."""

    def __init__(self, call, *args):
        self._outcome: list = []
        self._thread = threading.Thread(target=self._run, args=(call, *args), daemon=True)
        self._thread.start()

    def _run(self, call, *args) -> None:
        try:
            self._outcome.append((call(*args), None))
        except BaseException as exc:
            self._outcome.append((None, exc))

    def result(self):
        self._thread.join()
        value, error = self._outcome[0]
        if error is not None:
            raise error
        return value


class Studio:
    """One server, one worker and one scheduler sharing a data dir, database and broker."""

    def __init__(self, data_dir: Path, **env):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "STUDIO_DATA_DIR": str(self.data_dir),
            "STUDIO_PUBLIC_URL": self.url,
            "STUDIO_HEARTBEAT_SECONDS": "1",
            "STUDIO_WORKER_LOST_SECONDS": "6",
            "STUDIO_REAPER_SECONDS": "1",
            "STUDIO_CANCEL_GRACE_SECONDS": "2",
            "STUDIO_LOCAL_DATASTORE_ROOTS": str(self.data_dir / "roots"),
            # The S3 and Azure emulators and the tests' web servers listen on loopback.
            "STUDIO_DATASTORE_ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            # Sandboxed where bubblewrap is installed (.ci/run installs it); trusted elsewhere.
            "STUDIO_TRUST_SUBMITTERS": "1",
            **{k: str(v) for k, v in env.items()},
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.procs: dict[str, subprocess.Popen] = {}
        self.token = ""

    def manage(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.data_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def start(self) -> Studio:
        self.start_web()
        self.start_worker()
        self._spawn("scheduler", [PYTHON, "manage.py", "scheduler"])
        self.wait_http()
        self.wait_worker()
        return self

    def start_web(self) -> Studio:
        """The database, an admin and a token, and the web server alone (not waited for)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        database = self.data_dir / "studio.sqlite3"
        shares_migrations = (
            self.copies_migrated_database
            and not self.env.get("DATABASE_URL")
            and not database.exists()
        )
        migrated = shares_migrations and _copy_database(_MIGRATED, database)
        # collectstatic needs no database: it runs while the database is made.
        static = _Background(self.manage, "collectstatic", "--noinput", "-v", "0")
        try:
            if not migrated:
                self.manage("migrate", "--noinput", "-v", "0")
                if shares_migrations:
                    _copy_database(database, _MIGRATED)
            # The admin and its token in one process: each manage.py start loads all of Django.
            out = self.manage(
                "shell",
                "-c",
                "from django.contrib.auth.models import User\n"
                "from django.core.management import call_command\n"
                "u, _ = User.objects.get_or_create(username='admin', defaults={'is_superuser': True, 'is_staff': True})\n"
                f"u.set_password('{PASSWORD}'); u.save()\n"
                "call_command('createtoken', 'tests')",
            )
            self.token = out.strip().splitlines()[-1]
        finally:
            static.result()
        self._spawn(
            "web",
            [
                PYTHON,
                "-m",
                "gunicorn",
                "studio.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-k",
                "gthread",
                "--workers",
                "2",
                "--threads",
                "8",
                "--log-level",
                "warning",
            ],
        )
        return self

    # A Studio on SQLite whose database file this process can reach starts from a copy of the
    # first one's freshly migrated database (see _MIGRATED).
    copies_migrated_database = True

    def start_worker(self, name: str = "worker", concurrency: int = 4) -> subprocess.Popen:
        return self._spawn(
            name,
            [
                PYTHON,
                "manage.py",
                "worker",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}-{self.port}@%h",
            ],
        )

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.url}/api/{path.lstrip('/')}", headers=headers, timeout=30, **kwargs
        )

    def wait_http(self, timeout: float = 60) -> None:
        # Patient: on a busy machine the first page can take several seconds to render.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/login/", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"web server did not answer: {self.tail('web')}")

    def wait_worker(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            targets = self.api("GET", "computetargets/").json()
            if targets and all(t["workers"] for t in targets):
                return
            time.sleep(0.2)
        raise RuntimeError(f"no worker came up: {self.tail('worker')}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.data_dir / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def workspace(self):
        from studio.sdk.core import Workspace

        return Workspace(url=self.url, token=self.token)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGKILL)


class MakeRun:
    """``manage.py runstudio`` (what ``make run`` starts: web, worker and scheduler under one
    supervisor) on a data dir, database, broker and port of its own; its output is collected
    line by line as it comes."""

    def __init__(self, tmp_path: Path, suffix: str, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **isolated_services(suffix),
            "STUDIO_DATA_DIR": str(Path(tmp_path) / "data"),
            "PORT": str(self.port),
            "STUDIO_ADMIN_PASSWORD": "pw-for-test",
            "PYTHONUNBUFFERED": "1",
            **{k: str(v) for k, v in env.items()},
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []
        self.manage("migrate", "--noinput", "-v", "0")

    def manage(self, *args: str) -> str:
        """A management command against this Studio's data dir; its standard output."""
        return subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout

    def start(self) -> MakeRun:
        self.proc = subprocess.Popen(
            [PYTHON, "manage.py", "runstudio"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines = []
        self.reader = threading.Thread(
            target=lambda lines=self.lines, out=self.proc.stdout: lines.extend(out), daemon=True
        )
        self.reader.start()
        return self

    @property
    def said(self) -> str:
        return "".join(self.lines)

    def answers(self, path: str = "/login/") -> bool:
        try:
            return requests.get(self.url + path, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def roles(self) -> list[int]:
        """The processes runstudio started (each role leads a session of its own)."""
        return [int(p) for p in _pgrep("-P", self.proc.pid)]

    def interrupt(self, group: bool = False, timeout: float = 30) -> float:
        """Ctrl-C (to runstudio, or to its whole process group as a terminal sends it); waits
        for runstudio to end and returns how long that took."""
        started = time.monotonic()
        if group:
            os.killpg(self.proc.pid, signal.SIGINT)
        else:
            self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return time.monotonic() - started

    def kill(self) -> None:
        """Every process this Studio started, whatever state it is left in."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for role in self.roles():
            for pid in _pgrep("-s", role):
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _pgrep(flag: str, pid) -> list[str]:
    return subprocess.run(["pgrep", flag, str(pid)], capture_output=True, text=True).stdout.split()


def wait_until(predicate, timeout: float = 30, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")
