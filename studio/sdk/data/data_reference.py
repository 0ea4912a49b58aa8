"""``studio.sdk.data.data_reference`` (``azureml.data.data_reference``): DataReference.

A fixed path on a datastore, given to a step like a DataPath parameter: mounted (used in
place on a local datastore) or downloaded, and passed to the script as a local path.
"""

from __future__ import annotations

import hashlib

_MODES = ("mount", "download", "upload")


class DataReference:
    def __init__(
        self,
        datastore,
        data_reference_name: str | None = None,
        path_on_datastore: str | None = None,
        mode: str = "mount",
        path_on_compute: str | None = None,
        overwrite: bool = False,
    ):
        if mode not in _MODES:
            raise ValueError(
                f"Invalid mode [{mode}] for DataReference: use mount, download or upload"
            )
        self.datastore = datastore
        self.path_on_datastore = path_on_datastore
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite
        if not data_reference_name:
            # azureml picks a random name here, which defeats step reuse: derive one instead.
            where = f"{self.datastore_name}/{path_on_datastore or ''}"
            data_reference_name = (
                f"ref_{hashlib.sha256(where.encode()).hexdigest()[:8]}"
                if path_on_datastore
                else self.datastore_name
            )
        self.data_reference_name = data_reference_name

    @property
    def datastore_name(self) -> str:
        return getattr(self.datastore, "name", self.datastore)

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"

    __repr__ = __str__

    def _with(self, **changes) -> DataReference:
        values = {
            "datastore": self.datastore,
            "data_reference_name": self.data_reference_name,
            "path_on_datastore": self.path_on_datastore,
            "mode": self.mode,
            "path_on_compute": self.path_on_compute,
            "overwrite": self.overwrite,
        }
        return DataReference(**{**values, **changes})

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        """A reference to ``path`` below this one."""
        base = (self.path_on_datastore or "").strip("/")
        joined = "/".join(p for p in (base, (path or "").strip("/")) if p)
        return self._with(path_on_datastore=joined, data_reference_name=data_reference_name)

    def as_mount(self) -> DataReference:
        return self._with(mode="mount")

    def as_download(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        return self._with(mode="download", path_on_compute=path_on_compute, overwrite=overwrite)

    def as_upload(
        self, path_on_compute: str | None = None, overwrite: bool = False
    ) -> DataReference:
        return self._with(mode="upload", path_on_compute=path_on_compute, overwrite=overwrite)


__all__ = ["DataReference"]
