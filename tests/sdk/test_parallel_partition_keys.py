"""partition_keys: one mini-batch per value of the keys, for a TabularDataset (its columns,
or those its partition_format takes from the files' paths) and a FileDataset (its
partition_format); run(mini_batch, mini_batch_context) learns the values."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
def init():
    pass


def run(mini_batch, mini_batch_context):
    values = mini_batch_context.partition_key_value
    if hasattr(mini_batch, "columns"):
        states = sorted(set(mini_batch["state"]))
        return [f"{values} rows={len(mini_batch)} states={states}"]
    return [f"{values} files={len(mini_batch)}"]
"""


def _run(tmp_path, inputs: dict, keys: list[str]):
    (tmp_path / "score.py").write_text(SCRIPT)
    described = tmp_path / "input_datasets.json"
    described.write_text(json.dumps(inputs))
    job = {
        "entry_script": "score.py",
        "arguments": [],
        "inputs": [{"name": name, "location": str(tmp_path)} for name in inputs],
        "output_dir": str(tmp_path / "out"),
        "settings": {
            "mini_batch_size": 1,
            "error_threshold": -1,
            "allowed_failed_count": None,
            "allowed_failed_percent": None,
            "output_action": "append_row",
            "append_row_file_name": "rows.txt",
            "process_count_per_node": 2,
            "run_invocation_timeout": 60,
            "run_max_try": 1,
            "logging_level": "INFO",
            "partition_keys": keys,
        },
    }
    done = subprocess.run(
        [sys.executable, "-m", "studio.sdk.pipeline.steps._parallel_run", json.dumps(job)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STUDIO_INPUT_DATASETS_FILE": str(described)},
    )
    rows = tmp_path / "out" / "rows.txt"
    return done, rows.read_text().splitlines() if rows.exists() else []


@pytest.fixture
def partitioned(tmp_path):
    """sales/<state>/<yyyy>/<MM>/part.csv, as a partitioned dataset is laid out."""
    files = []
    for state, month, count in [("CA", "01", 3), ("CA", "02", 2), ("WA", "01", 4)]:
        folder = tmp_path / "sales" / state / "2024" / month
        folder.mkdir(parents=True)
        path = folder / "part.csv"
        path.write_text("amount\n" + "".join(f"{i}\n" for i in range(count)))
        files.append(str(path))
    return files


def test_a_table_is_split_by_the_values_of_its_columns(tmp_path, partitioned):
    options = {"partition_format": "/{state}/{day:yyyy/MM}/part.csv"}
    inputs = {"sales": {"mode": "direct", "files": partitioned, "options": options}}
    done, rows = _run(tmp_path, inputs, ["state"])
    assert done.returncode == 0, done.stderr
    assert rows == ["{'state': 'CA'} rows=5 states=['CA']", "{'state': 'WA'} rows=4 states=['WA']"]


def test_files_are_split_by_the_keys_their_paths_give(tmp_path, partitioned):
    options = {"partition_format": "/{state}/{year}/{month}/*.csv"}
    inputs = {"sales": {"mode": "mount", "files": partitioned, "options": options}}
    done, rows = _run(tmp_path, inputs, ["state", "month"])
    assert done.returncode == 0, done.stderr
    assert rows == [
        "{'state': 'CA', 'month': '01'} files=1",
        "{'state': 'CA', 'month': '02'} files=1",
        "{'state': 'WA', 'month': '01'} files=1",
    ]
    done, rows = _run(tmp_path, inputs, ["state"])
    assert rows == ["{'state': 'CA'} files=2", "{'state': 'WA'} files=1"]


@pytest.mark.parametrize(
    ("keys", "options", "message"),
    [
        (["region"], {}, "partition_keys ['region'] are not columns of input 'sales'"),
        (["state"], None, "needs input 'sales' to be a dataset made with a partition_format"),
    ],
)
def test_keys_the_input_does_not_have_fail_the_step_saying_so(
    tmp_path, partitioned, keys, options, message
):
    mode = "direct" if options is not None else "mount"
    inputs = {"sales": {"mode": mode, "files": partitioned, "options": options or {}}}
    done, rows = _run(tmp_path, inputs, keys)
    assert done.returncode == 1 and rows == []
    assert message in done.stderr


def test_a_bad_partition_format_is_refused_as_the_dataset_is_made():
    from studio.sdk.core import Dataset
    from studio.sdk.exceptions import UserErrorException

    with pytest.raises(UserErrorException, match="must name at least one partition key"):
        Dataset.File.from_files("/tmp/x", partition_format="/sales/*.csv")
