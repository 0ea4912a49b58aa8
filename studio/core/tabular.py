"""Reading tabular files into pandas, shared by the SDK and the server's preview."""

from __future__ import annotations

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
