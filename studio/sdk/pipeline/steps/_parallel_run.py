"""A ParallelRunStep's run: ``python -m studio.sdk.pipeline.steps._parallel_run <job JSON>``,
the step's command in its sandbox, on each worker the step is spread over.

The mini-batches (``mini_batch_size`` files of a FileDataset or folder, or about
``mini_batch_size`` bytes of a TabularDataset's rows) come from a *source*. Under a Studio
worker it is the worker's feed (a pipe pair named by ``job["feed"]``): the first worker
partitions the inputs and the feed stores the mini-batches in the database, where every worker
of the step claims them a few at a time and reports how each went. Run on its own (no feed),
the mini-batches are kept in this process. Either way ``process_count_per_node`` driver
processes (``_parallel_driver``: ``init()`` once each) take a mini-batch at a time; a failed one
is tried again up to ``run_max_try`` times (``studio.core.parallel`` decides), one that takes
longer than ``run_invocation_timeout`` seconds has its process killed and started again, and
failures beyond ``error_threshold`` (items), ``allowed_failed_count`` or
``allowed_failed_percent`` (mini-batches) fail the step. When every mini-batch has ended, the
first worker writes, with ``append_row``, the rows run() returned, in mini-batch order, to
``append_row_file_name`` in the step's output.

Logs are laid out as Azure's: ``logs/user/stderr/<node>/processNNN.stderr.txt`` per process
(what the script prints and logs), ``logs/user/error/<node>/processNNN.txt`` (failed tries with
their tracebacks), ``logs/sys/job_report/processed_mini-batches.csv``,
``logs/job_error.txt`` and ``logs/job_progress_overview.txt``.
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
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from studio.core.parallel import DONE, FAILED, PENDING, REUSED, after_failure, over_threshold

LOGS = Path("logs")
PROGRESS_SECONDS = 2.0  # how often the step's log shows the counts while it runs
WAIT_SECONDS = 0.25  # how long a process waits before asking again while others still run
# Quick mini-batches are claimed more at a time, about this many seconds of this node's work
# (a claim is a round trip to the database), and never more than a share of what is left.
CLAIM_SECONDS = 0.5
MAX_CLAIM = 500


@dataclass
class _Batch:
    index: int
    message: dict
    items: int
    key: str = ""  # what the mini-batch holds, wherever the attempt laid the data out
    tries: int = 0
    failures: int = 0
    row: int | None = None  # its row in the database, when the worker's feed hands it out


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
    keys = job["settings"].get("partition_keys") or []
    for item in job["inputs"]:
        info = described.get(item["name"], {})
        if keys:
            batches += _keyed_batches(item["name"], info, keys, len(batches))
            continue
        if info.get("mode") == "direct":
            found = _table_batches(info["files"], info.get("options", {}), size, len(batches))
            for batch in found:
                table = batch.message["table"]
                where = (
                    [os.path.basename(table["file"]), *table["bytes"]]
                    if "file" in table
                    else [table["start"], table["stop"]]
                )
                batch.key = _key(item["name"], *where)
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


class PartitionError(ValueError):
    """The inputs cannot be split as the settings ask (the step fails saying why)."""


def _keyed_batches(name: str, info: dict, keys: list[str], first: int) -> list[_Batch]:
    """One mini-batch per value of ``partition_keys``: a TabularDataset's rows with those
    column values, or a FileDataset's files whose paths give those values (its
    ``partition_format``), in the values' order."""
    from studio.core import tabular

    options = info.get("options", {})
    if not info.get("files"):
        raise PartitionError(
            f"partition_keys needs its inputs to be datasets: input {name!r} is not."
        )
    groups: dict[tuple, list] = {}
    if info.get("mode") == "direct":
        frame = tabular.read_table(info["files"], options)
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise PartitionError(
                f"partition_keys {missing} are not columns of input {name!r} (its columns: "
                f"{', '.join(map(str, frame.columns))})."
            )
        for values, rows in frame.groupby(keys, sort=True, dropna=False).groups.items():
            values = values if isinstance(values, tuple) else (values,)
            groups[tuple(str(v) for v in values)] = [len(rows)]
    else:
        layout = options.get("partition_format")
        if not layout:
            raise PartitionError(
                f"partition_keys needs input {name!r} to be a dataset made with a "
                "partition_format naming those keys."
            )
        for path in sorted(info["files"]):
            try:
                found = tabular.partition_values(path, layout)
            except ValueError as exc:
                raise PartitionError(str(exc)) from None
            missing = [k for k in keys if k not in found]
            if missing:
                raise PartitionError(
                    f"partition_keys {missing} are not keys of input {name!r}'s "
                    f"partition_format {layout!r}."
                )
            groups.setdefault(tuple(str(found[k]) for k in keys), []).append(path)
    batches: list[_Batch] = []
    for values in sorted(groups):
        index = first + len(batches)
        key_values = dict(zip(keys, values, strict=True))
        if info.get("mode") == "direct":
            table = {"files": info["files"], "options": options, "keys": key_values}
            message: dict = {"index": index, "table": table}
            items = groups[values][0]
        else:
            message = {"index": index, "files": groups[values]}
            items = len(groups[values])
        message["partition_key_value"] = key_values
        batches.append(_Batch(index, message, items, _key(name, key_values, items)))
    return batches


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _table_batches(files: list[str], options: dict, size: int, first: int) -> list[_Batch]:
    """Mini-batches of about ``size`` bytes of rows each: byte ranges of delimited files, read
    a block at a time (flat memory, whatever the table's size); row ranges of other tables
    (by their bytes per row)."""
    from studio.core import tabular

    batches: list[_Batch] = []
    if all(tabular.is_delimited(f, options) for f in files):
        for path in sorted(files):
            for start, stop, rows in tabular.byte_ranges(path, options, size):
                index = first + len(batches)
                where = {"file": path, "options": options, "bytes": [start, stop]}
                batches.append(_Batch(index, {"index": index, "table": where}, rows))
        return batches
    rows = len(tabular.read_table(files, options))
    total = sum(os.path.getsize(f) for f in files)
    per_batch = max(1, int(size // max(1.0, total / max(rows, 1))))
    for start in range(0, rows, per_batch):
        stop = min(rows, start + per_batch)
        index = first + len(batches)
        table = {"files": files, "options": options, "start": start, "stop": stop}
        batches.append(_Batch(index, {"index": index, "table": table}, stop - start))
    return batches


class _Process:
    """One driver process: started, given mini-batches (the next one already waiting in its
    input while it runs one, so that it never waits for this process), killed when stuck."""

    def __init__(self, number: int, job: dict, env: dict):
        self.number = number
        self.node = str(job.get("node", 0))
        self.job = job
        self.env = env
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self._buffer = bytearray()

    def start(self) -> str | None:
        """Start the driver; the init() error, if init() failed."""
        self.starts += 1
        self._buffer.clear()
        stderr = LOGS / "user" / "stderr" / self.node / f"process{self.number:03d}.stderr.txt"
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
                env=self.env,
            )
        first = self._answer(None)
        if first is None or "init_error" in first:
            self.stop()
            return (first or {}).get("init_error") or "the process ended before init() returned"
        return None

    def _answer(self, timeout: float | None) -> dict | None:
        """The driver's next answer; ``{"timeout": True}`` if none came within ``timeout``
        seconds, None if the driver ended. (Its output is read here, not through a buffered
        file, so that an answer already read is never waited for.)"""
        assert self.process is not None and self.process.stdout is not None
        stream = self.process.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            with selectors.DefaultSelector() as selector:
                selector.register(stream, selectors.EVENT_READ)
                if not selector.select(left):
                    return {"timeout": True}
            chunk = os.read(stream, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        end = self._buffer.index(b"\n")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return json.loads(line)

    def send(self, batch: _Batch) -> bool:
        """Give the driver a mini-batch; False if it has ended."""
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(batch.message).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def receive(self, timeout: float) -> dict:
        """How the mini-batch the driver runs now went (``timeout`` seconds from now at most)."""
        assert self.process is not None
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


class _Source:
    """Where the mini-batches come from and where how each went goes."""

    abort: str | None = None

    def next(self, wait: bool = True) -> _Batch | None:
        """A mini-batch to run; None when there is none left to run here (``wait``), or none
        to be had at once (not ``wait``)."""
        raise NotImplementedError

    def succeeded(self, batch: _Batch, process: int, count: int, rows: list[str]) -> None:
        raise NotImplementedError

    def failed(self, batch: _Batch, process: int, error: str) -> None:
        raise NotImplementedError

    def stop(self, reason: str) -> None:
        raise NotImplementedError

    def counts(self) -> dict:
        """``done``, ``failed``, ``retried``, ``items`` (processed) and ``total`` so far."""
        raise NotImplementedError

    def results(self) -> Iterator[dict]:
        """Every mini-batch once all have ended, in order: ``index``, ``items``, ``tries``,
        ``status``, ``count``, ``rows``, ``error``, ``worker``, ``process``."""
        raise NotImplementedError


class _Local(_Source):  # its next() never waits
    """The mini-batches kept in this process (run with no Studio worker)."""

    def __init__(self, batches: list[_Batch], settings: dict) -> None:
        self.batches = batches
        self.settings = settings
        self.work: queue.Queue = queue.Queue()
        for batch in batches:
            self.work.put(batch)
        self.lock = threading.Lock()
        self.ended: dict[int, dict] = {}
        self.retried = 0
        self.failures = 0  # mini-batches that failed every try
        self.failed_items = 0

    def next(self, wait: bool = True) -> _Batch | None:
        with self.lock:
            if self.abort:
                return None
        try:
            batch = self.work.get_nowait()
        except queue.Empty:
            return None
        batch.tries += 1
        return batch

    def _end(self, batch: _Batch, process: int, **result) -> None:
        self.ended[batch.index] = {
            "index": batch.index,
            "items": batch.items,
            "tries": batch.tries,
            "worker": "",
            "process": process,
            **result,
        }
        self.failures += result["status"] == FAILED
        self.abort = self.abort or over_threshold(
            self.settings, self.failed_items, self.failures, len(self.batches)
        )

    def succeeded(self, batch: _Batch, process: int, count: int, rows: list[str]) -> None:
        with self.lock:
            self.failed_items += max(0, batch.items - count)
            self._end(batch, process, status=DONE, count=count, rows=rows, error="")

    def failed(self, batch: _Batch, process: int, error: str) -> None:
        with self.lock:
            batch.failures += 1
            if after_failure(batch.failures, self.settings["run_max_try"]) == PENDING:
                self.retried += 1
                self.work.put(batch)
                return
            self.failed_items += batch.items
            self._end(batch, process, status=FAILED, count=0, rows=[], error=error)

    def stop(self, reason: str) -> None:
        with self.lock:
            self.abort = self.abort or reason

    def counts(self) -> dict:
        with self.lock:
            ended = list(self.ended.values())
        done = [r for r in ended if r["status"] == DONE]
        return {
            "done": len(done),
            "failed": len(ended) - len(done),
            "retried": self.retried,
            "items": sum(r["items"] for r in done),
            "total": len(self.batches),
        }

    def results(self) -> Iterator[dict]:
        for batch in self.batches:
            yield self.ended.get(
                batch.index,
                {
                    "index": batch.index,
                    "items": batch.items,
                    "tries": batch.tries,
                    "status": PENDING,
                    "count": 0,
                    "rows": [],
                    "error": "",
                    "worker": "",
                    "process": None,
                },
            )


class _Feed(_Source):
    """The mini-batches the Studio worker's feed hands out: requests and answers are JSON
    lines on a pipe pair. Mini-batches are claimed a few at a time (at least every
    process's next two; as many as this node runs in :data:`CLAIM_SECONDS` when they are
    quick, see :meth:`_claim_size`); how each went is told at once, and the worker writes
    these down together."""

    def __init__(self, fds: list[int], processes: int, nodes: int = 1) -> None:
        self.answers = os.fdopen(fds[0], "r")
        self.requests = os.fdopen(fds[1], "w")
        self.lock = threading.Lock()
        self.claimed: deque[_Batch] = deque()
        self.least = max(1, processes * 2)
        self.nodes = max(1, nodes)
        self.handed = 0  # mini-batches handed out since the last claim
        self.claimed_at: float | None = None
        self.empty_at = 0.0  # when a claim last found none to hand out
        self.over = False  # every mini-batch has ended
        self.last: dict = {"done": 0, "failed": 0, "retried": 0, "items": 0, "total": 0}

    def _claim_size(self) -> int:
        """How many to claim now: the mini-batches this node went through per second since the
        last claim, times CLAIM_SECONDS; at most half of what is left shared among the nodes,
        so that the step's last ones are not held by one node while the others wait."""
        if self.claimed_at is None or not self.handed:
            return self.least
        rate = self.handed / max(time.monotonic() - self.claimed_at, 1e-3)
        left = self.last["total"] - self.last["done"] - self.last["failed"]
        share = left // (2 * self.nodes)
        return max(self.least, min(MAX_CLAIM, int(rate * CLAIM_SECONDS), share))

    def _send(self, message: dict) -> None:
        self.requests.write(json.dumps(message) + "\n")
        self.requests.flush()

    def _ask(self, message: dict) -> dict:
        self._send(message)
        line = self.answers.readline()
        if not line:
            raise ConnectionError("the worker's feed closed")
        return json.loads(line)

    def plan(self, batches: list[_Batch]) -> dict:
        with self.lock:
            self._send({"op": "plan", "total": len(batches)})
            for start in range(0, len(batches), 500):
                chunk = [
                    {"index": b.index, "key": b.key, "items": b.items, "message": b.message}
                    for b in batches[start : start + 500]
                ]
                self._send({"op": "batches", "batches": chunk})
            return self._ask({"op": "planned"})

    def next(self, wait: bool = True) -> _Batch | None:
        while True:
            with self.lock:
                if self.abort or self.over:
                    return None
                if self.claimed:
                    self.handed += 1
                    return self.claimed.popleft()
                if not wait and time.monotonic() - self.empty_at < WAIT_SECONDS:
                    return None  # the last claim found none: not asked again so soon
                answer = self._ask({"op": "claim", "n": self._claim_size()})
                self.claimed_at, self.handed = time.monotonic(), 0
                self.last = answer.get("progress", self.last)
                if answer.get("stop"):
                    self.abort = self.abort or answer["stop"]
                    return None
                if answer.get("end"):
                    self.over = True
                    return None
                for found in answer.get("batches", []):
                    batch = _Batch(found["index"], found["message"], found["items"])
                    batch.row, batch.tries = found["row"], found["tries"]
                    self.claimed.append(batch)
                if self.claimed:
                    self.handed += 1
                    return self.claimed.popleft()
                self.empty_at = time.monotonic()
            if not wait:
                return None
            time.sleep(WAIT_SECONDS)  # the rest are being run elsewhere: one may come back

    def succeeded(self, batch: _Batch, process: int, count: int, rows: list[str]) -> None:
        report = {"row": batch.row, "tries": batch.tries, "ok": True, "count": count}
        with self.lock:
            self._send({"op": "report", **report, "process": process, "rows": rows})

    def failed(self, batch: _Batch, process: int, error: str) -> None:
        report = {"row": batch.row, "tries": batch.tries, "ok": False, "error": error}
        with self.lock:
            self._send({"op": "report", **report, "process": process})

    def stop(self, reason: str) -> None:
        with self.lock:
            self.abort = self.abort or reason
            # The mini-batches claimed here and not begun go back at once.
            unclaimed = [{"row": b.row, "tries": b.tries} for b in self.claimed]
            self.claimed.clear()
            self._send({"op": "stop", "reason": reason, "release": unclaimed})

    def counts(self) -> dict:
        return self.last

    def results(self) -> Iterator[dict]:
        with self.lock:
            self._send({"op": "results"})
            while True:
                line = self.answers.readline()
                if not line:
                    raise ConnectionError("the worker's feed closed")
                result = json.loads(line)
                if result.get("end"):
                    return
                yield result


IN_FLIGHT = 2  # mini-batches given to a driver at a time: the one it runs, the next


def _serve(proc: _Process, source: _Source, settings: dict) -> None:
    error_log = LOGS / "user" / "error" / proc.node / f"process{proc.number:03d}.txt"
    error_log.parent.mkdir(parents=True, exist_ok=True)
    init_error = proc.start()
    if init_error is not None:
        source.stop(f"init() failed:\n{init_error}")
        return
    given: deque[_Batch] = deque()  # sent to the driver, in the order it answers
    more = True
    while True:
        while more and len(given) < IN_FLIGHT:
            # Wait for work only when the driver has none; else take what there is now.
            batch = source.next(wait=not given)
            if batch is None:
                more = bool(given)  # waited, and there is none left for this process
                break
            given.append(batch)
            proc.send(batch)  # a driver that ended answers nothing: receive() says so
        if not given:
            break
        batch = given.popleft()
        answer = proc.receive(settings["run_invocation_timeout"])
        if answer.get("ok"):
            rows = answer["rows"] if settings["output_action"] == "append_row" else []
            source.succeeded(batch, proc.number, answer["count"], rows)
            continue
        with open(error_log, "a") as log:
            log.write(f"mini-batch {batch.index}, try {batch.tries}:\n{answer['error']}\n")
        source.failed(batch, proc.number, answer["error"])
        if answer.get("restart"):
            proc.stop()
            init_error = proc.start()
            if init_error is not None:
                source.stop(f"init() failed:\n{init_error}")
                break
            for waiting in given:  # sent to the process that ended: to the new one
                proc.send(waiting)
    proc.close()


def run(job: dict) -> int:
    settings = job["settings"]
    started = time.monotonic()
    planning = job.get("plan", True)
    processes_wanted = settings["process_count_per_node"] or os.cpu_count() or 1
    source: _Source
    if job.get("feed"):
        source = feed = _Feed(job["feed"], processes_wanted, settings.get("node_count") or 1)
        if planning:
            batches = _partitioned(job)
            if batches is None:
                return 1
            print(
                f"ParallelRunStep: {len(batches)} mini-batches of "
                f"{sum(b.items for b in batches)} items"
            )
            planned = feed.plan(batches)
            if planned["reused"]:
                print(f"resumed: {planned['reused']:,} of {planned['total']:,} mini-batches reused")
        count = processes_wanted
    else:
        batches = _partitioned(job)
        if batches is None:
            return 1
        print(
            f"ParallelRunStep: {len(batches)} mini-batches of {sum(b.items for b in batches)} items"
        )
        source = _Local(batches, settings)
        count = min(processes_wanted, len(batches))
    env = dict(os.environ)
    env["STUDIO_PARALLEL_OUTPUT_DIR"] = job.get("output_dir") or ""
    env["STUDIO_PARALLEL_LOG_DIR"] = str(LOGS.resolve() / "user")
    env["STUDIO_PARALLEL_WORKING_DIR"] = os.getcwd()
    env["STUDIO_PARALLEL_LOGGING_LEVEL"] = settings["logging_level"]
    processes = [_Process(n, job, env) for n in range(count)]
    threads = [
        threading.Thread(target=_serve, args=(p, source, settings), daemon=True) for p in processes
    ]
    for thread in threads:
        thread.start()
    shown = None
    while any(t.is_alive() for t in threads):
        deadline = time.monotonic() + PROGRESS_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        now = source.counts()
        if planning and now["total"] and now != shown and any(t.is_alive() for t in threads):
            shown = now
            rate = now["items"] / max(time.monotonic() - started, 1e-9)
            print(
                f"progress: {now['done'] + now['failed']} of {now['total']} mini-batches: "
                f"{now['done']} done, {now['failed']} failed, {now['retried']} retried "
                f"({rate:.1f} items/s)",
                flush=True,
            )
    for proc in processes:
        proc.stop()
    if not planning:
        return 0 if source.abort is None or not source.abort.startswith("init()") else 1
    return _finish(job, source, time.monotonic() - started)


def _partitioned(job: dict) -> list[_Batch] | None:
    try:
        return partition(job)
    except PartitionError as exc:
        print(f"ParallelRunStep failed: {exc}", file=sys.stderr)
        return None


def _finish(job: dict, source: _Source, elapsed: float) -> int:
    """Once every mini-batch has ended: the rows in the output, the reports in ``logs/``, and
    whether the step succeeded."""
    settings = job["settings"]
    abort = source.abort
    rows_file = None
    if settings["output_action"] == "append_row" and job.get("output_dir") and abort is None:
        target = Path(job["output_dir"]) / settings["append_row_file_name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        rows_file = open(target, "w")
    report = LOGS / "sys" / "job_report" / "processed_mini-batches.csv"
    report.parent.mkdir(parents=True, exist_ok=True)
    total = done = failed = reused = retried = items = failed_items = not_run = 0
    shares: dict[str, list[int]] = {}
    with open(report, "w") as csv, open(LOGS / "job_error.txt", "w") as errors:
        csv.write("index,items,tries,status,worker,process\n")
        for result in source.results():
            total += 1
            status = result["status"]
            retried += max(0, result["tries"] - 1)
            csv.write(
                f"{result['index']},{result['items']},{result['tries']},{status},"
                f"{result['worker']},{result['process'] if result['process'] is not None else ''}\n"
            )
            if status in (DONE, REUSED):
                done += 1
                reused += status == REUSED
                items += result["items"]
                failed_items += max(0, result["items"] - (result["count"] or 0))
                if rows_file is not None:
                    for row in result["rows"]:
                        rows_file.write(row + "\n")
                if status == DONE:
                    share = shares.setdefault(
                        f"{result['worker'] or 'node0'} process{result['process'] or 0:03d}", [0, 0]
                    )
                    share[0], share[1] = share[0] + 1, share[1] + result["items"]
            elif status == FAILED:
                failed += 1
                failed_items += result["items"]
                errors.write(f"mini-batch {result['index']}:\n{result['error']}\n")
            else:
                not_run += 1
    if rows_file is not None:
        rows_file.close()
    if abort is None and not_run:
        abort = f"{not_run} mini-batches were not run"
    abort = abort or over_threshold(settings, failed_items, failed, total)
    rate = items / elapsed if elapsed > 0 else 0.0
    summary = (
        f"{total} mini-batches: {done} done{f' ({reused} reused)' if reused else ''}, "
        f"{failed} failed, "
        f"{retried} retried; {items} items in {elapsed:.1f} s ({rate:.1f} items/s)"
    )
    print(f"ParallelRunStep: {summary}")
    lines = [f"{name}: {b} mini-batches, {n} items" for name, (b, n) in sorted(shares.items())]
    (LOGS / "job_progress_overview.txt").write_text("\n".join([summary, *lines]) + "\n")
    if abort is not None:
        if rows_file is not None:
            Path(rows_file.name).unlink(missing_ok=True)
        print(f"ParallelRunStep failed: {abort}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(json.loads(sys.argv[1])))
