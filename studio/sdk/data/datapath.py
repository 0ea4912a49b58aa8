"""``studio.sdk.data.datapath`` (``azureml.data.datapath``): DataPath and DataPathComputeBinding."""

from __future__ import annotations


class DataPath:
    """A path on a datastore, usable as the default of a PipelineParameter."""

    def __init__(
        self, datastore=None, path_on_datastore: str | None = None, name: str | None = None
    ):
        if datastore is None:
            raise ValueError("DataPath needs a datastore")
        self.datastore_name = getattr(datastore, "name", datastore)
        self.path_on_datastore = path_on_datastore or ""
        self.name = name

    def __repr__(self) -> str:
        return f"DataPath(datastore={self.datastore_name!r}, path_on_datastore={self.path_on_datastore!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, DataPath) and (self.datastore_name, self.path_on_datastore) == (
            other.datastore_name,
            other.path_on_datastore,
        )

    def __hash__(self) -> int:
        return hash((self.datastore_name, self.path_on_datastore))

    def _to_json(self) -> dict:
        return {"datastore": self.datastore_name, "path": self.path_on_datastore}


class DataPathComputeBinding:
    """How a DataPath parameter reaches the step: ``mount`` or ``download``."""

    def __init__(
        self, mode: str = "mount", path_on_compute: str | None = None, overwrite: bool = False
    ):
        if mode not in ("mount", "download"):
            raise ValueError(f"Invalid mode {mode!r}: use mount or download")
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite


__all__ = ["DataPath", "DataPathComputeBinding"]
