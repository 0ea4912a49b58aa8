"""A ParallelRunStep's mini-batches in the database, shared by the workers that run the step.

The first worker (the one that claimed the step) partitions the inputs and :func:`plan` stores
the mini-batches, reusing those an earlier attempt of the same step did; it then rings for
``node_count - 1`` more workers of the step's compute target (:data:`RUN_PART`). Every worker
runs ``process_count_per_node`` processes that :func:`claim` mini-batches a few at a time, each
with its try number, and :func:`report` how each went: a report whose try is no longer the
mini-batch's (it was claimed again after its worker went quiet) changes nothing, so no
mini-batch is counted twice. A worker's running mini-batches are kept alive by :func:`beat`;
those of a worker silent for ``STUDIO_WORKER_LOST_SECONDS`` are claimed by another.

:class:`Feed` is a worker's end of the pipe pair its sandboxed ``_parallel_run`` talks on.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone

from runs.models import MiniBatch, StepRun
from studio.core.parallel import (
    DONE,
    FAILED,
    PENDING,
    REUSED,
    RUNNING,
    after_failure,
    over_threshold,
)
from studio.core.status import Status
from studio.workspace import outages

log = logging.getLogger("studio.worker")
_T = TypeVar("_T")

RUN_PART = "runs.run_parallel_part"  # a task: (step id, attempt, node number)
_GOING = (Status.PREPARING, Status.RUNNING)


def _batches(step_id: str, attempt: int):
    return MiniBatch.objects.filter(step_id=step_id, step_attempt=attempt)


def plan(step: StepRun, batches: list[dict]) -> dict:
    """Store the attempt's mini-batches (once: a second call finds them); those an earlier
    attempt of this step, or a failed or canceled step with the same fingerprint (the same
    inputs and code), did are taken as done, with their rows. Returns ``total`` and
    ``reused``."""
    with transaction.atomic():
        existing = _batches(step.id, step.attempt)
        if existing.exists():
            return {"total": existing.count(), "reused": existing.filter(status=REUSED).count()}
        wanted = {(b["index"], b["key"], b["items"]): b for b in batches}
        earlier: dict[tuple, tuple[int, str]] = {}
        for row in (
            MiniBatch.objects.filter(step_id__in=_earlier_steps(step), status__in=(DONE, REUSED))
            .exclude(step_id=step.id, step_attempt=step.attempt)
            .values_list("index", "key", "items", "count", "rows")
            .iterator(chunk_size=100)
        ):
            if row[:3] in wanted and row[:3] not in earlier:
                earlier[row[:3]] = (row[3] or 0, row[4])
        now = timezone.now()
        rows = []
        for batch in batches:
            done = earlier.get((batch["index"], batch["key"], batch["items"]))
            rows.append(
                MiniBatch(
                    step_id=step.id,
                    step_attempt=step.attempt,
                    index=batch["index"],
                    key=batch["key"],
                    items=batch["items"],
                    message=batch["message"],
                    status=REUSED if done else PENDING,
                    count=done[0] if done else None,
                    rows=done[1] if done else "",
                    ended_at=now if done else None,
                )
            )
        MiniBatch.objects.bulk_create(rows, batch_size=500)
    return {"total": len(rows), "reused": len(earlier)}


def _earlier_steps(step: StepRun) -> list[str]:
    """This step run (its earlier attempts), and the latest failed or canceled step runs with
    its fingerprint."""
    ids = [step.id]
    if step.fingerprint:
        ids += list(
            StepRun.objects.filter(
                fingerprint=step.fingerprint, status__in=[Status.FAILED, Status.CANCELED]
            )
            .exclude(id=step.id)
            .order_by("-ended_at")
            .values_list("id", flat=True)[:5]
        )
    return ids


def progress(step_id: str, attempt: int) -> dict:
    """The counts of the attempt's mini-batches: ``total``, ``done`` (reused among them),
    ``reused``, ``failed``, ``running``, ``pending``, ``retried`` (tries beyond the first),
    ``items`` (of done ones), ``failed_items``, ``started``/``ended`` (first claim, last end)."""
    counts = _batches(step_id, attempt).aggregate(
        total=Count("id"),
        done=Count("id", filter=Q(status__in=(DONE, REUSED))),
        reused=Count("id", filter=Q(status=REUSED)),
        failed=Count("id", filter=Q(status=FAILED)),
        running=Count("id", filter=Q(status=RUNNING)),
        pending=Count("id", filter=Q(status=PENDING)),
        retried=Sum(F("tries") - 1, filter=Q(tries__gt=1)),
        done_items=Sum("items", filter=Q(status=DONE)),
        reused_items=Sum("items", filter=Q(status=REUSED)),
        lost_items=Sum("items", filter=Q(status=FAILED)),
        short_items=Sum(
            F("items") - F("count"), filter=Q(status__in=(DONE, REUSED), count__lt=F("items"))
        ),
        started=Min("claimed_at"),
        ended=Max("ended_at", filter=Q(status__in=(DONE, FAILED))),
    )
    for name in ("retried", "done_items", "reused_items", "lost_items", "short_items"):
        counts[name] = counts[name] or 0
    counts["items"] = counts.pop("done_items")
    counts["failed_items"] = counts.pop("lost_items") + counts.pop("short_items")
    return counts


def stop_reason(step_id: str, attempt: int, parallel: dict, counts: dict) -> str | None:
    """Why no more mini-batches of the attempt are to be run: the step is no longer this
    attempt's, or its failures are beyond its thresholds."""
    row = StepRun.objects.filter(id=step_id).values_list("status", "attempt").first()
    if row is None or row[0] not in _GOING or row[1] != attempt:
        return "the step was canceled or ended"
    return over_threshold(parallel, counts["failed_items"], counts["failed"], counts["total"])


