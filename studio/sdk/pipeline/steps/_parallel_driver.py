"""The process a ParallelRunStep's entry script runs in: ``python -m
studio.sdk.pipeline.steps._parallel_driver <entry_script> [arguments]``.

It imports the entry script, calls ``init()`` once, then reads mini-batches, one JSON object a
line, on standard input, calls ``run(mini_batch)`` for each and answers one JSON object a line:
``{"index", "ok": true, "count", "rows"}`` (``rows``: the lines append_row writes, in order) or
``{"index", "ok": false, "error"}``. A mini-batch is ``{"index", "files": [paths]}`` (run() gets
the list), ``{"index", "table": {"file", "options", "bytes": [start, stop]}}`` (a delimited
file's byte range) or ``{"index", "table": {"files", "options", "start", "stop"}}`` (rows of
another table): run() gets those rows as a DataFrame. The answers go to the standard output
the driver was started with; what the script prints goes to standard error (the process's
log). ``sys.argv`` is the entry script
and its arguments, as the script would see them run on its own.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

USER_MODULES = str(Path(__file__).resolve().parent / "_parallel_user")


def _load(script: str):
    folder = os.path.dirname(os.path.abspath(script))
    sys.path[:0] = [folder, USER_MODULES]
    name = Path(script).stem
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot import the entry script {script}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise AttributeError(f"The entry script {script} has no run(mini_batch) function.")
    return module


class _Tables:
    """A TabularDataset's rows: a delimited file's byte range read on its own; another table
    read once per process and sliced per mini-batch."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._frame: Any = None

    def rows(self, table: dict):
        from studio.core.tabular import read_range

        if "keys" in table:
            frame = self._whole(table)
            chosen = None
            for column, value in table["keys"].items():
                match = frame[column].astype(str) == value
                chosen = match if chosen is None else chosen & match
            return frame[chosen].reset_index(drop=True)
        if "file" in table:
            start, stop = table["bytes"]
            return read_range(table["file"], table.get("options", {}), start, stop)
        return self._whole(table).iloc[table["start"] : table["stop"]].reset_index(drop=True)

    def _whole(self, table: dict):
        from studio.core.tabular import read_table

        key = json.dumps([table["files"], table.get("options", {})], sort_keys=True)
        if key != self._key:
            self._frame, self._key = read_table(table["files"], table.get("options", {})), key
        return self._frame


class MiniBatchContext:
    """What ``run(mini_batch, mini_batch_context)`` is told of its mini-batch: with
    ``partition_keys``, the keys' values it holds (``partition_key_value``)."""

    def __init__(self, batch: dict) -> None:
        self.partition_key_value: dict = dict(batch.get("partition_key_value") or {})
        self.minibatch_index: int = batch["index"]


def _takes_two(function) -> bool:
    """Whether run() takes the mini-batch's context after the mini-batch."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


def _rows(result) -> list[str]:
    """run()'s result as the lines append_row writes: a DataFrame's rows space-separated, a
    list's items one a line."""
    if result is None:
        raise TypeError("run(mini_batch) returned None: return a list or a pandas DataFrame.")
    if hasattr(result, "to_csv") and hasattr(result, "columns"):
        text = result.to_csv(sep=" ", header=False, index=False)
        return text.splitlines()
    if isinstance(result, (list, tuple)):
        return [str(item) for item in result]
    raise TypeError(
        f"run(mini_batch) returned {type(result).__name__}: return a list or a pandas DataFrame."
    )


def _own_frames() -> str:
    """The exception being handled, its traceback from the entry script's frames on (not this
    driver's)."""
    kind, error, frames = sys.exc_info()
    while frames is not None and frames.tb_frame.f_code.co_filename == __file__:
        frames = frames.tb_next
    return "".join(traceback.format_exception(kind, error, frames))


def main(argv: list[str]) -> int:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the script's prints go to the log, not among the answers
    sys.stdout = sys.stderr
    level = os.environ.get("STUDIO_PARALLEL_LOGGING_LEVEL", "INFO")
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    sys.argv = list(argv)
    try:
        module = _load(argv[0])
        if callable(getattr(module, "init", None)):
            module.init()
    except BaseException:
        answers.write(json.dumps({"init_error": _own_frames()}) + "\n")
        return 1
    answers.write(json.dumps({"ready": os.getpid()}) + "\n")
    tables = _Tables()
    wants_context = _takes_two(module.run)
    for line in sys.stdin:
        if not line.strip():
            continue
        batch = json.loads(line)
        try:
            mini_batch = tables.rows(batch["table"]) if "table" in batch else batch["files"]
            if wants_context:
                rows = _rows(module.run(mini_batch, MiniBatchContext(batch)))
            else:
                rows = _rows(module.run(mini_batch))
            answer = {"index": batch["index"], "ok": True, "count": len(rows), "rows": rows}
        except Exception:
            answer = {"index": batch["index"], "ok": False, "error": _own_frames()}
        answers.write(json.dumps(answer) + "\n")
    shutdown = getattr(module, "shutdown", None)
    if callable(shutdown):
        shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
