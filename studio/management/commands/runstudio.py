from __future__ import annotations

import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from runs import sandbox
from runs.services import ensure_compute_target
from studio.supervisor import Supervisor
from studio.workspace.models import WorkerHeartbeat
from studio.workspace.storage import default_datastore


class Command(BaseCommand):
    help = (
        "Start the web server, a Celery worker and the scheduler together; Ctrl-C stops them all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, port: int, host: str, **options: Any) -> None:
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        # Hashed, compressed copies of the static files, which the web server caches for good.
        call_command("collectstatic", interactive=False, verbosity=0)
        password = self._ensure_admin()
        datastore = default_datastore()
        compute = ensure_compute_target(settings.STUDIO_DEFAULT_COMPUTE)

        env = {**os.environ, "STUDIO_PUBLIC_URL": os.environ.get("STUDIO_PUBLIC_URL", url)}
        unsandboxed = sandbox.unsandboxed(settings.STUDIO_SANDBOX)
        if unsandboxed:
            env["STUDIO_TRUST_SUBMITTERS"] = "1"  # one user's own Studio: their own code
        # Ctrl-C stops everything within 10 s: running steps get 2 s, then go back to the queue
        # (they run again at the next start).
        env.setdefault("STUDIO_SHUTDOWN_GRACE_SECONDS", "2")
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "studio.wsgi",
                "-b",
                f"{host}:{port}",
                "-k",
                "gthread",
                "--workers",
                os.environ.get("WEB_CONCURRENCY", "2"),
                "--threads",
                "8",
                "--timeout",
                "120",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
            "worker": [python, manage, "worker", "--quiet"],
            "scheduler": [python, manage, "scheduler"],
        }
        supervisor = Supervisor(
            commands,
            start=lambda argv: subprocess.Popen(
                argv,
                env=env,
                cwd=settings.BASE_DIR,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            ),
            say=lambda line: self.stderr.write(f"studio: {line}"),
        )
        supervisor.start_all()
        stopping: list[bool] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.append(True))
        # The banner comes last, once the web server answers and the worker is ready, so that
        # the roles' own start-up lines do not scroll it away.
        ready = _wait_ready(f"http://127.0.0.1:{port}/login/", supervisor, stopping)

        self.stdout.write(f"\nStudio is running at {url}/" + ("" if ready else " (still starting)"))
        if password:
            self.stdout.write(
                f"Log in as admin with the password: {password}\n(shown only now; set STUDIO_ADMIN_PASSWORD to choose it)"
            )
        else:
            self.stdout.write(
                "Log in as admin (password from STUDIO_ADMIN_PASSWORD, or the one printed on first start)."
            )
        self.stdout.write(
            f"Outputs, logs and snapshots go to {datastore.location}; steps run on the "
            f"compute target {compute.name!r}."
        )
        # A second terminal reaches the same database only with the same settings.
        same = " ".join(
            f"{name}={os.environ[name]}" if name == "STUDIO_DATA_DIR" else f'{name}="${name}"'
            for name in ("STUDIO_DATA_DIR", "DATABASE_URL")
            if os.environ.get(name)
        )
        self.stdout.write(
            "API token for the SDK, in another terminal: "
            + (same + " " if same else "")
            + f"{python} manage.py createtoken mytoken"
        )
        if unsandboxed:
            self.stdout.write(
                self.style.WARNING(
                    f"{sandbox.why_unsandboxed(settings.STUDIO_SANDBOX)} Fine for your own "
                    "code on your own machine; install bubblewrap before others submit."
                )
            )
        self.stdout.write("Press Ctrl-C to stop web, worker and scheduler.\n")
        self.stdout.flush()  # shown now also when the output goes to a file or a pipe

        while not stopping:
            supervisor.tick()
            time.sleep(0.3)
        supervisor.stop_all()
        self.stdout.write("Studio stopped.")

    def _ensure_admin(self) -> str | None:
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            return None
        chosen = os.environ.get("STUDIO_ADMIN_PASSWORD")
        password = chosen or secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password)
        return None if chosen else password


def _wait_ready(
    login_url: str, supervisor: Supervisor, stopping: list[bool], timeout: float = 60.0
) -> bool:
    """Wait until the web server answers and a worker beats (keeping the roles supervised);
    False if that took longer than ``timeout`` or a stop was asked."""
    deadline = time.monotonic() + timeout
    web = worker = False
    while not stopping and time.monotonic() < deadline:
        supervisor.tick()
        if not web:
            try:
                with urllib.request.urlopen(login_url, timeout=2) as answer:
                    web = answer.status == 200
            except OSError:
                pass
        if not worker:
            worker = bool(WorkerHeartbeat.live())
        if web and worker:
            return True
        time.sleep(0.3)
    return False


def _die_with_parent() -> None:
    """Children get SIGTERM if this launcher is killed, so nothing outlives it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
