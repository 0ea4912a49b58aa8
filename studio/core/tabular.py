"""Reading tabular files into pandas, shared by the SDK and the server's preview."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

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
