"""What a newcomer meets in a second terminal: commands that miss the database say what to
set instead of a traceback; the API schema is generated without a warning."""

from __future__ import annotations

import os
import subprocess
import sys

from django.core.management import call_command

from tests.harness import ROOT


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


def test_the_api_schema_is_generated_without_a_warning(tmp_path, db):
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 10_000