def claim(step_id: str, attempt: int, worker: str, wanted: int) -> list[dict]:
    """Up to ``wanted`` mini-batches for this worker: waiting ones, or running ones whose
    worker went quiet, lowest index first, each with its new try number. The rows are locked
    as they are read (ones another worker is taking are passed over), so a single UPDATE
    takes them all."""
    now = timezone.now()
    lost = now - timedelta(seconds=settings.STUDIO_WORKER_LOST_SECONDS)
    with transaction.atomic():
        found = list(
            _batches(step_id, attempt)
            .filter(Q(status=PENDING) | Q(status=RUNNING, heartbeat_at__lt=lost))
            .order_by("index")
            .select_for_update(skip_locked=True)
            .values("id", "tries", "index", "items", "message")[:wanted]
        )
        if found:
            MiniBatch.objects.filter(id__in=[batch["id"] for batch in found]).update(
                status=RUNNING,
                tries=F("tries") + 1,
                worker=worker,
                process=None,
                claimed_at=now,
                heartbeat_at=now,
            )
    return [
        {
            "row": batch["id"],
            "index": batch["index"],
            "items": batch["items"],
            "message": batch["message"],
            "tries": batch["tries"] + 1,
        }
        for batch in found
    ]


def report(reports: list[dict], run_max_try: int) -> None:
    """How tries went (``row``, ``tries``, ``ok``, ``process``; ``count`` and ``rows``, or
    ``error``): each changes its mini-batch only if that try is still the mini-batch's. The
    successes are written in one statement."""
    now = timezone.now()
    with transaction.atomic():
        current = dict(
            MiniBatch.objects.filter(id__in=[item["row"] for item in reports], status=RUNNING)
            .order_by("id")
            .select_for_update()
            .values_list("id", "tries")
        )
        done = []
        for item in reports:
            if current.get(item["row"]) != item["tries"]:
                continue  # claimed again since, or ended
            if item["ok"]:
                done.append(
                    MiniBatch(
                        id=item["row"],
                        status=DONE,
                        count=item["count"],
                        rows="\n".join(item.get("rows") or []),
                        process=item["process"],
                        ended_at=now,
                        heartbeat_at=now,
                    )
                )
                continue
            # A failed try: tried again (by any worker) or failed for good.
            MiniBatch.objects.filter(id=item["row"]).update(
                status=after_failure(_failures(item["row"]) + 1, run_max_try),
                failures=F("failures") + 1,
                error=item["error"],
                process=item["process"],
                ended_at=now,
            )
        MiniBatch.objects.bulk_update(
            done, ["status", "count", "rows", "process", "ended_at", "heartbeat_at"], batch_size=200
        )


def active_workers(step_id: str, attempt: int) -> set[str]:
    """The workers running the attempt's mini-batches now or lately."""
    lately = timezone.now() - timedelta(seconds=settings.STUDIO_WORKER_LOST_SECONDS)
    return set(
        _batches(step_id, attempt)
        .filter(Q(status=RUNNING) | Q(ended_at__gte=lately))
        .exclude(worker="")
        .values_list("worker", flat=True)
        .distinct()
    )


def _failures(row: int) -> int:
    return MiniBatch.objects.filter(id=row).values_list("failures", flat=True).first() or 0


