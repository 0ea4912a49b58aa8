"""``PipelineData``: an intermediate folder passed between steps (``azureml/{run-id}/{name}``)."""

from __future__ import annotations

import re

from studio.sdk.data import InputBinding

_NAME = re.compile(r"^\w+$")


class PipelineData:
    def __init__(
        self,
        name: str,
        datastore=None,
        output_name: str | None = None,
        output_mode: str = "mount",
        output_path_on_compute=None,
        output_overwrite=None,
        data_type=None,
        is_directory=None,
        pipeline_output_name=None,
        training_output=None,
    ):
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"PipelineData name [{name}] is not valid, it may contain only letters, digits, and underscores."
            )
        if output_mode not in ("mount", "upload"):
            raise ValueError(f"Invalid output mode [{output_mode}]: use mount or upload")
        self.name = name
        self.datastore = datastore
        self.output_name = output_name or name
        self.mode = output_mode

    def __repr__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.name}"

    @property
    def _identity(self):
        return self

    def as_input(self, input_name: str | None = None) -> InputBinding:
        return InputBinding(self, input_name or self.name, "mount")

    def as_mount(self, input_name: str | None = None) -> InputBinding:
        return InputBinding(self, input_name or self.name, "mount")

    def as_download(
        self, input_name: str | None = None, path_on_compute=None, overwrite=None
    ) -> InputBinding:
        return InputBinding(self, input_name or self.name, "download")


__all__ = ["PipelineData"]
