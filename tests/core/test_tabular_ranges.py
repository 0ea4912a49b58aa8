"""A delimited file cut into byte ranges of whole lines, each read back with the header's
column names: every row once, in order, whatever the cut sizes."""

from __future__ import annotations

import pandas as pd
import pytest

from studio.core.tabular import byte_ranges, read_range


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("id,name\n" + "".join(f"{i},name {i}\n" for i in range(1000)))
    return path


@pytest.mark.parametrize("size", [1, 37, 1024, 10**6])
def test_the_ranges_hold_every_row_once_in_order(table, size):
    ranges = byte_ranges(str(table), {}, size)
    assert sum(rows for _, _, rows in ranges) == 1000
    frames = [read_range(str(table), {}, start, stop) for start, stop, _ in ranges]
    assert [len(f) for f in frames] == [rows for _, _, rows in ranges]
    whole = pd.concat(frames, ignore_index=True)
    assert list(whole.columns) == ["id", "name"]
    assert whole["id"].tolist() == list(range(1000))
    assert ranges[0][0] == len("id,name\n") and ranges[-1][1] == table.stat().st_size


def test_about_size_bytes_each(table):
    ranges = byte_ranges(str(table), {}, 1024)
    assert all(1024 <= stop - start < 1024 + 20 for start, stop, _ in ranges[:-1])


def test_no_header_and_no_last_newline(tmp_path):
    path = tmp_path / "bare.tsv"
    path.write_text("1\ta\n2\tb\n3\tc")
    options = {"header": False, "separator": "\t", "include_path": True}
    ranges = byte_ranges(str(path), options, 4)
    assert [rows for _, _, rows in ranges] == [1, 1, 1]
    last = read_range(str(path), options, *ranges[-1][:2])
    assert last.values.tolist() == [[str(path), 3, "c"]]