def release(step_id: str, attempt: int, claimed: list[dict]) -> None:
    """Mini-batches claimed and not begun, given back (their try not counted)."""
    with transaction.atomic():
        for item in claimed:
            MiniBatch.objects.filter(id=item["row"], status=RUNNING, tries=item["tries"]).update(
                status=PENDING, tries=item["tries"] - 1
            )


def beat(step_id: str, attempt: int, worker: str) -> None:
    """This worker's running mini-batches are alive. Rows locked now are being reported (or
    claimed again) and left out: an UPDATE of them all would lock them in its own order and
    could deadlock with the report's transaction, which locks them in the report's order."""
    with transaction.atomic():
        alive = list(
            _batches(step_id, attempt)
            .filter(status=RUNNING, worker=worker)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)
        )
        if alive:
            MiniBatch.objects.filter(id__in=alive).update(heartbeat_at=timezone.now())


def results(step_id: str, attempt: int) -> Iterator[dict]:
    """Every mini-batch of the attempt, in order, with the rows run() returned."""
    for batch in (
        _batches(step_id, attempt)
        .order_by("index")
        .values("index", "items", "tries", "status", "count", "rows", "error", "worker", "process")
        .iterator(chunk_size=20)
    ):
        rows = batch.pop("rows")
        yield {**batch, "rows": rows.split("\n") if rows else []}


def by_worker(step_id: str, attempt: int) -> list[dict]:
    """Per worker: mini-batches done and failed, items done, running now."""
    return list(
        _batches(step_id, attempt)
        .exclude(worker="")
        .values("worker")
        .annotate(
            done=Count("id", filter=Q(status=DONE)),
            failed=Count("id", filter=Q(status=FAILED)),
            running=Count("id", filter=Q(status=RUNNING)),
            done_items=Sum("items", filter=Q(status=DONE)),
        )
        .order_by("worker")
    )


def failed_batches(step_id: str, attempt: int, limit: int = 50) -> list[dict]:
    """The mini-batches that failed every try, with their items and last error."""
    return list(
        _batches(step_id, attempt)
        .filter(status=FAILED)
        .order_by("index")
        .values("index", "items", "tries", "worker", "error", "message")[:limit]
    )


