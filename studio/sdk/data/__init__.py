"""``studio.sdk.data`` (``azureml.data``): OutputFileDatasetConfig."""

from __future__ import annotations

from studio.core.names import is_port_name
from studio.sdk._names import checked_name


class OutputFileDatasetConfig:
    """A folder a step writes, on the default datastore at ``dataset/{run-id}/{output-name}``.

    Unlike azureml, an unnamed output gets a deterministic name when the pipeline is
    built (from its producing step), so it does not defeat step reuse.
    """

    def __init__(
        self,
        name: str | None = None,
        destination=None,
        source: str | None = None,
        partition_format: str | None = None,
    ):
        if name is not None and not is_port_name(name):
            raise ValueError(
                f"[{name}] is not a valid output name: use letters, digits and underscores, not starting with a digit."
            )
        if destination is not None and not (
            isinstance(destination, tuple) and len(destination) == 2
        ):
            raise ValueError(
                "destination must be a (datastore, 'path/{run-id}/{output-name}') tuple"
            )
        self.name = name
        self.destination = destination
        self.source = source
        self.mode = "mount"
        self._promotion: dict | None = None
        self._registration: dict | None = None

    @property
    def _datastore_name(self) -> str | None:
        if self.destination is None:
            return None
        store = self.destination[0]
        return getattr(store, "name", store)

    @property
    def _path_template(self) -> str | None:
        return None if self.destination is None else str(self.destination[1])

    def read_delimited_files(
        self,
        include_path: bool = False,
        separator: str = ",",
        header=True,
        partition_format=None,
        path_glob=None,
        set_column_types=None,
    ) -> OutputFileDatasetConfig:
        """The output, to be read as a tabular dataset of delimited files."""
        copy = self._copy()
        copy._promotion = {
            "kind": "tabular",
            "options": {
                "separator": separator,
                "header": bool(header),
                "format": "delimited",
                **({"include_path": True} if include_path else {}),
            },
        }
        return copy

    def read_parquet_files(
        self,
        include_path: bool = False,
        partition_format=None,
        path_glob=None,
        set_column_types=None,
    ) -> OutputFileDatasetConfig:
        copy = self._copy()
        copy._promotion = {
            "kind": "tabular",
            "options": {"format": "parquet", **({"include_path": True} if include_path else {})},
        }
        return copy

    def register_on_complete(
        self, name: str, description: str | None = None, tags: dict | None = None
    ) -> OutputFileDatasetConfig:
        """Register the output as a new version of dataset ``name`` when the step succeeds."""
        if not name:
            raise ValueError("register_on_complete needs a dataset name")
        checked_name("dataset", name)
        copy = self._copy()
        copy._registration = {"name": name, "description": description or ""}
        return copy

    def _register_spec(self) -> dict | None:
        if self._registration is None:
            return None
        promotion = self._promotion or {"kind": "file", "options": {}}
        return {**self._registration, "kind": promotion["kind"], "options": promotion["options"]}

    def __repr__(self) -> str:
        return f"OutputFileDatasetConfig(name={self.name!r}, mode={self.mode!r})"

    def as_mount(self, disable_metadata_cache: bool = False) -> OutputFileDatasetConfig:
        copy = self._copy()
        copy.mode = "mount"
        return copy

    def as_upload(self, overwrite: bool = False, source_globs=None) -> OutputFileDatasetConfig:
        copy = self._copy()
        copy.mode = "upload"
        return copy

    def as_input(self, name: str | None = None) -> InputBinding:
        """Consume this output in a later step (mounted); ``name`` is the input's port name."""
        if name is not None and not is_port_name(name):
            raise ValueError(
                f"[{name}] is not a valid input name as it may contain only letters, digits, and underscores."
            )
        return InputBinding(self, name, "mount")

    def as_mount_input(self, name: str | None = None) -> InputBinding:
        return self.as_input(name)

    def _copy(self) -> OutputFileDatasetConfig:
        copy = OutputFileDatasetConfig.__new__(OutputFileDatasetConfig)
        copy.__dict__.update(self.__dict__)
        copy._origin = getattr(self, "_origin", self)  # type: ignore[attr-defined]
        return copy

    @property
    def _identity(self):
        return getattr(self, "_origin", self)


class InputBinding:
    """An output of one step consumed as an input of another."""

    def __init__(self, source, name: str | None, mode: str):
        self.source = source
        self.name = name
        self.mode = mode

    @property
    def _identity(self):
        return self.source._identity

    def __repr__(self) -> str:
        return f"InputBinding(source={self.source!r}, name={self.name!r})"


from studio.sdk.data.datasets import FileDataset, TabularDataset  # noqa: E402  (azureml.data's)

__all__ = ["FileDataset", "InputBinding", "OutputFileDatasetConfig", "TabularDataset"]
