"""Reading tabular files into pandas, shared by the SDK and the server's preview."""

from __future__ import annotations

import io
import os
import re
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
        _add_partition_columns(frame, str(getattr(path, "name", path)), options)
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
    _add_partition_columns(frame, str(path), options)
    return frame


# partition_format's date parts, as .NET writes them, and what strptime reads them with.
_DATE_PARTS = {
    "yyyy": ("\\d{4}", "%Y"),
    "MM": ("\\d{2}", "%m"),
    "dd": ("\\d{2}", "%d"),
    "HH": ("\\d{2}", "%H"),
    "mm": ("\\d{2}", "%M"),
    "ss": ("\\d{2}", "%S"),
}
_PART = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_ ]*)(?::(?P<date>[^}]*))?\}")


def partition_pattern(partition_format: str) -> tuple[re.Pattern, dict[str, str | None]]:
    """A dataset's ``partition_format`` (``/{Department}/{PartitionDate:yyyy/MM/dd}/*.csv``,
    from the first key to the end of a file's path) as a pattern matched at the end of a path,
    and each key's date format (None: a string). Raises ValueError naming what is wrong."""
    if not isinstance(partition_format, str) or not _PART.search(partition_format):
        raise ValueError(
            "partition_format must name at least one partition key in braces, such as "
            "'/{Department}/{PartitionDate:yyyy/MM/dd}/data.csv'."
        )
    dates: dict[str, str | None] = {}
    pattern, position = "", 0
    for found in _PART.finditer(partition_format):
        pattern += _literal(partition_format[position : found.start()])
        name, date = found["name"], found["date"]
        if name in dates:
            raise ValueError(f"partition_format names the key {name!r} twice.")
        if date is None:
            pattern += f"(?P<k{len(dates)}>[^/]+)"
            dates[name] = None
        else:
            regex, strp = date, date
            for part, (digits, code) in _DATE_PARTS.items():
                regex, strp = regex.replace(part, digits), strp.replace(part, code)
            pattern += f"(?P<k{len(dates)}>{regex})"
            dates[name] = strp
        position = found.end()
    pattern += _literal(partition_format[position:]) + "$"
    return re.compile(pattern), dates


def _literal(text: str) -> str:
    return "".join("[^/]*" if c == "*" else re.escape(c) for c in text)


def partition_values(path: str, partition_format: str) -> dict:
    """The partition keys' values in a file's path (datetimes for date keys); ValueError when
    the path does not have the format."""
    import datetime

    pattern, dates = partition_pattern(partition_format)
    found = pattern.search(path.replace(os.sep, "/"))
    if found is None:
        raise ValueError(f"The path {path} does not match partition_format {partition_format!r}.")
    values: dict = {}
    for number, (name, date) in enumerate(dates.items()):
        text = found[f"k{number}"]
        values[name] = text if date is None else datetime.datetime.strptime(text, date)
    return values


def _add_partition_columns(frame: pd.DataFrame, path: str, options: dict) -> None:
    if options.get("partition_format"):
        for name, value in partition_values(path, options["partition_format"]).items():
            frame[name] = value
