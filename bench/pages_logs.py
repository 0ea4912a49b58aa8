"""The 1 GB log of pages_at_scale.py, in its child process: written at the step's log path,
opened at its tail (storage.read_log and the run page, from the page cache and not), searched
(runs.logsearch.search and GET /runs/<id>/search/) with the peak RSS watched, then deleted."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from pages_measure import COLD_REPEATS, LINE, NEEDLE, TAIL_TARGET_MS, explain, measure_pages, pct


def _rss_now_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak RSS (VmHWM)
        return True
    except OSError:
        return False


def _drop_from_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def write_log(path: Path, size: int) -> dict:
    """~size bytes of 100-byte lines, 1 in 500 an ERROR line, NEEDLE on 3 lines (10%, 50%, end)."""
    lines_per_block = 10_000
    lines = []
    for i in range(lines_per_block):
        if i % 500 == 250:
            body = f"ERROR worker-3 batch {i:05d} failed: CUDA out of memory (tried 2.00 GiB)"
        else:
            body = (
                f"INFO  epoch {i % 97:03d} batch {i:05d} loss=0.{(i * 7919) % 1000000:06d} "
                f"lr=0.001 samples/s={(i * 31) % 9000 + 1000}"
            )
        stamp = f"2024-05-01T12:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 1000000:06d}Z "
        line = (stamp + body)[: LINE - 1].ljust(LINE - 1) + "\n"
        lines.append(line.encode())
    block = b"".join(lines)
    blocks = max(1, size // len(block))
    needle_line = (
        f"2024-05-01T13:00:00.000000Z WARN  checkpoint {NEEDLE} written"[: LINE - 1].ljust(LINE - 1)
        + "\n"
    ).encode()
    needle_blocks = {blocks // 10, blocks // 2, blocks - 1}
    patched = block[: 5000 * LINE] + needle_line + block[5001 * LINE :]
    path.parent.mkdir(parents=True, exist_ok=True)
    offsets = []
    t = time.perf_counter()
    with open(path, "wb", buffering=0) as fh:
        for b in range(blocks):
            if b in needle_blocks:
                offsets.append(b * len(block) + 5000 * LINE)
                fh.write(patched)
            else:
                fh.write(block)
        os.fsync(fh.fileno())
    took = time.perf_counter() - t
    return {
        "bytes": blocks * len(block),
        "lines": blocks * lines_per_block,
        "write_s": took,
        "needle_offsets": offsets,
        "needle_lines": [o // LINE + 1 for o in offsets],
    }


def _search_once(logs, query: str) -> dict:
    import resource

    from runs import logsearch

    reset = _reset_peak_rss()
    rss_before = _rss_now_kb()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    first = None
    matches = []
    for match in logsearch.search(logs, query):
        if first is None:
            first = time.perf_counter() - t
        matches.append((match.line, match.offset))
    total = time.perf_counter() - t
    return {
        "first_match_s": first,
        "total_s": total,
        "matches": len(matches),
        "match_lines": [m[0] for m in matches],
        "rss_before_mb": rss_before / 1024,
        "peak_rss_during_mb": _hwm_kb() / 1024 if reset else None,
        "ru_maxrss_before_mb": maxrss_before / 1024,
        "ru_maxrss_after_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _read_log_tail(step, path: Path, n: int, logs: dict) -> None:
    """Opening at the tail, cold (the log evicted from the page cache), then warm. Cold:
    COLD_REPEATS times, the log evicted before each (one sample on a shared machine says
    little); the median is judged, the worst is shown."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from studio.workspace import storage

    cold = []
    for _ in range(COLD_REPEATS):
        _drop_from_page_cache(path)
        t = time.perf_counter()
        data, next_offset = storage.read_log(step.id, offset=-65536)
        cold.append((time.perf_counter() - t) * 1000)
        assert len(data) == 65536 and next_offset == path.stat().st_size
    logs["read_log_cold_ms"] = statistics.median(cold)
    logs["read_log_cold_max_ms"] = max(cold)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        storage.read_log(step.id, offset=-65536)
        times.append((time.perf_counter() - t) * 1000)
    with CaptureQueriesContext(connection) as ctx:
        storage.read_log(step.id, offset=-65536)
    logs["read_log"] = {
        "p50_ms": pct(times, 0.5),
        "p95_ms": pct(times, 0.95),
        "queries": len(ctx.captured_queries),
        "met": pct(times, 0.95) < TAIL_TARGET_MS and logs["read_log_cold_ms"] < TAIL_TARGET_MS,
    }
    print(
        f"  read_log(-65536): cold median {logs['read_log_cold_ms']:.2f} ms "
        f"(max {logs['read_log_cold_max_ms']:.2f}), "
        f"warm p50 {logs['read_log']['p50_ms']:.2f} ms p95 "
        f"{logs['read_log']['p95_ms']:.2f} ms",
        flush=True,
    )


