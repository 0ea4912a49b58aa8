"""A ParallelRunStep's rules, wherever its mini-batches run (one process pool, or the workers
sharing them through the database): when a failed mini-batch is tried again, and when the
failures fail the step."""

from __future__ import annotations

# What a mini-batch is: waiting to be claimed, claimed by a worker, or ended.
PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
REUSED = "reused"  # done by an earlier attempt of the same step (same inputs and code)
ENDED = (DONE, FAILED, REUSED)


def after_failure(tries: int, run_max_try: int) -> str:
    """What becomes of a mini-batch whose ``tries``-th try failed: PENDING (tried again,
    anywhere) or FAILED."""
    return PENDING if tries < run_max_try else FAILED


def over_threshold(settings: dict, failed_items: int, failed: int, total: int) -> str | None:
    """Why the failures so far fail the step (None: they do not yet). ``failed_items`` counts
    the items of failed mini-batches and those run() returned no result for; ``failed`` the
    mini-batches that failed every try; ``total`` every mini-batch of the step."""
    threshold = settings["error_threshold"]
    if threshold != -1 and failed_items > threshold:
        return f"{failed_items} failed items is more than error_threshold {threshold}"
    count = settings.get("allowed_failed_count")
    if count is not None and count != -1 and failed > count:
        return f"{failed} failed mini-batches is more than allowed_failed_count {count}"
    percent = settings.get("allowed_failed_percent")
    if percent is not None and total and failed * 100 / total > percent:
        return (
            f"{failed} failed mini-batches of {total} is more than "
            f"allowed_failed_percent {percent:g}%"
        )
    return None