class Feed:
    """A worker's end of the pipe pair its ``_parallel_run`` asks for mini-batches on (JSON
    lines: ``plan``/``batches``/``planned``, ``claim``, ``report``, ``stop``, ``results``).
    Reports are written down together, at the latest before the next claim and every
    :data:`FLUSH_SECONDS`, so that a mini-batch costs no database commit of its own."""

    FLUSH_SECONDS = 0.2
    # A worker busy with this step may have taken a message for another: while fewer workers
    # than node_count share the mini-batches, the first worker's feed rings again this often.
    RING_AGAIN_SECONDS = 3.0

    def __init__(
        self,
        step: StepRun,
        parallel: dict,
        worker: str,
        ring: Callable[[int], None] | None = None,
    ) -> None:
        self.step_id, self.attempt = step.id, step.attempt
        self.step = step
        self.parallel = parallel
        self.worker = worker
        self.ring = ring  # (the first worker's) asks for this many more workers
        self._to_child = os.pipe()
        self._from_child = os.pipe()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._rung = 0.0

    @property
    def child_fds(self) -> tuple[int, int]:
        """The descriptors the child reads answers from and writes requests to."""
        return self._to_child[0], self._from_child[1]

    def started(self) -> None:
        """Once the child runs: close its ends here, and serve it."""
        os.close(self._to_child[0])
        os.close(self._from_child[1])
        self._thread = threading.Thread(target=self._serve, name="parallel-feed", daemon=True)
        self._thread.start()
        threading.Thread(target=self._beat, name="parallel-beat", daemon=True).start()

    def close(self) -> None:
        """After the child ended (or never started)."""
        self._stop.set()
        if self._thread is None:
            for fd in (*self._to_child, *self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            return
        self._thread.join(timeout=30)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(settings.STUDIO_HEARTBEAT_SECONDS):
                try:
                    beat(self.step_id, self.attempt, self.worker)
                except Exception:  # a passing database error: the next beat tries again
                    log.warning("could not keep mini-batches alive", exc_info=True)
        finally:
            connection.close()

    def _serve(self) -> None:
        requests = os.fdopen(self._from_child[0], "r")
        answers = os.fdopen(self._to_child[1], "w")
        planned: list[dict] = []
        owed: list[dict] = []
        flushed = time.monotonic()

        def flush() -> None:
            nonlocal flushed
            if owed:
                self._trying(lambda: report(owed, self.parallel["run_max_try"]), "mini-batches")
                owed.clear()
            flushed = time.monotonic()

        def answer(message: dict) -> None:
            answers.write(json.dumps(message) + "\n")
            answers.flush()

        try:
            for line in requests:
                request = json.loads(line)
                op = request["op"]
                if op == "report":
                    owed.append(request)
                    if time.monotonic() - flushed >= self.FLUSH_SECONDS:
                        flush()
                elif op == "claim":
                    flush()
                    wanted = request["n"]
                    answer(self._trying(lambda n=wanted: self._claim(n), "a claim"))
                elif op == "batches":
                    planned += request["batches"]
                elif op == "planned":
                    batches = planned
                    answer(self._trying(lambda b=batches: plan(self.step, b), "mini-batches"))
                    planned = []
                    if self.ring is not None and self.parallel["node_count"] > 1:
                        self.ring(self.parallel["node_count"] - 1)
                        self._rung = time.monotonic()
                elif op == "stop":
                    flush()
                    release(self.step_id, self.attempt, request.get("release", []))
                elif op == "results":
                    flush()
                    for result in self._results():
                        answer(result)
                    answer({"end": True})
        except (BrokenPipeError, ValueError) as exc:  # the child ended mid-line
            log.info("the feed of step %s ended: %s", self.step_id, exc)
        except Exception:
            # The child sees its feed close, and the step fails saying so.
            log.exception("the feed of step %s failed", self.step_id)
        finally:
            try:
                flush()
            except Exception:
                log.warning("could not record the last mini-batches", exc_info=True)
            for stream in (requests, answers):
                try:
                    stream.close()
                except OSError:
                    pass
            connection.close()

    @staticmethod
    def _trying(write: Callable[[], _T], what: str) -> _T:
        """While the database refuses writes for a while, the processes wait for it."""
        return outages.keep_trying(write, what, give_up_after=settings.STUDIO_RECORD_RETRY_SECONDS)

    def _claim(self, wanted: int) -> dict:
        counts = progress(self.step_id, self.attempt)
        shown = {
            "done": counts["done"],
            "failed": counts["failed"],
            "retried": counts["retried"],
            "items": counts["items"],
            "total": counts["total"],
        }
        stop = stop_reason(self.step_id, self.attempt, self.parallel, counts)
        if stop is not None:
            return {"stop": stop, "progress": shown}
        active = active_workers(self.step_id, self.attempt)
        if self.worker not in active and len(active) >= self.parallel["node_count"]:
            return {"end": True, "progress": shown}  # node_count workers have the step
        found = claim(self.step_id, self.attempt, self.worker, wanted)
        missing = self.parallel["node_count"] - len(active | {self.worker})
        if (
            self.ring is not None
            and missing > 0
            and counts["pending"] > len(found)
            and time.monotonic() - self._rung >= self.RING_AGAIN_SECONDS
        ):
            self._rung = time.monotonic()
            self.ring(missing)
        if found:
            return {"batches": found, "progress": shown}
        if counts["pending"] or counts["running"]:
            return {"batches": [], "progress": shown}  # running elsewhere: ask again
        return {"end": True, "progress": shown}

    def _results(self) -> Iterator[dict]:
        # Asked once this worker's processes ended: every mini-batch has ended, or the step
        # stops (what still runs elsewhere is then not run).
        yield from results(self.step_id, self.attempt)


def summary(step: StepRun, failed_limit: int = 50) -> dict | None:
    """What the step's pages and API show of a ParallelRunStep's latest attempt that has
    mini-batches: the counts, items per second, each worker's share, the failed mini-batches
    with their items and errors. None for another kind of step."""
    attempt = (
        MiniBatch.objects.filter(step_id=step.id)
        .order_by("-step_attempt")
        .values_list("step_attempt", flat=True)
        .first()
    )
    if attempt is None:
        return None
    counts = progress(step.id, attempt)
    started, ended = counts.pop("started"), counts.pop("ended")
    going = step.status in _GOING and attempt == step.attempt
    until = timezone.now() if going else ended
    seconds = (until - started).total_seconds() if started and until else 0.0
    counts["items_per_second"] = round(counts["items"] / seconds, 2) if seconds > 0 else None
    failed = []
    for batch in failed_batches(step.id, attempt, failed_limit):
        message = batch.pop("message")
        table = message.get("table")
        batch["what"] = (
            [os.path.basename(f) for f in message.get("files", [])]
            if table is None
            else [f"rows {table['start']} to {table['stop'] - 1}"]
        )
        failed.append(batch)
    workers = [
        {**share, "items": share.pop("done_items") or 0} for share in by_worker(step.id, attempt)
    ]
    return {"attempt": attempt, **counts, "workers": workers, "failed_batches": failed}