def _run_page_tail(client, big, step, path: Path, n: int, logs: dict) -> None:
    """The run page with the step selected: cold COLD_REPEATS times, then timed like a page."""
    step_url = f"/runs/{big.id}/?step={step.id}&tab=logs"
    cold, cold_cpu = [], []
    for _ in range(COLD_REPEATS):
        _drop_from_page_cache(path)
        c, t = time.process_time(), time.perf_counter()
        response = client.get(step_url)
        cold.append((time.perf_counter() - t) * 1000)
        cold_cpu.append((time.process_time() - c) * 1000)
        assert response.status_code == 200
        assert b"Showing part of the log" in response.content
    logs["run_page_cold_ms"] = statistics.median(cold)
    logs["run_page_cold_max_ms"] = max(cold)
    logs["run_page_cold_cpu_ms"] = statistics.median(cold_cpu)
    (page,) = measure_pages(client, [("run page, 1 GB log selected (tail)", step_url)], n)
    page["target_ms"] = TAIL_TARGET_MS
    page["met"] = page["p95_ms"] < TAIL_TARGET_MS and logs["run_page_cold_ms"] < TAIL_TARGET_MS
    if page["slowest_sql"]:
        page["slowest_sql"]["plan"] = explain(page["slowest_sql"].pop("raw"))
    logs["run_page"] = page
    print(
        f"  run page with the log, cold: median {logs['run_page_cold_ms']:.1f} ms, "
        f"max {logs['run_page_cold_max_ms']:.1f} ms",
        flush=True,
    )


def _search_direct(step, path: Path, logs: dict) -> None:
    """runs.logsearch.search directly, cold then warm."""
    search_logs = [(step.id, step.name, path)]
    _drop_from_page_cache(path)
    logs["search_cold"] = _search_once(search_logs, NEEDLE)
    logs["search_warm"] = _search_once(search_logs, NEEDLE)
    for key in ("search_cold", "search_warm"):
        s = logs[key]
        print(
            f"  logsearch.search {key[7:]}: first match {s['first_match_s']:.2f} s, "
            f"total {s['total_s']:.2f} s, {s['matches']} matches, RSS "
            f"{s['rss_before_mb']:.0f} MB before, peak during "
            f"{s['peak_rss_during_mb']:.0f} MB",
            flush=True,
        )


def _search_http(client, big, logs: dict) -> None:
    """The search view, its StreamingHttpResponse consumed: first chunk, first match, total."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    search_url = f"/runs/{big.id}/search/?q={NEEDLE}"
    _reset_peak_rss()
    with CaptureQueriesContext(connection) as ctx:
        t = time.perf_counter()
        response = client.get(search_url)
        got_response = time.perf_counter() - t
        chunks = iter(response.streaming_content)
        first_chunk = next(chunks)
        first_chunk_s = time.perf_counter() - t
        first_match_s = None
        body = [first_chunk]
        for chunk in chunks:
            if first_match_s is None and b"<li" in chunk:
                first_match_s = time.perf_counter() - t
            body.append(chunk)
        total_s = time.perf_counter() - t
        response.close()
    html = b"".join(body)
    logs["search_http"] = {
        "response_s": got_response,
        "first_chunk_s": first_chunk_s,
        "first_match_chunk_s": first_match_s,
        "total_s": total_s,
        "matches": html.count(b"<li><a"),
        "queries": len(ctx.captured_queries),
        "peak_rss_during_mb": _hwm_kb() / 1024,
    }
    print(
        f"  GET search: first chunk {first_chunk_s * 1000:.1f} ms "
        f"({len(ctx.captured_queries)} queries), first match "
        f"{first_match_s:.2f} s, total {total_s:.2f} s",
        flush=True,
    )


def measure_logs(client, big, n: int, log_bytes: int, logs: dict, backend: str) -> None:
    """Everything about the big log of the first step of ``big`` (the 200-step run), into
    ``logs``; the log is deleted afterwards, errors included."""
    from studio.workspace import storage

    step = big.steps.order_by("position").first()
    path = storage.step_log_path(step.log_step_id)
    try:
        print(f"[{backend}] writing a {log_bytes / 2**30:.2f} GiB log ...", flush=True)
        logs["file"] = write_log(path, log_bytes)
        logs["file"]["path"] = str(path)
        logs["step_id"] = step.id
        print(
            f"  wrote {logs['file']['bytes'] / 2**30:.2f} GiB in {logs['file']['write_s']:.1f} s",
            flush=True,
        )
        _read_log_tail(step, path, n, logs)
        _run_page_tail(client, big, step, path, n, logs)
        _search_direct(step, path, logs)
        _search_http(client, big, logs)
    finally:
        path.unlink(missing_ok=True)
        logs["deleted"] = not path.exists()
