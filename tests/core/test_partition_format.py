"""A dataset's partition_format: the keys' values read from the end of each file's path, as
string or datetime columns of the table."""

from __future__ import annotations

import datetime

import pytest

from studio.core.tabular import partition_values, read_table


def test_string_and_date_keys_come_from_the_end_of_the_path():
    values = partition_values(
        "/data/Accounts/2019/01/02/data.parquet",
        "/{Department}/{PartitionDate:yyyy/MM/dd}/data.parquet",
    )
    assert values == {"Department": "Accounts", "PartitionDate": datetime.datetime(2019, 1, 2)}
    assert partition_values("/d/state=WA/x.csv", "/state={state}/*.csv") == {"state": "WA"}


@pytest.mark.parametrize(
    ("path", "layout", "message"),
    [
        ("/d/x.csv", "/data/*.csv", "must name at least one partition key"),
        ("/d/WA/x.csv", "/{a}/{a}.csv", "names the key 'a' twice"),
        ("/d/WA/x.txt", "/{state}/*.csv", "does not match partition_format"),
    ],
)
def test_a_format_or_path_that_does_not_fit_is_named(path, layout, message):
    with pytest.raises(ValueError, match=message):
        partition_values(path, layout)


def test_the_keys_are_columns_of_the_table(tmp_path):
    files = []
    for state in ("CA", "WA"):
        (tmp_path / state).mkdir()
        path = tmp_path / state / "part.csv"
        path.write_text("amount\n1\n2\n")
        files.append(str(path))
    frame = read_table(files, {"partition_format": "/{state}/part.csv"})
    assert frame.to_dict("list") == {"amount": [1, 2, 1, 2], "state": ["CA", "CA", "WA", "WA"]}
