"""``Dataset`` (``azureml.core.Dataset``): the factories and lookups of File and Tabular
datasets, whose classes live in ``studio.sdk.data``."""

from __future__ import annotations

from typing import Any

from studio.core.tabular import partition_pattern
from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig
from studio.sdk.data.datasets import (
    FileDataset,
    TabularDataset,
    _AbstractDataset,
    _get_by_name,
    _normalise_paths,
)
from studio.sdk.exceptions import UserErrorException


class _TabularFactory:
    @staticmethod
    def from_delimited_files(
        path,
        validate: bool = True,
        include_path: bool = False,
        infer_column_types: bool = True,
        set_column_types=None,
        separator: str = ",",
        header=True,
        partition_format=None,
        support_multi_line: bool = False,
        empty_as_string: bool = False,
        encoding: str = "utf8",
    ) -> TabularDataset:
        if not isinstance(separator, str) or len(separator) != 1:
            raise UserErrorException("separator must be a single character")
        options = {
            "separator": separator,
            "header": bool(header),
            "encoding": encoding,
            "format": "delimited",
        }
        if include_path:
            options["include_path"] = True
        options.update(_partitioned(partition_format))
        return TabularDataset(_normalise_paths(path), options)

    @staticmethod
    def from_parquet_files(
        path,
        validate: bool = True,
        include_path: bool = False,
        set_column_types=None,
        partition_format=None,
    ) -> TabularDataset:
        options: dict[str, Any] = {"format": "parquet"}
        if include_path:
            options["include_path"] = True
        options.update(_partitioned(partition_format))
        return TabularDataset(_normalise_paths(path), options)


class _FileFactory:
    @staticmethod
    def from_files(
        path, validate: bool = True, partition_format=None, is_file: bool = False
    ) -> FileDataset:
        options = _partitioned(partition_format)
        return FileDataset(_normalise_paths(path), options)


def _partitioned(partition_format) -> dict:
    """The option that keeps ``partition_format``: each file's path gives the values of the
    partition keys it names (columns of a TabularDataset; the mini-batches of a
    ParallelRunStep with ``partition_keys``)."""
    if partition_format is None:
        return {}
    try:
        partition_pattern(partition_format)
    except ValueError as exc:
        raise UserErrorException(str(exc)) from None
    return {"partition_format": partition_format}


class Dataset:
    """``Dataset.Tabular`` / ``Dataset.File`` factories and lookups by name or id."""

    Tabular = _TabularFactory
    File = _FileFactory

    @staticmethod
    def get_by_name(workspace, name: str, version="latest"):
        return _get_by_name(workspace, name, version)

    @staticmethod
    def get_by_id(workspace, id: str):
        return _AbstractDataset._from_json(workspace, workspace._client.get(f"datasets/{id}/"))


__all__ = ["Dataset", "DatasetConsumptionConfig", "FileDataset", "TabularDataset"]
