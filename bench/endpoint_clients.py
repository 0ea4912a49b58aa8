"""The load clients of endpoint_load.py and what their answers add up to: threads that POST (or
GET) for a while, their latencies and statuses, and gunicorn's own view from its access log."""

from __future__ import annotations

import collections
import json
import random
import statistics
import threading
import time
import uuid
from pathlib import Path

import requests


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def load(
    url: str,
    token: str,
    clients: int,
    duration: float,
    experiment: str,
    key_every: int,
    method: str = "POST",
    rate: float = 0.0,
) -> tuple[list[tuple], float]:
    """``clients`` threads for ``duration`` seconds. Closed loop by default: each client sends
    its next request as soon as the last one is answered. With ``rate`` > 0, open loop: each
    client sends ``rate`` requests a second at fixed times (a random phase per client), and
    latency counts from the time a request was due, so a late send is counted too."""
    nonce = uuid.uuid4().hex[:8]
    results: list[tuple] = []  # (t_start, latency, status, run id, key, error)
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    state = {"deadline": 0.0}

    def client(i: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        body = json.dumps({"ExperimentName": experiment})
        mine = []
        barrier.wait()
        k = 0
        phase = random.random() / rate if rate > 0 else 0.0
        begin = time.perf_counter()
        while time.perf_counter() < state["deadline"]:
            due = None
            if rate > 0:
                due = begin + phase + k / rate
                if due >= state["deadline"]:
                    break
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            headers = {"Content-Type": "application/json"}
            key = None
            if key_every and k % key_every == key_every - 1:
                key = f"{nonce}-{k // key_every}"
                headers["Idempotency-Key"] = key
            t0 = time.perf_counter() if due is None else due
            try:
                if method == "POST":
                    r = session.post(url, data=body, headers=headers, timeout=60)
                else:
                    r = session.get(url, timeout=60)
                latency = time.perf_counter() - t0
                run_id = r.json().get("Id") if r.status_code == 200 and method == "POST" else None
                mine.append(
                    (t0, latency, r.status_code, run_id, key, None if r.ok else r.text[:300])
                )
            except Exception as exc:  # counted, never fatal
                mine.append((t0, time.perf_counter() - t0, 0, None, key, repr(exc)[:300]))
            k += 1
        session.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    state["deadline"] = time.perf_counter() + duration
    t_begin = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t_begin
    return results, elapsed


def summarize(results: list[tuple], elapsed: float) -> dict:
    ok = [r for r in results if r[2] == 200]
    lat = [r[1] for r in results]
    statuses = collections.Counter(r[2] for r in results)
    out = {
        "requests": len(results),
        "ok": len(ok),
        "statuses": dict(statuses),
        "elapsed": elapsed,
        "rps": len(results) / elapsed,
        "ok_rps": len(ok) / elapsed,
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "p99": pct(lat, 99),
        "max": max(lat),
        "mean": statistics.fmean(lat),
        "errors": collections.Counter(r[5] for r in results if r[5]).most_common(5),
    }
    unkeyed = [r[1] for r in results if r[4] is None]
    if unkeyed:
        out["unkeyed_p50"], out["unkeyed_p95"] = pct(unkeyed, 50), pct(unkeyed, 95)
    return out


def server_latencies(access_log: Path, offset: int) -> tuple[list[float], int]:
    text = access_log.read_bytes()[offset:].decode(errors="replace")
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "POST" and "/PipelineSubmit/" in parts[1]:
            out.append(int(parts[3]) / 1e6)
    return out, offset + len(text.encode())
