"""A ParallelRunStep's run in its sandbox, run here as plain processes: files split into
mini-batches across processes, rows appended in mini-batch order, failures retried and
counted against the thresholds, a stuck run() killed, and the logs laid out as Azure's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

SCRIPT = """
import os
import time

from azureml_user.parallel_run import EntryScript


def init():
    EntryScript().logger.info("init in %s", os.getpid())


def run(mini_batch):
    names = [os.path.basename(p) for p in mini_batch]
    time.sleep(0.3)  # long enough for both processes to take a share
    with open("calls.txt", "a") as calls:
        calls.write(" ".join(names) + "\\n")
    for name in names:
        if name.startswith("flaky") and os.path.exists("flaky.marker"):
            raise RuntimeError("flaky " + name)
        if name.startswith("bad"):
            raise ValueError("cannot read " + name)
        if name.startswith("hang") and not os.path.exists(name + ".seen"):
            open(name + ".seen", "w").close()
            time.sleep(60)
    return [f"{n} {os.getpid()}" for n in names if not n.startswith("skip")]
"""


def _job(tmp_path, names, **settings):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name in names:
        (data / name).write_text(name)
    (tmp_path / "score.py").write_text(SCRIPT)
    output = tmp_path / "out"
    return {
        "entry_script": "score.py",
        "arguments": ["--model_name", "x"],
        "inputs": [{"name": "images", "location": str(data)}],
        "output_dir": str(output),
        "settings": {
            "mini_batch_size": 2,
            "error_threshold": -1,
            "allowed_failed_count": None,
            "allowed_failed_percent": None,
            "output_action": "append_row",
            "append_row_file_name": "parallel_run_step.txt",
            "process_count_per_node": 2,
            "run_invocation_timeout": 60,
            "run_max_try": 3,
            "logging_level": "INFO",
            **settings,
        },
    }


def _run(tmp_path, job):
    return subprocess.run(
        [sys.executable, "-m", "studio.sdk.pipeline.steps._parallel_run", json.dumps(job)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_files_are_split_across_processes_and_rows_kept_in_order(tmp_path):
    names = [f"f{i:02d}.txt" for i in range(9)]
    done = _run(tmp_path, _job(tmp_path, names))
    assert done.returncode == 0, done.stderr
    rows = (tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()
    assert [r.split()[0] for r in rows] == names
    assert len({r.split()[1] for r in rows}) == 2  # two processes shared the batches
    assert "5 mini-batches: 5 done, 0 failed, 0 retried; 9 items" in done.stdout
    logs = tmp_path / "logs"
    overview = (logs / "job_progress_overview.txt").read_text().splitlines()
    assert overview[0].startswith("5 mini-batches")
    shares = [line.split(": ", 1) for line in overview[1:]]
    assert [name for name, _ in shares] == ["node0 process000", "node0 process001"]
    assert sum(int(share.split()[2]) for _, share in shares) == 9  # items per process
    report = (logs / "sys" / "job_report" / "processed_mini-batches.csv").read_text()
    lines = [line.split(",") for line in report.splitlines()[1:]]
    assert [line[:4] for line in lines] == [
        [str(i), str(2 if i < 4 else 1), "1", "done"] for i in range(5)
    ]
    assert {line[5] for line in lines} == {"0", "1"}  # the process that ran each
    stderr = (logs / "user" / "stderr" / "0" / "process000.stderr.txt").read_text()
    assert "init in" in stderr


def test_a_failing_batch_is_tried_run_max_try_times_then_counted(tmp_path):
    names = ["a.txt", "b.txt", "bad.txt", "c.txt"]
    job = _job(tmp_path, names, error_threshold=2, run_max_try=2, process_count_per_node=1)
    done = _run(tmp_path, job)
    assert done.returncode == 0, done.stderr  # 2 failed items: not more than the threshold
    assert "2 mini-batches: 1 done, 1 failed, 1 retried; 2 items" in done.stdout
    rows = (tmp_path / "out" / "parallel_run_step.txt").read_text().splitlines()
    assert [r.split()[0] for r in rows] == ["a.txt", "b.txt"]
    errors = (tmp_path / "logs" / "user" / "error" / "0" / "process000.txt").read_text()
    assert errors.count("ValueError: cannot read bad.txt") == 2
    assert "mini-batch 1:" in (tmp_path / "logs" / "job_error.txt").read_text()


def test_failures_beyond_the_threshold_fail_the_step(tmp_path):
    names = ["a.txt", "b.txt", "bad.txt", "c.txt"]
    job = _job(tmp_path, names, error_threshold=1, run_max_try=1, process_count_per_node=1)
    done = _run(tmp_path, job)
    assert done.returncode == 1
    assert "2 failed items is more than error_threshold 1" in done.stderr
    counted = _job(tmp_path, names, allowed_failed_count=0, run_max_try=1)
    done = _run(tmp_path, counted)
    assert "1 failed mini-batches is more than allowed_failed_count 0" in done.stderr
    percent = _job(tmp_path, names, allowed_failed_percent=40, run_max_try=1)
    done = _run(tmp_path, percent)
    assert "1 failed mini-batches of 2 is more than allowed_failed_percent 40%" in done.stderr
    assert (
        _run(tmp_path, _job(tmp_path, names, allowed_failed_percent=50, run_max_try=1)).returncode
        == 0
    )


def test_a_stuck_run_is_killed_and_its_batch_tried_again(tmp_path):
    names = ["a.txt", "hang.txt"]
    job = _job(
        tmp_path, names, mini_batch_size=1, run_invocation_timeout=2, process_count_per_node=1
    )
    done = _run(tmp_path, job)
    assert done.returncode == 0, done.stderr
    assert "2 mini-batches: 2 done, 0 failed, 1 retried" in done.stdout
    # While run() hangs the log says how far the step is.
    assert "progress: 1 of 2 mini-batches: 1 done, 0 failed, 0 retried" in done.stdout
    errors = (tmp_path / "logs" / "user" / "error" / "0" / "process000.txt").read_text()
    assert "took longer than run_invocation_timeout (2 s)" in errors
    stderr = (tmp_path / "logs" / "user" / "stderr" / "0" / "process000.stderr.txt").read_text()
    assert stderr.count("init in") == 2  # the process was started again


def test_an_init_that_fails_fails_the_step(tmp_path):
    job = _job(tmp_path, ["a.txt"])
    (tmp_path / "score.py").write_text(
        "def init():\n    raise RuntimeError('no model')\n\ndef run(b):\n    return b\n"
    )
    done = _run(tmp_path, job)
    assert done.returncode == 1
    assert "init() failed" in done.stderr and "RuntimeError: no model" in done.stderr


def test_a_table_is_split_into_row_ranges_of_about_mini_batch_size_bytes(tmp_path):
    table = tmp_path / "iris.csv"
    table.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(100)))
    described = tmp_path / "input_datasets.json"
    described.write_text(
        json.dumps({"iris": {"mode": "direct", "files": [str(table)], "options": {}}})
    )
    (tmp_path / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(df):\n    return df[df.x % 10 == 0]\n"
    )
    job = _job(tmp_path, [], mini_batch_size=100, output_action="summary_only")
    job["inputs"] = [{"name": "iris", "location": "iris"}]
    done = subprocess.run(
        [sys.executable, "-m", "studio.sdk.pipeline.steps._parallel_run", json.dumps(job)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "STUDIO_INPUT_DATASETS_FILE": str(described)},
    )
    assert done.returncode == 0, done.stderr
    # 100 rows of about 5 bytes: about 20 rows per mini-batch of 100 bytes
    report = (tmp_path / "logs" / "sys" / "job_report" / "processed_mini-batches.csv").read_text()
    sizes = [int(line.split(",")[1]) for line in report.splitlines()[1:]]
    assert sum(sizes) == 100 and 4 <= len(sizes) <= 6
    assert not (tmp_path / "out" / "parallel_run_step.txt").exists()  # summary_only


def test_items_run_does_not_return_count_as_failed(tmp_path):
    names = ["a.txt", "skip.txt", "c.txt"]
    done = _run(tmp_path, _job(tmp_path, names, error_threshold=1))
    assert done.returncode == 0, done.stderr
    done = _run(tmp_path, _job(tmp_path, names, error_threshold=0))
    assert done.returncode == 1
    assert "1 failed items is more than error_threshold 0" in done.stderr


def test_quick_mini_batches_are_claimed_more_at_a_time_but_the_last_ones_are_shared():
    from studio.sdk.pipeline.steps._parallel_run import _Feed

    reads, writes = os.pipe()
    feed = _Feed([reads, writes], processes=2, nodes=2)
    try:
        assert feed._claim_size() == 4  # nothing known yet: every process's next two
        # 400 handed out in the second since the last claim: half a second's worth next
        feed.claimed_at, feed.handed = time.monotonic() - 1.0, 400
        feed.last = {"done": 0, "failed": 0, "retried": 0, "items": 0, "total": 10_000}
        assert 190 <= feed._claim_size() <= 200
        feed.last["done"] = 9_800  # 200 left for 2 nodes: a quarter of them at most
        assert feed._claim_size() == 50
        feed.last["done"] = 9_990
        assert feed._claim_size() == 4
        feed.handed = 4_000  # never more than MAX_CLAIM
        feed.last["done"] = 0
        assert feed._claim_size() == 500
    finally:
        feed.answers.close()
        feed.requests.close()
