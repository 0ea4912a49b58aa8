"""What a newcomer meets: commands in a second terminal that miss the database say what to set
instead of a traceback; the API schema is generated without a warning and validates; Ctrl-C stops Studio
without an error line; an optional part not installed says how to install it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client

from studio.core.errors import StudioError
from studio.core.tabular import read_table
from studio.staticfiles import StaticFilesStorage
from studio.workspace.services import DATASET_CACHE, register_dataset
from studio.workspace.storage import default_datastore
from tests.harness import ROOT, MakeRun, wait_until


def test_a_command_run_against_another_data_dir_says_what_to_set(tmp_path):
    env = {**os.environ, "STUDIO_DATA_DIR": str(tmp_path / "elsewhere")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "createtoken", "laptop"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"No Studio database at {tmp_path / 'elsewhere' / 'studio.sqlite3'}" in done.stderr
    assert "STUDIO_DATA_DIR" in done.stderr


def test_the_api_schema_is_generated_without_a_warning_and_is_valid_openapi(tmp_path, db):
    call_command(
        "spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml")
    )
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000


@pytest.mark.integration
def test_ctrl_c_stops_runstudio_without_an_error_line(tmp_path):
    studio = MakeRun(tmp_path, "ctrlc").start()
    try:
        wait_until(lambda: "Press Ctrl-C" in studio.said, timeout=90, message="the banner")
        studio.interrupt(group=True)  # what Ctrl-C in its terminal sends
        assert studio.proc.returncode == 0
    finally:
        studio.kill()
    assert "Studio stopped." in studio.said
    errors = [line for line in studio.lines if "ERROR" in line or "Traceback" in line]
    assert errors == [], studio.said


def test_reading_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    table = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(table)
    assert read_table([str(table)], {"format": "parquet"})["a"].tolist() == [1, 2]
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as where the extra is not installed
    with pytest.raises(StudioError) as refused:
        read_table([str(table)], {"format": "parquet"})
    assert "make run EXTRAS=parquet" in str(refused.value)
    assert "requirements-parquet.txt" in str(refused.value)


def test_static_files_are_linked_by_plain_name_until_collected_then_hashed_and_gzipped(
    settings, tmp_path
):
    settings.STATIC_ROOT = tmp_path
    plotly = "vendor/plotly/plotly-basic.min.js"
    assert StaticFilesStorage(location=tmp_path).url(plotly) == f"/static/{plotly}"
    call_command("collectstatic", interactive=False, verbosity=0)
    hashed = StaticFilesStorage(location=tmp_path).url(plotly)
    assert re.fullmatch(r"/static/vendor/plotly/plotly-basic\.min\.[0-9a-f]{12}\.js", hashed)
    served = tmp_path / hashed.removeprefix("/static/")
    assert served.with_name(served.name + ".gz").stat().st_size < served.stat().st_size / 2
    assert not (tmp_path / "rest_framework").exists()  # the browsable API is not used


@pytest.mark.django_db
def test_the_dataset_page_says_what_to_install_to_preview_parquet(alice, monkeypatch):
    store = default_datastore()
    (store.root_path / "tables").mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"city": ["Oslo"]}).to_parquet(store.root_path / "tables" / "t.parquet")
    register_dataset(
        name="cities",
        kind="tabular",
        paths=[[store.name, "tables/t.parquet"]],
        options={"format": "parquet"},
    )
    client = Client()
    client.force_login(alice)
    assert "Oslo" in client.get("/datasets/cities/").content.decode()
    caches[DATASET_CACHE].clear()  # the preview just read is kept: read it again
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as where the extra is not installed
    page = client.get("/datasets/cities/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "make run EXTRAS=parquet" in text and "Oslo" not in text
    assert "StudioError" not in text and "Traceback" not in text
