"""A ParallelRunStep's run: ``python -m studio.sdk.pipeline.steps._parallel_run <job JSON>``,
the step's command in its sandbox.

It splits the inputs into mini-batches (``mini_batch_size`` files of a FileDataset or folder,
or about ``mini_batch_size`` bytes of a TabularDataset's rows), starts
``process_count_per_node`` driver processes (``_parallel_driver``: ``init()`` once each) and
hands each a mini-batch at a time. A failed mini-batch is tried again up to ``run_max_try``
times; one that takes longer than ``run_invocation_timeout`` seconds has its process killed and
started again. Failures beyond ``error_threshold`` (items), ``allowed_failed_count`` or
``allowed_failed_percent`` (mini-batches) fail the step. With ``append_row`` the rows run()
returned are written, in mini-batch order, to ``append_row_file_name`` in the step's output.

Logs are laid out as Azure's: ``logs/user/stderr/0/processNNN.stderr.txt`` per process (what the
script prints and logs), ``logs/user/error/0/processNNN.txt`` (failed mini-batches with their
tracebacks), ``logs/sys/job_report/processed_mini-batches.csv`` and
``logs/job_progress_overview.txt``.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

LOGS = Path("logs")
RESULTS = LOGS / "sys" / "job_report" / "mini-batch_results.jsonl"
PROGRESS_SECONDS = 2.0  # how often the step's log shows the counts while it runs


@dataclass
class _Batch:
    index: int
    message: dict
    items: int
    key: str = ""  # what the mini-batch holds, wherever the attempt laid the data out
    tries: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Tally:
    done: int = 0
    failed: int = 0
    retried: int = 0
    failed_items: int = 0
    processed_items: int = 0
    rows: dict[int, list[str]] = field(default_factory=dict)
    succeeded: set[int] = field(default_factory=set)
    reused: set[int] = field(default_factory=set)
    by_process: dict[int, list[int]] = field(default_factory=dict)  # number: [batches, items]
    failures: list[tuple[int, str]] = field(default_factory=list)
    abort: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _files_of(location: str) -> list[str]:
    path = Path(location)
    if path.is_file():
        return [str(path)]
    return sorted(str(p) for p in path.rglob("*") if p.is_file())


def partition(job: dict) -> list[_Batch]:
    """The mini-batches of the job's inputs, in order."""
    size = job["settings"]["mini_batch_size"]
    described = {}
    if os.environ.get("STUDIO_INPUT_DATASETS_FILE"):
        described = json.loads(Path(os.environ["STUDIO_INPUT_DATASETS_FILE"]).read_text())
    batches: list[_Batch] = []
    for item in job["inputs"]:
        info = described.get(item["name"], {})
        if info.get("mode") == "direct":
            found = _table_batches(info["files"], info.get("options", {}), size, len(batches))
            for batch in found:
                table = batch.message["table"]
                batch.key = _key(item["name"], table["start"], table["stop"])
            batches += found
            continue
        # A dataset's own files (a glob's matches, several folders); else the folder's files.
        files = sorted(info["files"]) if info.get("files") else _files_of(item["location"])
        root = (
            os.path.commonpath(files)
            if len(files) > 1
            else os.path.dirname(files[0])
            if files
            else ""
        )
        for start in range(0, len(files), size):
            chunk = files[start : start + size]
            message = {"index": len(batches), "files": chunk}
            key = _key(item["name"], [os.path.relpath(f, root) for f in chunk])
            batches.append(_Batch(len(batches), message, len(chunk), key))
    return batches


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _table_batches(files: list[str], options: dict, size: int, first: int) -> list[_Batch]:
    """Row ranges of about ``size`` bytes each (by the files' bytes per row)."""
    from studio.core.tabular import read_table

    rows = len(read_table(files, options))
    total = sum(os.path.getsize(f) for f in files)
    per_batch = max(1, int(size // max(1.0, total / max(rows, 1))))
    batches: list[_Batch] = []
    for start in range(0, rows, per_batch):
        stop = min(rows, start + per_batch)
        index = first + len(batches)
        table = {"files": files, "options": options, "start": start, "stop": stop}
        batches.append(_Batch(index, {"index": index, "table": table}, stop - start))
    return batches


class _Process:
    """One driver process: started, given a mini-batch at a time, killed when stuck."""

    def __init__(self, number: int, job: dict, env: dict):
        self.number = number
        self.job = job
        self.env = env
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> str | None:
        """Start the driver; the init() error, if init() failed."""
        self.starts += 1
        stderr = LOGS / "user" / "stderr" / "0" / f"process{self.number:03d}.stderr.txt"
        stderr.parent.mkdir(parents=True, exist_ok=True)
        with open(stderr, "a") as log:
            if self.starts > 1:
                log.write(f"\n[process restarted ({self.starts})]\n")
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "studio.sdk.pipeline.steps._parallel_driver",
                    self.job["entry_script"],
                    *self.job["arguments"],
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=self.env,
            )
        first = self._answer(None)
        if first is None or "init_error" in first:
            self.stop()
            return (first or {}).get("init_error") or "the process ended before init() returned"
        return None

    def _answer(self, timeout: float | None) -> dict | None:
        assert self.process is not None and self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        try:
            if not selector.select(timeout):
                return {"timeout": True}
        finally:
            selector.close()
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def ask(self, batch: _Batch, timeout: float) -> dict:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(batch.message) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            return {"ok": False, "error": "the process had ended", "restart": True}
        answer = self._answer(timeout)
        if answer is None:
            code = self.process.wait()
            return {"ok": False, "error": f"the process ended (exit code {code})", "restart": True}
        if answer.get("timeout"):
            return {
                "ok": False,
                "error": f"run() took longer than run_invocation_timeout ({timeout:g} s): "
                "the process was killed and started again",
                "restart": True,
            }
        return answer

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.stop()


def _over_threshold(settings: dict, tally: _Tally, total: int) -> str | None:
    threshold = settings["error_threshold"]
    if threshold != -1 and tally.failed_items > threshold:
        return f"{tally.failed_items} failed items is more than error_threshold {threshold}"
    count = settings.get("allowed_failed_count")
    if count is not None and count != -1 and tally.failed > count:
        return f"{tally.failed} failed mini-batches is more than allowed_failed_count {count}"
    percent = settings.get("allowed_failed_percent")
    if percent is not None and total and tally.failed * 100 / total > percent:
        return (
            f"{tally.failed} failed mini-batches of {total} is more than "
            f"allowed_failed_percent {percent:g}%"
        )
    return None


def _serve(proc: _Process, work: queue.Queue, tally: _Tally, settings: dict, total: int) -> None:
    error_log = LOGS / "user" / "error" / "0" / f"process{proc.number:03d}.txt"
    error_log.parent.mkdir(parents=True, exist_ok=True)
    init_error = proc.start()
    if init_error is not None:
        with tally.lock:
            tally.abort = tally.abort or f"init() failed:\n{init_error}"
        return
    while True:
        with tally.lock:
            if tally.abort:
                break
        try:
            batch = work.get_nowait()
        except queue.Empty:
            break
        batch.tries += 1
        answer = proc.ask(batch, settings["run_invocation_timeout"])
        if answer.get("ok"):
            with tally.lock:
                tally.done += 1
                tally.succeeded.add(batch.index)
                tally.processed_items += batch.items
                share = tally.by_process.setdefault(proc.number, [0, 0])
                share[0], share[1] = share[0] + 1, share[1] + batch.items
                # As in Azure, each element run() returns is one item done: the rest failed.
                tally.failed_items += max(0, batch.items - answer["count"])
                if settings["output_action"] == "append_row":
                    tally.rows[batch.index] = answer["rows"]
                _record(
                    batch,
                    answer["count"],
                    answer["rows"] if settings["output_action"] == "append_row" else [],
                )
                tally.abort = tally.abort or _over_threshold(settings, tally, total)
            continue
        batch.errors.append(answer["error"])
        with open(error_log, "a") as log:
            log.write(f"mini-batch {batch.index}, try {batch.tries}:\n{answer['error']}\n")
        if answer.get("restart"):
            proc.stop()
            init_error = proc.start()
            if init_error is not None:
                with tally.lock:
                    tally.abort = tally.abort or f"init() failed:\n{init_error}"
                break
        with tally.lock:
            if batch.tries < settings["run_max_try"]:
                tally.retried += 1
                work.put(batch)
                continue
            tally.failed += 1
            tally.failed_items += batch.items
            tally.failures.append((batch.index, answer["error"]))
            tally.abort = tally.abort or _over_threshold(settings, tally, total)
    proc.close()


def _record(batch: _Batch, count: int, rows: list[str]) -> None:
    """Keep a mini-batch that succeeded (called with the tally's lock held), for a later
    attempt of the same step to resume from."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as out:
        record = {"index": batch.index, "key": batch.key, "items": batch.items}
        out.write(json.dumps({**record, "count": count, "rows": rows}) + "\n")


def _resumed(batches: list[_Batch], tally: _Tally, settings: dict) -> set[int]:
    """The mini-batches an earlier attempt of the same step (same inputs and code) did: taken
    as done, with their rows."""
    path = os.environ.get("STUDIO_PARALLEL_RESUME_FROM")
    if not path or not os.path.exists(path):
        return set()
    earlier = {}
    with open(path) as records:
        for line in records:
            try:
                record = json.loads(line)
            except ValueError:  # a line the earlier attempt was cut short writing
                continue
            earlier[(record["index"], record["key"])] = record
    reused = set()
    for batch in batches:
        record = earlier.get((batch.index, batch.key))
        if record is None or record["items"] != batch.items:
            continue
        reused.add(batch.index)
        tally.reused.add(batch.index)
        tally.done += 1
        tally.succeeded.add(batch.index)
        tally.failed_items += max(0, batch.items - record["count"])
        if settings["output_action"] == "append_row":
            tally.rows[batch.index] = record["rows"]
        _record(batch, record["count"], record["rows"])
    return reused


def run(job: dict) -> int:
    settings = job["settings"]
    started = time.monotonic()
    batches = partition(job)
    total = len(batches)
    print(f"ParallelRunStep: {total} mini-batches of {sum(b.items for b in batches)} items")
    if RESULTS.exists():
        RESULTS.unlink()
    tally = _Tally()
    reused = _resumed(batches, tally, settings)
    if reused:
        print(f"resumed: {len(reused):,} of {total:,} mini-batches reused")
    work: queue.Queue = queue.Queue()
    for batch in batches:
        if batch.index not in reused:
            work.put(batch)
    env = dict(os.environ)
    env["STUDIO_PARALLEL_OUTPUT_DIR"] = job.get("output_dir") or ""
    env["STUDIO_PARALLEL_LOG_DIR"] = str(LOGS.resolve() / "user")
    env["STUDIO_PARALLEL_WORKING_DIR"] = os.getcwd()
    env["STUDIO_PARALLEL_LOGGING_LEVEL"] = settings["logging_level"]
    count = min(settings["process_count_per_node"], work.qsize())
    processes = [_Process(n, job, env) for n in range(count)]
    threads = [
        threading.Thread(target=_serve, args=(p, work, tally, settings, total), daemon=True)
        for p in processes
    ]
    for thread in threads:
        thread.start()
    shown = None
    while any(t.is_alive() for t in threads):
        deadline = time.monotonic() + PROGRESS_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with tally.lock:
            now = (tally.done, tally.failed, tally.retried, tally.processed_items)
        if now != shown and any(t.is_alive() for t in threads):
            shown = now
            rate = now[3] / max(time.monotonic() - started, 1e-9)
            print(
                f"progress: {now[0] + now[1]} of {total} mini-batches: {now[0]} done, "
                f"{now[1]} failed, {now[2]} retried ({rate:.1f} items/s)",
                flush=True,
            )
    for proc in processes:
        proc.stop()
    elapsed = time.monotonic() - started
    if tally.abort is None and tally.done + tally.failed < total:
        tally.abort = "the processes ended before every mini-batch was run"
    if tally.abort is None:
        tally.abort = _over_threshold(settings, tally, total)
    if settings["output_action"] == "append_row" and job.get("output_dir"):
        target = Path(job["output_dir"]) / settings["append_row_file_name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w") as out:
            for index in sorted(tally.rows):
                for row in tally.rows[index]:
                    out.write(row + "\n")
    _report(batches, tally, elapsed)
    if tally.abort is not None:
        print(f"ParallelRunStep failed: {tally.abort}", file=sys.stderr)
        return 1
    return 0


def _report(batches: list[_Batch], tally: _Tally, elapsed: float) -> None:
    rate = tally.processed_items / elapsed if elapsed > 0 else 0.0
    summary = (
        f"{len(batches)} mini-batches: {tally.done} done, {tally.failed} failed, "
        f"{tally.retried} retried; {tally.processed_items} items in {elapsed:.1f} s "
        f"({rate:.1f} items/s)"
    )
    print(f"ParallelRunStep: {summary}")
    LOGS.mkdir(exist_ok=True)
    shares = [
        f"process{number:03d}: {batches} mini-batches, {items} items"
        for number, (batches, items) in sorted(tally.by_process.items())
    ]
    (LOGS / "job_progress_overview.txt").write_text("\n".join([summary, *shares]) + "\n")
    report = LOGS / "sys" / "job_report" / "processed_mini-batches.csv"
    report.parent.mkdir(parents=True, exist_ok=True)
    failed = dict(tally.failures)
    with open(report, "w") as out:
        out.write("index,items,tries,status\n")
        for batch in batches:
            status = (
                "reused"
                if batch.index in tally.reused
                else "done"
                if batch.index in tally.succeeded
                else "failed"
                if batch.index in failed
                else "not run"
            )
            out.write(f"{batch.index},{batch.items},{batch.tries},{status}\n")
    if tally.failures:
        with open(LOGS / "job_error.txt", "w") as out:
            for index, error in sorted(tally.failures):
                out.write(f"mini-batch {index}:\n{error}\n")


if __name__ == "__main__":
    sys.exit(run(json.loads(sys.argv[1])))
