"""Where a submit's time goes, for endpoint_load.py: ``py-spy record`` on every gunicorn worker
during a load phase, the samples summarised by phase of the request, and the SQL statements of
one submit counted in-process (Django test client)."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING

from endpoint_clients import load, summarize

if TYPE_CHECKING:
    from tests.harness import Studio

PHASES = [
    # (label, frames that must all be on the stack); the first rule that matches a sample wins
    ("COMMIT (waiting for the WAL flush)", ["_commit (django/db/backends/base/base.py"]),
    (
        "after commit: advance_run again (2nd transaction)",
        ["dispatch (runs/services.py", "advance_run (runs/services.py"],
    ),
    (
        "after commit: decide_reuse (fingerprint, candidates)",
        ["dispatch (runs/services.py", "decide_reuse (runs/reuse.py"],
    ),
    (
        "after commit: apply_reuse UPDATE",
        ["dispatch (runs/services.py", "apply_reuse (runs/reuse.py"],
    ),
    ("after commit: dispatch, other (load the step)", ["dispatch (runs/services.py"]),
    (
        "submit_run: advance_run (lock run, queue step)",
        ["submit_run (runs/services.py", "advance_run (runs/services.py"],
    ),
    (
        "submit_run: validate_submission (re-validates the published graph)",
        ["validate_submission (runs/services.py"],
    ),
    ("submit_run: PipelineGraph.store (json + sha256 + SELECT)", ["store (pipelines/models.py"]),
    ("submit_run: other (experiment, count, INSERT run + steps)", ["submit_run (runs/services.py"]),
    ("submit_published: other (idempotency lookup)", ["submit_published (pipelines/services.py"]),
    ("auth: token SELECT + UPDATE last_used_at", ["authenticate (studio/auth.py"]),
    ("response: run_entity", ["run_entity (pipelines/api/"]),
    (
        "view: other (load PublishedPipeline, parse body)",
        ["PipelineSubmit.post (pipelines/api/views.py"],
    ),
    ("outside the view (gunicorn, middleware, DRF)", []),
]
DB_WAIT = ("wait (psycopg/connection.py", "_execute_send (psycopg/", "_exec_command (psycopg/")


def parse_collapsed(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        try:
            stacks.append((stack.split(";"), int(count)))
        except ValueError:
            continue
    return stacks


def summarize_profile(files: list[Path], top: int = 30) -> str:
    stacks = [s for f in files if f.exists() for s in parse_collapsed(f)]
    total = sum(c for _, c in stacks)
    if not total:
        return "no samples"
    request = [(s, c) for s, c in stacks if any("handle_request" in fr for fr in s)]
    req_total = sum(c for _, c in request)
    lines = [
        f"samples: {total} (active threads); inside gthread handle_request: {req_total} "
        f"({req_total / total:.0%})",
        "",
        "| phase of the request (first matching rule) | share of in-request samples "
        "| of which waiting on PostgreSQL |",
        "|---|---|---|",
    ]
    phase_n: collections.Counter = collections.Counter()
    phase_db: collections.Counter = collections.Counter()
    for st, c in request:
        for label, needles in PHASES:
            if all(any(n in fr for fr in st) for n in needles):
                phase_n[label] += c
                if any(any(w in fr for w in DB_WAIT) for fr in st):
                    phase_db[label] += c
                break
    for label, _ in PHASES:
        n = phase_n[label]
        lines.append(
            f"| {label} | {n / max(1, req_total):.1%} | {phase_db[label] / max(1, n):.0%} |"
        )
    db_all = sum(phase_db.values())
    lines.append(f"| all | 100% | {db_all / max(1, req_total):.0%} |")
    inclusive: collections.Counter = collections.Counter()
    leaf: collections.Counter = collections.Counter()
    for s, c in request:
        seen = set()
        for fr in s:
            key = (
                fr.split(" (")[0] + " (" + fr.split(" (", 1)[1].split(":")[0] + ")"
                if " (" in fr
                else fr
            )
            if key not in seen:
                inclusive[key] += c
                seen.add(key)
        leaf[s[-1]] += c
    lines += ["", "top inclusive frames (project code and database):", ""]
    shown = 0
    for key, c in inclusive.most_common():
        if any(p in key for p in ("studio/", "pipelines/", "runs/", "psycopg", "django/db")):
            lines.append(f"  {c / max(1, req_total):6.1%}  {key}")
            shown += 1
            if shown >= top:
                break
    lines += ["", "top leaf frames:", ""]
    for key, c in leaf.most_common(15):
        lines.append(f"  {c / max(1, req_total):6.1%}  {key}")
    return "\n".join(lines)


QUERY_COUNT = r"""
import json, statistics, time
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pipelines.models import PublishedPipeline
p = PublishedPipeline.objects.get(id=PIPELINE_ID)
c = Client(HTTP_AUTHORIZATION="Bearer " + TOKEN, HTTP_HOST="127.0.0.1")
url = "/pipelines/v1.0/PipelineRuns/PipelineSubmit/" + str(p.id)
times, counts, per_phase = [], [], None
for i in range(25):
    with CaptureQueriesContext(connection) as q:
        t = time.perf_counter()
        r = c.post(url, data=json.dumps({"ExperimentName": "querycount"}), content_type="application/json")
        times.append(time.perf_counter() - t)
    assert r.status_code == 200, r.content
    counts.append(len(q.captured_queries))
    sql = [x["sql"] for x in q.captured_queries]
print(json.dumps({"queries": counts[-1], "in_process_ms_median": statistics.median(times) * 1000,
                  "sql_ms_sum_last": sum(float(x["time"]) for x in q.captured_queries) * 1000,
                  "sql": sql}))
"""


def query_count(studio: Studio, pipeline_id: str) -> dict:
    code = QUERY_COUNT.replace("PIPELINE_ID", repr(pipeline_id)).replace(
        "TOKEN", repr(studio.token)
    )
    out = studio.manage("shell", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


def profile(
    pids: list[int], token: str, url: str, args: Namespace, out_dir: Path, gil: bool = False
) -> str:
    """py-spy on every gunicorn worker (``pids``) during a load phase. gil=False: every active
    thread (where a request's wall time goes); gil=True: only the thread holding the GIL (Python
    CPU)."""
    mode = "gil" if gil else "wall"
    files = [out_dir / f"pyspy-{mode}-{pid}.txt" for pid in pids]
    spies = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(args.profile_seconds) + 2),
                "-r",
                "250",
                "-f",
                "raw",
                "--nonblocking",
                *(["--gil"] if gil else []),
                "-o",
                str(f),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for pid, f in zip(pids, files, strict=True)
    ]
    try:
        time.sleep(1.0)
        results, elapsed = load(url, token, args.clients, args.profile_seconds, "profile", 0)
        s = summarize(results, elapsed)
        head = (
            f"profiled load ({args.profile_seconds:.0f} s, py-spy at 250 Hz on {len(pids)} workers, "
            f"--nonblocking{' --gil: Python CPU only' if gil else ': all active threads, wall time'}"
            f"): {s['rps']:.1f} req/s, p50 {s['p50'] * 1000:.0f} ms, p95 {s['p95'] * 1000:.0f} ms"
        )
        for spy in spies:
            try:
                spy.wait(timeout=args.profile_seconds + 30)
            except subprocess.TimeoutExpired:
                os.killpg(spy.pid, signal.SIGKILL)
                spy.wait()
    finally:
        for spy in spies:
            if spy.poll() is None:
                os.killpg(spy.pid, signal.SIGKILL)
                spy.wait()
    return head + "\n\n" + summarize_profile(files)
