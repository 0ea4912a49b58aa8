"""Search step logs line by line, streaming, in fixed-size blocks (plain Python).

Memory stays bounded by one block plus the shown head of the current line, however long a
line is: a 150 MB line costs no more than a short one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Match:
    step_id: str
    step_name: str
    line: int
    offset: int
    text: str


def search(
    logs: Iterable[tuple[str, str, Path]],
    query: str,
    limit: int = 500,
    width: int = 400,
    block: int = BLOCK_BYTES,
) -> Iterator[Match]:
    """Case-insensitive matches of ``query`` in each (step id, step name, log path), in order:
    a line at most once, shown by its first ``width`` characters."""
    needle = query.lower().encode("utf-8", errors="replace")
    if not needle:
        return
    found = 0
    for step_id, step_name, path in logs:
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            continue
        with handle:
            for number, offset, head in _matching_lines(handle, needle, width * 4, block):
                text = bytes(head).decode("utf-8", errors="replace").rstrip("\r\n")[:width]
                yield Match(step_id, step_name, number, offset, text)
                found += 1
                if found >= limit:
                    return


def _matching_lines(
    handle: BinaryIO, needle: bytes, head_bytes: int, block: int
) -> Iterator[tuple[int, int, bytearray]]:
    """(line number, offset of the line, its first ``head_bytes``) of each line holding
    ``needle``; a match may straddle two blocks."""
    keep = len(needle) - 1  # the bytes of a line that may begin a match ending in the next block
    number, line_start, position = 1, 0, 0
    head, carry, matched = bytearray(), b"", False
    while chunk := handle.read(block):
        lowered = chunk.lower()
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            end = newline if newline != -1 else len(chunk)
            piece = lowered[start:end]
            if not matched and needle in (carry + piece if carry else piece):
                matched = True
            if len(head) < head_bytes:
                head += chunk[start : min(end, start + head_bytes - len(head))]
            if keep:
                carry = piece[-keep:] if len(piece) >= keep else (carry + piece)[-keep:]
            if newline == -1:
                break
            if matched:
                yield number, line_start, head
            number, line_start = number + 1, position + newline + 1
            head, carry, matched = bytearray(), b"", False
            start = newline + 1
        position += len(chunk)
    if matched:  # a last line without a newline
        yield number, line_start, head
