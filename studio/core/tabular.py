"""Reading tabular files into pandas, shared by the SDK and the server's preview."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from studio.core.errors import StudioError

if TYPE_CHECKING:  # pandas is imported when a table is read, not with the SDK
    import pandas as pd


def read_table(files: Iterable[str], options: dict, nrows: int | None = None) -> pd.DataFrame:
    """One DataFrame from delimited (or parquet) files, with the dataset's options."""
    import pandas as pd

    frames = []
    remaining = nrows
    for path in sorted(files, key=lambda f: str(getattr(f, "name", f))):
        if remaining is not None and remaining <= 0:
            break
        if options.get("format") == "parquet" or str(getattr(path, "name", path)).endswith(
            ".parquet"
        ):
            _require_pyarrow()
            frame = pd.read_parquet(path)
            if remaining is not None:
                frame = frame.head(remaining)
        else:
            frame = pd.read_csv(
                path,
                sep=options.get("separator", ","),
                header=0 if options.get("header", True) else None,
                encoding=options.get("encoding", "utf8"),
                nrows=remaining,
            )
        if options.get("include_path"):
            frame.insert(0, "Path", str(getattr(path, "name", path)))
        frames.append(frame)
        if remaining is not None:
            remaining -= len(frame)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


PARQUET_MISSING = (
    "Reading parquet files needs the pyarrow package, which is not installed here. Studio "
    "leaves it out unless asked: make run EXTRAS=parquet (or pip install -r "
    "requirements-parquet.txt) on the server and workers; in a step's own environment, list "
    "pyarrow among its pip packages."
)


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401 (pandas' parquet engine)
    except ImportError:
        raise StudioError("format", PARQUET_MISSING) from None


def is_delimited(path: str, options: dict) -> bool:
    return options.get("format") != "parquet" and not str(path).endswith(".parquet")


def byte_ranges(path: str, options: dict, size: int) -> list[tuple[int, int, int]]:
    """A delimited file's data lines cut into ranges of about ``size`` bytes, each ending at a
    line's end: ``(start, stop, rows)``. Read a block at a time: a file of any size takes the
    same memory. (A quoted value that spans lines may be cut; such files are read whole.)"""
    block = 1 << 20
    ranges: list[tuple[int, int, int]] = []
    with open(path, "rb") as data:
        start = len(data.readline()) if options.get("header", True) else 0
        total = os.fstat(data.fileno()).st_size
        while start < total:
            stop = min(total, start + max(1, size))
            data.seek(stop - 1)
            if stop < total and data.read(1) != b"\n":
                data.readline()  # on to the end of the line the cut falls in
                stop = data.tell()
            data.seek(start)
            rows, remaining, last = 0, stop - start, b"\n"
            while remaining:
                chunk = data.read(min(block, remaining))
                rows += chunk.count(b"\n")
                remaining -= len(chunk)
                last = chunk[-1:]
            rows += last != b"\n"  # a last line without its newline
            ranges.append((start, stop, rows))
            start = stop
    return ranges


def read_range(path: str, options: dict, start: int, stop: int) -> pd.DataFrame:
    """The rows of a delimited file's byte range (from :func:`byte_ranges`), with its header's
    column names."""
    import pandas as pd

    with open(path, "rb") as data:
        header = data.readline() if options.get("header", True) else b""
        data.seek(start)
        chunk = data.read(stop - start)
    frame = pd.read_csv(
        io.BytesIO(header + chunk),
        sep=options.get("separator", ","),
        header=0 if options.get("header", True) else None,
        encoding=options.get("encoding", "utf8"),
    )
    if options.get("include_path"):
        frame.insert(0, "Path", str(path))
    return frame
