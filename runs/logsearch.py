"""Search step logs line by line, streaming, never holding a whole log in memory (plain Python)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Match:
    step_id: str
    step_name: str
    line: int
    offset: int
    text: str


def search(
    logs: Iterable[tuple[str, str, Path]], query: str, limit: int = 500, width: int = 400
) -> Iterator[Match]:
    """Case-insensitive matches of ``query`` in each (step id, step name, log path), in order."""
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
            offset = 0
            for number, raw in enumerate(handle, start=1):
                if needle in raw.lower():
                    text = raw[: width * 4].decode("utf-8", errors="replace").rstrip("\r\n")[:width]
                    yield Match(step_id, step_name, number, offset, text)
                    found += 1
                    if found >= limit:
                        return
                offset += len(raw)
