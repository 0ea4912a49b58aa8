"""Remote datastores end to end: S3 (moto server) and Azure Blob (Azurite), both real servers on
loopback (started once per session by tests/integration/conftest.py)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from studio.sdk.core import Dataset, Datastore, Experiment
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from tests.integration.emulators import AZURITE_KEY, RAW_1, RAW_2, Backend

pytestmark = pytest.mark.integration

SCRIPTS = Path(__file__).resolve().parent.parent / "sources" / "remote"


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def _raw_dataset(ws, datastore: Datastore, tmp_path: Path, tag: str):
    """Upload a folder of two CSVs and register it as a Tabular dataset over raw-<tag>/*.csv."""
    data = tmp_path / "raw"
    data.mkdir()
    (data / "part1.csv").write_text(RAW_1)
    (data / "part2.csv").write_text(RAW_2)
    datastore.upload(str(data), target_path=f"raw-{tag}", overwrite=True, show_progress=False)
    raw = Dataset.Tabular.from_delimited_files(path=(datastore, f"raw-{tag}/*.csv"))
    return data, raw.register(ws, f"raw-{tag}")


def _wait(run) -> str:
    return run.wait_for_completion(show_output=False, raise_on_error=False)


def _reuse(run) -> dict[str, dict]:
    return {s.name: s.get_details()["reuse"] for s in run.get_steps()}


def _failure(run) -> str:
    lines = []
    for step in run.get_steps():
        details = step.get_details()
        lines.append(
            f"{step.name}: {details['status']} {details['error']}\n{step.get_job_log()[-2000:]}"
        )
    return "\n".join(lines)


# --- pipelines on a remote datastore -------------------------------------------------------------


def _two_step_pipeline(ws, datastore: Datastore, raw):
    prepped = OutputFileDatasetConfig(
        "prepped", destination=(datastore, "out/{run-id}/{output-name}")
    )
    prep = PythonScriptStep(
        name="prep",
        script_name="prep.py",
        source_directory=str(SCRIPTS),
        arguments=["--raw", raw.as_named_input("raw"), "--out", prepped],
    )
    consume = PythonScriptStep(
        name="consume",
        script_name="consume.py",
        source_directory=str(SCRIPTS),
        arguments=["--inp", prepped.as_input("prepped_in")],
    )
    return Pipeline(ws, [prep, consume])


@dataclass
class FirstRun:
    backend: Backend
    datastore: Datastore
    raw: object
    experiment: str
    run: object
    prep: object
    consume: object


@pytest.fixture(scope="module")
def first_run(studio, backend, tmp_path_factory) -> FirstRun:
    """The two-step pipeline run once on a new remote datastore (per backend)."""
    ws = studio.workspace()
    tag = _tag()
    datastore = backend.register(ws, tag)
    _, raw = _raw_dataset(ws, datastore, tmp_path_factory.mktemp("raw"), tag)
    experiment = f"remote-{backend.kind}-{tag}"
    run = Experiment(ws, experiment).submit(_two_step_pipeline(ws, datastore, raw))
    status = _wait(run)
    assert status == "Finished", _failure(run)
    return FirstRun(
        backend,
        datastore,
        raw,
        experiment,
        run,
        run.find_step_run("prep")[0],
        run.find_step_run("consume")[0],
    )


def test_a_remote_datastore_and_a_tabular_dataset_on_it_are_usable(ws, backend, tmp_path):
    tag = _tag()
    datastore = backend.register(ws, tag)
    assert datastore.datastore_type == {"s3": "S3", "azure": "AzureBlob"}[backend.kind]
    assert Datastore(ws, datastore.name).name == datastore.name
    _, _raw = _raw_dataset(ws, datastore, tmp_path, tag)
    assert backend.files(datastore, f"raw-{tag}") == {
        f"raw-{tag}/part1.csv": RAW_1.encode(),
        f"raw-{tag}/part2.csv": RAW_2.encode(),
    }
    frame = Dataset.get_by_name(ws, f"raw-{tag}").to_pandas_dataframe()
    assert sorted(frame["id"]) == [1, 2, 3, 4, 5]


def test_a_pipeline_reads_a_remote_dataset_and_publishes_its_output_to_the_remote_store(first_run):
    prep, consume = first_run.prep, first_run.consume
    assert "prepped 5 rows, total sum 165" in prep.get_job_log()
    assert "input files ['prepped.csv']" in consume.get_job_log()
    assert "consumed 5 rows, total sum 165" in consume.get_job_log()

    output = prep.get_output_data("prepped")
    assert output.datastore_name == first_run.datastore.name
    assert output.path_on_datastore == f"out/{prep.id}/prepped"
    objects = first_run.backend.files(first_run.datastore, f"out/{prep.id}/prepped")
    assert list(objects) == [f"out/{prep.id}/prepped/prepped.csv"]
    published = objects[f"out/{prep.id}/prepped/prepped.csv"].decode()
    assert published.splitlines()[0] == "id,a,b,total" and len(published.splitlines()) == 6
    assert first_run.backend.files(first_run.datastore, "out") == objects  # the only output written


def test_datastore_download_retrieves_a_remote_output(ws, first_run, tmp_path):
    prep = first_run.prep
    published = first_run.backend.files(first_run.datastore, f"out/{prep.id}/prepped")[
        f"out/{prep.id}/prepped/prepped.csv"
    ]
    target = tmp_path / "download"
    datastore = Datastore(ws, first_run.datastore.name)
    assert datastore.download(str(target), prefix=f"out/{prep.id}", show_progress=False) == 1
    assert (target / "out" / prep.id / "prepped" / "prepped.csv").read_bytes() == published
    output = prep.get_output_data("prepped")
    assert output.download(str(tmp_path / "port"), show_progress=False) == str(tmp_path / "port")
    assert (
        tmp_path / "port" / "out" / prep.id / "prepped" / "prepped.csv"
    ).read_bytes() == published


def test_an_unchanged_resubmit_on_a_remote_store_is_fully_reused(ws, first_run):
    second = Experiment(ws, first_run.experiment).submit(
        _two_step_pipeline(ws, first_run.datastore, first_run.raw)
    )
    assert _wait(second) == "Finished", _failure(second)
    reuse = _reuse(second)
    assert set(reuse) == {"prep", "consume"}
    assert all(r["reused"] for r in reuse.values()), reuse
    assert reuse["prep"]["reason"] == f"Reused from run {first_run.run.id}, step prep"
    assert reuse["consume"]["reason"] == f"Reused from run {first_run.run.id}, step consume"
    prep = second.find_step_run("prep")[0]
    assert prep.get_output_data("prepped").path_on_datastore == f"out/{first_run.prep.id}/prepped"
    # nothing new was written: still the one output of the first run
    assert list(first_run.backend.files(first_run.datastore, "out")) == [
        f"out/{first_run.prep.id}/prepped/prepped.csv"
    ]


def test_a_failed_step_publishes_nothing_to_s3(studio, ws, s3):
    tag = _tag()
    datastore = s3.register(ws, tag)
    partial = OutputFileDatasetConfig(
        "partial", destination=(datastore, "out/{run-id}/{output-name}")
    ).as_upload()
    step = PythonScriptStep(
        name="write then fail",
        script_name="write_then_fail.py",
        source_directory=str(SCRIPTS),
        arguments=["--out", partial],
    )
    run = Experiment(ws, f"remote-fail-{tag}").submit(Pipeline(ws, [step]))
    assert _wait(run) == "Failed"
    step_run = run.find_step_run("write then fail")[0]
    details = step_run.get_details()
    assert details["status"] == "Failed" and details["exitCode"] == 1
    assert "exit code 1" in details["error"]["error"]["message"]
    assert "wrote partial output, now failing" in step_run.get_job_log()
    assert details["outputs"] == {}
    assert s3.files(datastore, f"out/{step_run.id}") == {}
    assert s3.files(datastore, "out") == {}  # nothing under the output prefix, nor anywhere else
    assert s3.files(datastore, "") == {}
    # and the local staging folder of the attempt is gone too
    assert not list((studio.data_dir / "work").glob(f"{step_run.id}.*"))


def test_changed_data_in_an_s3_dataset_reruns_the_reading_step(ws, s3, tmp_path):
    tag = _tag()
    datastore = s3.register(ws, tag)
    data, raw = _raw_dataset(ws, datastore, tmp_path, tag)

    def submit():
        step = PythonScriptStep(
            name="count",
            script_name="count.py",
            source_directory=str(SCRIPTS),
            inputs=[raw.as_named_input("raw")],
        )
        run = Experiment(ws, f"remote-change-{tag}").submit(Pipeline(ws, [step]))
        assert _wait(run) == "Finished", _failure(run)
        return run

    first = submit()
    assert _reuse(first)["count"] == {
        **_reuse(first)["count"],
        "reused": False,
        "reason": "first run",
    }
    assert "counted 5 rows" in first.get_steps()[0].get_job_log()
    assert _reuse(submit())["count"]["reused"] is True

    (data / "part2.csv").write_text(RAW_2 + "6,6,60\n")
    datastore.upload(str(data), target_path=f"raw-{tag}", overwrite=True, show_progress=False)
    assert b"6,6,60" in s3.files(datastore, f"raw-{tag}")[f"raw-{tag}/part2.csv"]
    third = submit()
    step_run = third.find_step_run("count")[0]
    reuse = step_run.get_details()["reuse"]
    assert reuse["reused"] is False and reuse["reason"] == "input raw: data changed", reuse
    assert "counted 6 rows" in step_run.get_job_log()


def test_an_upload_without_overwrite_does_not_replace_a_remote_file(ws, s3, tmp_path):
    tag = _tag()
    datastore = s3.register(ws, tag)
    (tmp_path / "a.txt").write_text("first")
    datastore.upload_files([str(tmp_path / "a.txt")], target_path="docs", show_progress=False)
    (tmp_path / "a.txt").write_text("second")
    with pytest.raises(Exception, match="already exists"):
        datastore.upload_files([str(tmp_path / "a.txt")], target_path="docs", show_progress=False)
    assert s3.files(datastore, "docs") == {"docs/a.txt": b"first"}
    datastore.upload_files(
        [str(tmp_path / "a.txt")], target_path="docs", overwrite=True, show_progress=False
    )
    assert s3.files(datastore, "docs") == {"docs/a.txt": b"second"}


# --- secrets ---------------------------------------------------------------------------------------


def _stored_secrets(studio, name: str) -> str:
    out = studio.manage(
        "shell",
        "-c",
        "from studio.workspace.models import Datastore\n"
        f"print('SECRETS=' + Datastore.objects.get(name={name!r}).secrets_encrypted)",
    )
    line = [x for x in out.splitlines() if x.startswith("SECRETS=")]
    assert line, out
    return line[-1][len("SECRETS=") :]


def test_remote_datastore_secrets_are_never_shown_and_stored_encrypted(studio, ws, backend):
    tag = _tag()
    if backend.kind == "s3":
        secrets = {"key": f"AKIAKEY{tag.upper()}", "secret": f"s3cr3t-{tag}-value"}
    else:
        secrets = {"account_key": AZURITE_KEY}
    datastore = backend.register(ws, tag, **secrets)
    header = ws.auth.get_authentication_header()

    detail = requests.get(
        f"{studio.url}/api/datastores/{datastore.name}/", headers=header, timeout=30
    )
    listing = requests.get(f"{studio.url}/api/datastores/", headers=header, timeout=30)
    assert detail.status_code == 200 and listing.status_code == 200
    assert detail.json()["name"] == datastore.name
    for value in secrets.values():
        assert value not in detail.text
        assert value not in listing.text
    for field in ("key", "secret", "account_key", "sas_token", "secrets", "secrets_encrypted"):
        assert field not in detail.json() and field not in detail.json().get("options", {})

    stored = _stored_secrets(studio, datastore.name)
    assert stored, "the secrets were not stored at all"
    for value in secrets.values():
        assert value not in stored
        if len(value) > 12:
            assert value[:12] not in stored

    # and the store still works with them (they decrypt on the server)
    files = requests.get(
        f"{studio.url}/api/datastores/{datastore.name}/files/", headers=header, timeout=30
    )
    assert files.status_code == 200, files.text


# --- path confinement on a remote store ----------------------------------------------------------


@pytest.fixture(scope="module")
def confined_s3(studio, moto):
    """An S3 datastore holding one file, for the path tests (one per module)."""
    ws = studio.workspace()
    tag = _tag()
    datastore = Backend("s3", moto).register(ws, tag)
    folder = Path(tempfile.mkdtemp(prefix="studio-confined-"))
    try:
        (folder / "x").write_text("inside")
        datastore.upload_files([str(folder / "x")], target_path="a", show_progress=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return datastore.name


@pytest.mark.parametrize(
    ("raw_query", "problem"),
    [
        ("path=..%2Fx", "'..' is not allowed"),
        ("path=../x", "'..' is not allowed"),
        ("path=%2e%2e/x", "'..' is not allowed"),  # decoded by the server to ../x
        ("path=%252e%252e/x", "Percent-encoded characters are not allowed"),  # arrives as %2e%2e/x
        ("path=a/../../x", "'..' is not allowed"),
        ("path=/etc/passwd", "Absolute paths are not allowed"),
        ("path=%2Fetc%2Fpasswd", "Absolute paths are not allowed"),
        ("path=a%5Cb", "Backslashes are not allowed"),
        ("path=a%5C..%5Cx", "Backslashes are not allowed"),
        ("path=s3://other-bucket/x", "not a URL"),
    ],
)
def test_paths_leaving_a_remote_store_are_refused_with_the_reason(
    studio, ws, confined_s3, raw_query, problem
):
    header = ws.auth.get_authentication_header()
    base = f"{studio.url}/api/datastores/{confined_s3}"
    for endpoint in ("download/", "files/"):
        response = requests.get(f"{base}/{endpoint}?{raw_query}", headers=header, timeout=30)
        assert response.status_code == 400, (
            endpoint,
            raw_query,
            response.status_code,
            response.text[:300],
        )
        error = response.json()["error"]
        assert error["field"] == "path" and problem in error["message"], (endpoint, error)
    upload = requests.put(
        f"{base}/upload/?{raw_query}",
        headers={**header, "Content-Type": "application/octet-stream"},
        data=b"evil",
        timeout=30,
    )
    assert upload.status_code == 400, (raw_query, upload.status_code, upload.text[:300])
    assert problem in upload.json()["error"]["message"]


def test_a_confined_path_on_a_remote_store_still_reads(studio, ws, confined_s3):
    header = ws.auth.get_authentication_header()
    ok = requests.get(
        f"{studio.url}/api/datastores/{confined_s3}/download/",
        params={"path": "a/x"},
        headers=header,
        timeout=30,
    )
    assert ok.status_code == 200 and ok.content == b"inside"
    missing = requests.get(
        f"{studio.url}/api/datastores/{confined_s3}/download/",
        params={"path": "a/missing"},
        headers=header,
        timeout=30,
    )
    assert missing.status_code == 404, missing.text[:300]
    listing = requests.get(
        f"{studio.url}/api/datastores/{confined_s3}/files/",
        params={"path": "a"},
        headers=header,
        timeout=30,
    )
    assert listing.status_code == 200 and [e["path"] for e in listing.json()] == ["a/x"]
