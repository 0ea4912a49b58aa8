"""Full disks: a full datastore fails the step that filled it, saying so, and keeps nothing
of it; a database that cannot write answers 503 and records a step that succeeded once it
can write again.

The small file systems are real: a tmpfs mounted in a private mount namespace the test
creates (nothing stays mounted on the host), which Studio's processes join with nsenter.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest
import requests

from runs.logs import CappedLogWriter
from studio.core.snapshot import build
from studio.sdk.core import Experiment
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.harness import PASSWORD, PYTHON, ROOT, Studio, isolated_services, wait_until

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("nsenter") is None,
    reason="mounting a small file system in a private mount namespace needs root, unshare and nsenter",
)

MB = 1024 * 1024


class SmallDisk:
    """A tmpfs of ``size`` at ``where``, seen only inside a mount namespace of its own (held
    by a sleeping process); the test reaches it through that process's /proc root."""

    def __init__(self, where: Path, size: str, elsewhere: tuple[str, ...] = ()):
        """``elsewhere``: folders of ``where`` kept off the small disk (bound to folders of
        the host's disk)."""
        where.mkdir(parents=True, exist_ok=True)
        self.where = where
        binds = ""
        for name in elsewhere:
            outside = where.parent / f"{where.name}-host" / name
            outside.mkdir(parents=True, exist_ok=True)
            binds += f' && mkdir "$1/{name}" && mount --bind "{outside}" "$1/{name}"'
        self.holder = subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                f'mount -t tmpfs -o size="$2" tmpfs "$1"{binds} && echo mounted && exec sleep 100000',
                "sh",
                str(where),
                size,
            ],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.holder.stdout is not None
        assert self.holder.stdout.readline().strip() == "mounted"

    def enter(self) -> list[str]:
        return ["nsenter", "--mount", f"--target={self.holder.pid}", f"--wdns={ROOT}", "--"]

    def path(self, inside: Path) -> Path:
        """Where the test reads and writes ``inside`` (an absolute path in the namespace)."""
        return Path(f"/proc/{self.holder.pid}/root") / inside.relative_to("/")

    def free(self) -> int:
        stats = os.statvfs(self.path(self.where))
        return stats.f_bavail * stats.f_frsize

    def fill(self) -> Path:
        """Write a file until the disk is full; its path (in the test's view)."""
        filler = self.path(self.where) / f"filler-{uuid.uuid4().hex[:6]}"
        with open(filler, "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
        assert self.free() < 64 * 1024
        return filler

    def empty(self) -> None:
        """Remove every file :meth:`fill` wrote."""
        for filler in self.path(self.where).glob("filler-*"):
            filler.unlink()

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait()


class StudioIn(Studio):
    """A Studio whose every process (migrate included) runs in the small disk's namespace."""

    copies_migrated_database = False  # its database is on the small disk, seen only inside

    def __init__(self, data_dir: Path, disk: SmallDisk | None, **env):
        super().__init__(data_dir, **env)
        self.prefix = disk.enter() if disk is not None else []

    def manage(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [*self.prefix, PYTHON, "manage.py", *args],
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
        return super()._spawn(name, [*self.prefix, *argv])


_INVARIANTS = """
import json
from runs.models import Run, StepRun
from runs.reuse import outputs_intact
from studio.core.status import TERMINAL
from studio.workspace import storage
attempts = storage.default_datastore().root_path / ".attempts"
print(json.dumps({
    "unfinished_runs": Run.objects.exclude(status__in=list(TERMINAL)).count(),
    "unfinished_steps": StepRun.objects.exclude(status__in=list(TERMINAL)).count(),
    "failed_with_outputs": StepRun.objects.exclude(status="Completed").exclude(outputs={}).count(),
    "reusable_not_intact": [
        s.id for s in StepRun.objects.filter(status="Completed", reused_from=None)
        if not outputs_intact(s)
    ],
    "attempt_folders": sorted(p.name for p in attempts.iterdir()) if attempts.is_dir() else [],
}))
"""


def _stray_processes(data_dir: Path) -> list[str]:
    """Processes working in, or naming, a step's folder of this Studio (none may outlive
    their step)."""
    marks = (str(data_dir / "work"), ".attempts")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(mark in cwd or mark in cmdline for mark in marks):
            found.append(f"{entry.name}: {cmdline}")
    return found


def _assert_invariants(studio: StudioIn) -> None:
    """Nothing left Queued or Running; nothing published from a failed attempt (no attempt
    folder left either); no stray process; every step reuse could take is intact."""
    state = json.loads(studio.manage("shell", "-c", _INVARIANTS).strip().splitlines()[-1])
    assert state == {
        "unfinished_runs": 0,
        "unfinished_steps": 0,
        "failed_with_outputs": 0,
        "reusable_not_intact": [],
        "attempt_folders": [],
    }
    assert _stray_processes(studio.data_dir) == []


def _writer(source: Path, megabytes: int) -> tuple[PythonScriptStep, OutputFileDatasetConfig]:
    """A step that writes ``megabytes`` MB to its output (a new snapshot each time)."""
    source.mkdir(parents=True, exist_ok=True)
    (source / "write.py").write_text(
        textwrap.dedent(
            f"""
            # {uuid.uuid4()}
            import os, sys
            with open(os.path.join(sys.argv[1], "data.bin"), "wb") as fh:
                for _ in range({megabytes}):
                    fh.write(b"\\1" * {MB})
            print("wrote {megabytes} MB")
            """
        )
    )
    output = OutputFileDatasetConfig("data")
    step = PythonScriptStep(
        name="write", script_name="write.py", source_directory=str(source), arguments=[output]
    )
    return step, output


def _step(studio: Studio, run_id: str) -> dict:
    return studio.api("GET", f"runs/{run_id}/").json()["steps"][0]


# --- the log of a step on a full disk --------------------------------------------------------


def test_the_log_writer_drops_what_a_full_disk_refuses_and_says_where():
    writer = CappedLogWriter(Path("/dev/full"), cap=1 << 20)
    writer.write(b"a line the disk cannot take\n")
    writer.write(b"and another\n")
    writer.close()
    assert writer.no_space is not None and writer.no_space.errno == 28
    assert writer.no_space.filename == "/dev/full"


# --- a full datastore --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_datastore(tmp_path_factory):
    """A Studio whose datastores live on an 8 MB disk (its database elsewhere)."""
    data_dir = tmp_path_factory.mktemp("disk-full-store")
    disk = SmallDisk(data_dir / "datastores", "8m")
    studio = StudioIn(data_dir, disk, **isolated_services("diskstore"))
    try:
        studio.start()
        yield studio, disk
    finally:
        studio.stop()
        disk.close()


@pytest.mark.integration
def test_a_step_that_fills_its_datastore_fails_saying_so_and_leaves_nothing(
    small_datastore, tmp_path
):
    studio, disk = small_datastore
    ws = studio.workspace()
    step, _ = _writer(tmp_path / "big", megabytes=64)
    before = disk.free()
    run = Experiment(ws, "disk-full").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    assert run.get_status() == "Failed"
    failed = _step(studio, run.id)
    assert failed["status"] == "Failed", failed
    assert "No space left on device" in failed["error"], failed["error"]
    assert str(studio.data_dir / "datastores") in failed["error"], failed["error"]
    # Its partial output is gone, and so the space it held: nothing was published.
    assert disk.free() > before - 256 * 1024  # its snapshot and log, no more
    root = disk.path(studio.data_dir / "datastores" / "workspaceblobstore")
    assert not (root / "dataset" / failed["id"]).exists()

    # Writing works again, with nobody deleting anything: a new snapshot, a new output.
    step, _ = _writer(tmp_path / "small", megabytes=1)
    after = Experiment(ws, "disk-full").submit(Pipeline(ws, [step]))
    after.wait_for_completion(show_output=False)
    assert after.get_status() == "Finished"
    written = _step(studio, after.id)
    assert (root / "dataset" / written["id"] / "data" / "data.bin").stat().st_size == MB
    _assert_invariants(studio)


@pytest.mark.integration
def test_a_step_whose_files_cannot_be_kept_on_a_full_datastore_publishes_nothing(
    small_datastore, tmp_path
):
    """./outputs (azureml's run files) is copied to the datastore before the outputs are
    published: cut short by a full disk, the copy is removed and the step fails."""
    studio, disk = small_datastore
    ws = studio.workspace()
    step, _ = _writer(tmp_path / "files", megabytes=1)
    script = tmp_path / "files" / "write.py"
    script.write_text(
        script.read_text()
        + textwrap.dedent(
            f"""
            os.makedirs("outputs", exist_ok=True)
            with open("outputs/model.bin", "wb") as fh:
                fh.write(b"\\2" * {64 * MB})
            """
        )
    )
    before = disk.free()
    run = Experiment(ws, "disk-full").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    failed = _step(studio, run.id)
    assert failed["status"] == "Failed", failed
    assert "No space left on device" in failed["error"], failed["error"]
    assert "nothing was published" in failed["error"], failed["error"]
    root = disk.path(studio.data_dir / "datastores" / "workspaceblobstore")
    assert not (root / "dataset" / failed["id"]).exists()
    assert not (root / "ExperimentRun" / f"dcid.{failed['id']}" / "outputs").exists()
    assert disk.free() > before - 256 * 1024  # its snapshot and log, no more
    _assert_invariants(studio)


@pytest.mark.integration
def test_uploads_to_a_full_datastore_answer_507_and_work_once_space_is_freed(
    small_datastore, tmp_path
):
    studio, disk = small_datastore
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "data.bin").write_bytes(os.urandom(256 * 1024))
    digest, data, _ = build(tmp_path / "src")
    filler = disk.fill()
    upload = f"snapshots/{digest}/upload/"
    headers = {"Content-Type": "application/zip"}
    refused = studio.api("PUT", upload, data=data, headers=headers)
    assert refused.status_code == 507, refused.text
    error = refused.json()["error"]
    assert error["code"] == "no_space" and "No space left on device" in error["message"]
    assert refused.headers["Retry-After"]
    root = disk.path(studio.data_dir / "datastores" / "workspaceblobstore")
    assert [p.name for p in (root / "snapshots").iterdir() if digest in p.name] == []
    put_file = "datastores/workspaceblobstore/upload/"
    refused = studio.api("PUT", put_file, params={"path": "in/data.bin"}, data=data)
    assert refused.status_code == 507, refused.text
    assert "No space left on device" in refused.json()["error"]["message"]
    assert list((root / "in").iterdir()) == []  # no half copy either

    filler.unlink()
    taken = studio.api("PUT", upload, data=data, headers=headers)
    assert taken.status_code == 201, taken.text
    assert (root / "snapshots" / f"{digest}.zip").stat().st_size == len(data)
    taken = studio.api("PUT", put_file, params={"path": "in/data.bin"}, data=data)
    assert taken.status_code == 201, taken.text
    assert (root / "in" / "data.bin").stat().st_size == len(data)
    _assert_invariants(studio)


# --- a database that cannot write --------------------------------------------------------------


class _SqliteVolumeFull:
    """The SQLite database's own volume (the data dir, on a small disk) fills up."""

    def __init__(self, studio: StudioIn, disk: SmallDisk):
        self.database = studio.data_dir / "studio.sqlite3"
        self.disk = disk

    def refuse_writes(self) -> None:
        # SQLite reuses the space of its write-ahead log once it is checkpointed: the log is
        # emptied, and the disk filled, until the log stays empty (the next write has to grow
        # it). SQLite resolves /proc/<pid>/root, so the checkpoint is made in the namespace.
        wal = self.disk.path(self.database.with_name("studio.sqlite3-wal"))
        checkpoint = (
            "import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], timeout=20)\n"
            "print(db.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone()[0])\n"
        )
        for _ in range(50):
            busy = subprocess.run(
                [*self.disk.enter(), PYTHON, "-c", checkpoint, str(self.database)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            self.disk.fill()
            if busy == "0" and wal.stat().st_size == 0:
                return
            self.disk.empty()
        raise AssertionError("the write-ahead log never stayed empty")

    def allow_writes(self) -> None:
        self.disk.empty()


class _PostgresReadOnly:
    """PostgreSQL refuses writes: the database is made read-only, its sessions ended."""

    def __init__(self, studio: StudioIn):
        import psycopg

        self.psycopg = psycopg
        base, _, self.name = studio.env["DATABASE_URL"].rpartition("/")
        self.admin = f"{base}/postgres"

    def _set(self, value: str) -> None:
        with self.psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(
                f'ALTER DATABASE "{self.name}" SET default_transaction_read_only = {value}'
            )
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [self.name],
            )

    def refuse_writes(self) -> None:
        self._set("on")

    def allow_writes(self) -> None:
        self._set("off")


@pytest.fixture
def database_studio(tmp_path):
    """A Studio whose database cannot write on demand: SQLite on a 16 MB disk of its own
    (the data dir, but for its steps' folders, datastores and collected static files), or
    PostgreSQL made read-only."""
    data_dir = tmp_path / "data"
    services = isolated_services("diskdb")
    on_postgres = services.get("DATABASE_URL", "").startswith("postgres")
    disk = (
        None
        if on_postgres
        else SmallDisk(
            data_dir,
            "16m",
            elsewhere=("work", "cache", "datastores", "envs", "broker", "static"),
        )
    )
    studio = StudioIn(data_dir, disk, **services)
    try:
        studio.start()
        outage = _PostgresReadOnly(studio) if disk is None else _SqliteVolumeFull(studio, disk)
        yield studio, outage
    finally:
        studio.stop()
        if disk is not None:
            disk.close()


@pytest.mark.integration
def test_while_the_database_cannot_write_requests_answer_503_and_a_finished_step_is_kept(
    database_studio, tmp_path
):
    studio, outage = database_studio
    ws = studio.workspace()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "wait.py").write_text("import time\ntime.sleep(6)\nprint('done')\n")
    step = PythonScriptStep(
        name="wait", script_name="wait.py", source_directory=str(tmp_path / "src")
    )
    run = Experiment(ws, "database-full").submit(Pipeline(ws, [step]))
    wait_until(lambda: _step(studio, run.id)["status"] == "Running", timeout=60, message="the step")
    outage.refuse_writes()
    try:
        refused = studio.api("POST", "computetargets/", json={"name": "gpu"})
        assert refused.status_code == 503, refused.text
        assert refused.headers["Content-Type"] == "application/json"
        assert int(refused.headers["Retry-After"]) > 0
        error = refused.json()["error"]
        assert error["code"] == "unavailable"
        assert "database cannot take writes" in error["message"]

        page = requests.Session()
        form = page.get(f"{studio.url}/login/", timeout=30)
        signin = page.post(
            f"{studio.url}/login/",
            data={
                "username": "admin",
                "password": PASSWORD,
                "csrfmiddlewaretoken": page.cookies["csrftoken"],
            },
            headers={"Referer": form.url},
            timeout=30,
        )
        assert signin.status_code == 503, signin.text
        assert signin.headers["Retry-After"]
        assert "database cannot take writes" in signin.text
        assert "Traceback" not in signin.text

        # The step ends while nothing can be written, and stays unrecorded for longer than
        # the reaper waits for a silent worker (6 s here).
        time.sleep(6 + 10)
        assert _step(studio, run.id)["status"] == "Running"
    finally:
        outage.allow_writes()

    run.wait_for_completion(show_output=False, timeout_seconds=60)
    assert run.get_status() == "Finished"
    step_row = _step(studio, run.id)
    assert step_row["status"] == "Completed" and step_row["error"] == "", step_row
    assert studio.api("POST", "computetargets/", json={"name": "gpu"}).status_code == 201
    _assert_invariants(studio)
