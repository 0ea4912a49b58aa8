"""The process a ParallelRunStep's entry script runs in: init() once, run() per mini-batch of
files or of rows, the answers apart from what the script prints, a failing batch reported with
its traceback and the process going on, and ``azureml_user.parallel_run`` importable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

ENTRY_SCRIPT = """
import argparse
import os

import pandas as pd
from azureml_user.parallel_run import EntryScript

inits = 0


def init():
    global inits, prefix
    inits += 1
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix", required=True)
    args, _ = parser.parse_known_args()
    prefix = args.prefix
    EntryScript().logger.info("init with %s", prefix)


def run(mini_batch):
    print("a print that must not be taken for an answer")
    if isinstance(mini_batch, pd.DataFrame):
        mini_batch["double"] = mini_batch["x"] * 2
        return mini_batch
    if any(path.endswith("bad.txt") for path in mini_batch):
        raise ValueError("bad file in " + ",".join(os.path.basename(p) for p in mini_batch))
    return [f"{prefix} {os.path.basename(p)} {open(p).read()} inits={inits}" for p in mini_batch]
"""


@pytest.fixture
def driver(tmp_path):
    script = tmp_path / "score.py"
    script.write_text(ENTRY_SCRIPT)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "studio.sdk.pipeline.steps._parallel_driver",
            str(script),
            "--prefix",
            "p",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    yield process
    process.kill()
    process.wait()


def _ask(process, batch: dict) -> dict:
    process.stdin.write(json.dumps(batch) + "\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def test_init_runs_once_and_each_mini_batch_is_answered_in_turn(driver, tmp_path):
    files = []
    for name in ("a.txt", "b.txt", "bad.txt", "c.txt"):
        (tmp_path / name).write_text(name[0])
        files.append(str(tmp_path / name))
    assert "ready" in json.loads(driver.stdout.readline())
    first = _ask(driver, {"index": 0, "files": files[:2]})
    assert first == {
        "index": 0,
        "ok": True,
        "count": 2,
        "rows": ["p a.txt a inits=1", "p b.txt b inits=1"],
    }
    failed = _ask(driver, {"index": 1, "files": files[2:]})
    assert (failed["index"], failed["ok"]) == (1, False)
    assert "ValueError: bad file in bad.txt,c.txt" in failed["error"]
    again = _ask(driver, {"index": 2, "files": files[3:]})
    assert again["rows"] == ["p c.txt c inits=1"]  # the same process: init() once
    driver.stdin.close()
    assert driver.wait(timeout=30) == 0
    log = driver.stderr.read()
    assert "a print that must not be taken for an answer" in log
    assert "init with p" in log


def test_a_mini_batch_of_rows_is_a_dataframe(driver, tmp_path):
    table = tmp_path / "iris.csv"
    table.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(10)))
    assert "ready" in json.loads(driver.stdout.readline())
    rows = {"files": [str(table)], "options": {}, "start": 4, "stop": 7}
    answer = _ask(driver, {"index": 3, "table": rows})
    assert answer == {"index": 3, "ok": True, "count": 3, "rows": ["4 1 8", "5 2 10", "6 0 12"]}


def test_an_init_that_fails_is_reported_and_the_process_ends(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text(
        "def init():\n    raise RuntimeError('no model')\n\n\ndef run(b):\n    return b\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "studio.sdk.pipeline.steps._parallel_driver", str(script)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "RuntimeError: no model" in json.loads(done.stdout)["init_error"]


def test_a_script_without_run_is_named(tmp_path):
    script = tmp_path / "empty.py"
    script.write_text("def init():\n    pass\n")
    done = subprocess.run(
        [sys.executable, "-m", "studio.sdk.pipeline.steps._parallel_driver", str(script)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "has no run(mini_batch) function" in json.loads(done.stdout)["init_error"]
