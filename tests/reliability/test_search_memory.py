"""Searching a run's logs holds one block at a time, however long a line is."""

from __future__ import annotations

import tracemalloc

from runs.logsearch import search


def test_a_150_mb_line_costs_a_search_no_more_than_a_few_blocks(tmp_path):
    log = tmp_path / "std_log.txt"
    with open(log, "wb") as fh:
        fh.write(b"start\n")
        chunk = b"x" * (1 << 20)
        for _ in range(150):
            fh.write(chunk)
        fh.write(b" needle at the end of a 150 MB line\nafter\n")
    tracemalloc.start()
    try:
        matches = list(search([("s", "step", log)], "NEEDLE"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(m.line, m.offset) for m in matches] == [(2, 6)]
    assert matches[0].text == "x" * 400  # the line's head, cut to the width shown
    assert peak < 8 * (1 << 20), f"peak {peak / (1 << 20):.1f} MB"
