"""ANSI colours in logs are rendered safely; log search streams line by line."""

from __future__ import annotations

from runs.ansi import ansi_to_html
from runs.logsearch import search


def test_it_renders_colours_as_spans_and_escapes_everything_else():
    html = ansi_to_html("\x1b[31mred <b>\x1b[0m plain \x1b[1;32mbold green\x1b[0m")
    assert (
        html
        == '<span class="ansi-fg31">red &lt;b&gt;</span> plain <span class="ansi-bold ansi-fg32">bold green</span>'
    )


def test_it_never_lets_markup_through():
    html = ansi_to_html('<script>alert(1)</script>\x1b[31m"><img src=x onerror=alert(1)>')
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_it_drops_other_escape_sequences_and_closes_open_spans():
    assert ansi_to_html("a\x1b[2Kb\x1b]0;title\x07c") == "abc"
    assert ansi_to_html("\x1b[34mblue") == '<span class="ansi-fg34">blue</span>'


def test_search_finds_matches_across_steps_in_order_with_line_numbers(tmp_path):
    one, two = tmp_path / "one.log", tmp_path / "two.log"
    one.write_bytes(b"start\nERROR here\nok\n")
    two.write_bytes(b"fine\nall fine\nerror again\n")
    found = list(
        search(
            [("s1", "prep", one), ("s2", "train", two), ("s3", "gone", tmp_path / "missing")],
            "error",
        )
    )
    assert [(m.step_name, m.line, m.text) for m in found] == [
        ("prep", 2, "ERROR here"),
        ("train", 3, "error again"),
    ]
    assert found[0].offset == len(b"start\n")


def test_search_stops_at_the_limit_and_ignores_an_empty_query(tmp_path):
    log = tmp_path / "big.log"
    log.write_bytes(b"x match\n" * 1000)
    assert len(list(search([("s", "s", log)], "match", limit=7))) == 7
    assert list(search([("s", "s", log)], "")) == []


def test_search_survives_invalid_utf8(tmp_path):
    log = tmp_path / "bad.log"
    log.write_bytes(b"\xff\xfe needle \xc3\n")
    assert "needle" in next(search([("s", "s", log)], "needle")).text


def _by_lines(data: bytes, needle: bytes) -> list[tuple[int, int, str]]:
    """The reference: what a line-by-line reader finds."""
    out, offset = [], 0
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        if needle in raw.lower():
            out.append((number, offset, raw.decode("utf-8", "replace").rstrip("\r\n")[:400]))
        offset += len(raw)
    return out


def test_search_in_blocks_finds_what_a_line_reader_finds_whatever_the_block_size(tmp_path):
    data = b"abcNEEDLE\n\nneedleneedle\nxx ne\nedle\nNEED\nLE needle\nlast neEdle"
    log = tmp_path / "log.txt"
    log.write_bytes(data)
    expected = _by_lines(data, b"needle")
    assert len(expected) == 4
    for block in range(1, len(data) + 2):
        found = [
            (m.line, m.offset, m.text) for m in search([("s", "s", log)], "needle", block=block)
        ]
        assert found == expected, block
