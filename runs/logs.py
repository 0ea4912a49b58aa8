"""A step log writer with a size cap that keeps the head and the tail.

Plain Python. Memory stays flat however much a script prints: bytes go straight
to files, the head up to half the cap, the tail into two rotating segments. On a full
disk the writer drops what it cannot write and says where (``no_space``): the script's
output is still read, so the script never blocks on it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path


class CappedLogWriter:
    def __init__(self, path: Path, cap: int):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.head_cap = cap // 2
        self.segment_cap = max(1, (cap - self.head_cap) // 2)
        self.head = open(self.path, "ab", buffering=0)
        self.head_size = self.head.tell()
        self.total = self.head_size
        self.segments: list[Path] = []
        self.segment = None
        self.segment_size = 0
        self.rotations = 0
        self.no_space: OSError | None = None

    def write(self, data: bytes) -> None:
        if self.no_space is not None:
            self.total += len(data)
            return
        try:
            self._write(data)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            exc.filename = exc.filename or str(self.path)
            self.no_space = exc

    def _write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_cap - self.head_size
        if room > 0:
            self.head.write(data[:room])
            self.head_size += min(room, len(data))
            data = data[room:]
        while data:
            if self.segment is None or self.segment_size >= self.segment_cap:
                self._rotate()
            take = data[: self.segment_cap - self.segment_size]
            self.segment.write(take)
            self.segment_size += len(take)
            data = data[len(take) :]

    def _rotate(self) -> None:
        if self.segment is not None:
            self.segment.close()
        if len(self.segments) == 2:
            os.unlink(self.segments.pop(0))
        self.rotations += 1
        path = self.path.with_name(f"{self.path.name}.tail{self.rotations}")
        self.segments.append(path)
        self.segment = open(path, "wb", buffering=0)
        self.segment_size = 0

    def close(self) -> int:
        """Join head, a truncation marker and the tail; return the final size."""
        try:
            self._join()
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            self.no_space = self.no_space or exc
            for segment in self.segments:
                segment.unlink(missing_ok=True)
            self.segments = []
        size = self.head.tell()
        self.head.close()
        return size

    def _join(self) -> None:
        if self.segment is not None:
            self.segment.close()
            tail_cap = self.segment_cap * 2
            kept = sum(p.stat().st_size for p in self.segments)
            skip = max(0, kept - tail_cap)
            omitted = self.total - self.head_size - (kept - skip)
            if omitted > 0:
                self.head.write(f"\n[... log truncated: {omitted} bytes omitted ...]\n".encode())
            for segment in self.segments:
                with open(segment, "rb") as fh:
                    size = os.fstat(fh.fileno()).st_size
                    if skip >= size:
                        skip -= size
                    else:
                        fh.seek(skip)
                        skip = 0
                        while chunk := fh.read(1024 * 1024):
                            self.head.write(chunk)
                os.unlink(segment)
            self.segments = []
            self.segment = None


_TRACEBACK = "Traceback (most recent call last):"


def exception_line(text: str, limit: int = 300) -> str | None:
    """The exception the last Python traceback in ``text`` ended with (its first unindented
    line after the frames, such as ``ValueError: bad input``), or None without a traceback."""
    start = text.rfind(_TRACEBACK)
    if start == -1:
        return None
    for line in text[start:].splitlines()[1:]:
        if line.strip() and not line[0].isspace():
            return line.strip()[:limit]
    return None
