"""The server's credentials are out of a step's reach: none is in its environment or in any
``/proc/*/environ`` it can read, and a PostgreSQL and a Redis that ask for passwords (as the
README requires) refuse a step that has only their addresses, while the worker uses them."""

from __future__ import annotations

import base64
import glob
import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from studio.sdk.core import Environment, Experiment
from studio.sdk.core.runconfig import RunConfiguration
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import ROOT, Studio, free_port, isolated_services

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]

POSTGRES_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _secret() -> str:
    return secrets.token_urlsafe(24)


def _server_secrets() -> dict[str, str]:
    """What a worker's environment may hold that no step may see."""
    return {
        "SECRET_KEY": _secret() + _secret(),
        "STUDIO_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "STUDIO_ADMIN_PASSWORD": _secret(),
        "AWS_ACCESS_KEY_ID": _secret(),
        "AWS_SECRET_ACCESS_KEY": _secret(),
        "AZURE_STORAGE_CONNECTION_STRING": f"AccountName=x;AccountKey={_secret()}",
        "DEPLOY_API_TOKEN": _secret(),  # any other secret of the host
    }


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextmanager
def _protected_postgres(folder: Path) -> Iterator[dict]:
    """A PostgreSQL cluster of its own on a free loopback port, where every connection needs
    a password (scram-sha-256); a ``studio`` role and database."""
    if not POSTGRES_BIN or shutil.which("redis-server") is None:
        pytest.skip("PostgreSQL's binaries or redis-server are not installed")
    bin_dir = POSTGRES_BIN[-1]
    server = {"port": free_port(), "superuser": _secret(), "studio": _secret()}
    folder.mkdir()
    password_file = folder / "superuser"
    password_file.write_text(server["superuser"])
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        for path in (folder, password_file):
            os.chown(path, postgres.pw_uid, postgres.pw_gid)
    data = folder / "data"
    subprocess.run(
        [
            *_as_postgres(),
            f"{bin_dir}/initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {server['port']} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*_as_postgres(), f"{bin_dir}/pg_ctl", "-D", str(data), "-l", str(folder / "log")]
    subprocess.run([*pg_ctl, "-w", "-o", options, "start"], check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=server["port"],
            user="postgres",
            password=server["superuser"],
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f"CREATE ROLE studio LOGIN PASSWORD '{server['studio']}'")
            conn.execute("CREATE DATABASE studio OWNER studio")
        yield server
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=False, capture_output=True)


@contextmanager
def _protected_redis(folder: Path) -> Iterator[dict]:
    """A redis-server of its own on a free loopback port that requires a password."""
    import redis

    server = {"port": free_port(), "password": _secret()}
    folder.mkdir()
    argv = ["redis-server", "--port", str(server["port"]), "--bind", "127.0.0.1"]
    argv += ["--requirepass", server["password"], "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(folder), "--logfile", str(folder / "log")]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=server["port"], password=server["password"])
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module", params=["suite services", "password-protected services"])
def worker(request):
    """A Studio whose worker's environment holds the server's secrets: on the suite's database
    and broker, or on a PostgreSQL and a Redis that ask for passwords, with those passwords in
    DATABASE_URL and CELERY_BROKER_URL (and, as an administrator's shell may have them, in
    PGPASSWORD and REDISCLI_AUTH)."""
    folder = Path(tempfile.mkdtemp(prefix="studio-credentials-"))
    folder.chmod(0o755)  # PostgreSQL's own folder inside is the postgres user's
    held = _server_secrets()
    try:
        if request.param == "suite services":
            studio = Studio(folder / "studio", **isolated_services("credentials"), **held)
            with _started(studio):
                yield studio, held, {}
            return
        with (
            _protected_postgres(folder / "postgres") as pg,
            _protected_redis(folder / "redis") as rd,
        ):
            held |= {
                "DATABASE_URL": (f"postgres://studio:{pg['studio']}@127.0.0.1:{pg['port']}/studio"),
                "CELERY_BROKER_URL": f"redis://:{rd['password']}@127.0.0.1:{rd['port']}/0",
                "PGPASSWORD": pg["superuser"],
                "REDISCLI_AUTH": rd["password"],
            }
            addresses = {"postgres": ["127.0.0.1", pg["port"]], "redis": ["127.0.0.1", rd["port"]]}
            studio = Studio(folder / "studio", **held)
            passwords = {
                "postgres (studio)": pg["studio"],
                "postgres (superuser)": pg["superuser"],
                "redis": rd["password"],
            }
            with _started(studio):
                yield studio, {**held, **passwords}, addresses
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _started(studio: Studio) -> Iterator[Studio]:
    try:
        studio.start()
        yield studio
    finally:
        studio.stop()


def _probe(studio: Studio, addresses: dict) -> dict:
    """Run the probe as a step (its environment defines a key of its own) and read its report."""
    environment = Environment("probe-env")
    environment.environment_variables = {"AWS_ACCESS_KEY_ID": "the-steps-own-key"}
    config = RunConfiguration()
    config.environment = environment
    step = PythonScriptStep(
        name="probe",
        script_name="probe.py",
        source_directory=str(ROOT / "tests" / "sources" / "credentials"),
        arguments=[json.dumps(addresses)],
        runconfig=config,
        allow_reuse=False,
    )
    ws = studio.workspace()
    run = Experiment(ws, "credentials").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, timeout_seconds=180, raise_on_error=False)
    step_run = next(iter(run.get_steps()))
    log = studio.api(
        "GET", f"/steps/{step_run.id}/files/download/", params={"name": "user_logs/std_log.txt"}
    ).text
    assert run.get_status() == "Finished", (log, studio.tail("worker"))
    return json.loads(log.split("PROBE ", 1)[1].splitlines()[0])


def test_no_environment_a_step_can_read_holds_a_credential_of_the_server(worker):
    studio, held, addresses = worker
    found = _probe(studio, addresses)
    environments = found["environments"]
    # The probe did read environments: its own, through /proc too.
    assert environments["os.environ"]["STUDIO_RUN_TOKEN"]
    assert environments["/proc/self/environ"]["STUDIO_RUN_TOKEN"]
    everything = json.dumps(environments)
    leaked = sorted(name for name, value in held.items() if value in everything)
    assert leaked == []
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "STUDIO_ENCRYPTION_KEY"):
        assert f'"{name}"' not in everything, name
    # A variable the step's own environment defines reaches it, the worker's does not.
    assert environments["os.environ"]["AWS_ACCESS_KEY_ID"] == "the-steps-own-key"
    assert "AWS_SECRET_ACCESS_KEY" not in environments["os.environ"]


@pytest.mark.parametrize("worker", ["password-protected services"], indirect=True)
def test_a_step_cannot_connect_to_a_password_protected_database_or_broker(worker):
    studio, _, addresses = worker
    attempts = _probe(studio, addresses)["attempts"]  # the run completed: the worker connects
    refused = ("password authentication failed", "no password supplied")
    for name in ("postgres as studio", "postgres as postgres"):
        assert all(any(r in a for r in refused) for a in attempts[name]), attempts
        assert any("password authentication failed" in a for a in attempts[name]), attempts
    assert all(a.startswith("AuthenticationError") for a in attempts["redis"]), attempts
