"""``PipelineData``: intermediate data passed between steps (``azureml/{run-id}/{name}``)."""

from __future__ import annotations

import re

from studio.sdk.data import InputBinding

_INVALID = re.compile(r"\W")


class PipelineData:
    """A folder (or, with ``is_directory=False``, a file) one step writes and others read."""

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
        if not name:
            raise ValueError("PipelineData name cannot be empty")
        if not isinstance(name, str) or _INVALID.search(name):
            raise ValueError(
                f"PipelineData name: [{name}] is not a valid, as it may contain only letters, "
                "digits, and underscores."
            )
        if output_name is None:
            output_name = name
        if not isinstance(output_name, str) or _INVALID.search(output_name):
            raise ValueError(
                f"PipelineData output_name: [{output_name}] is not a valid, as it may contain only "
                "letters, digits, and underscores."
            )
        if output_mode not in ("mount", "upload"):
            raise ValueError(f"Invalid output mode [{output_mode}]")
        self._name = name
        self.datastore = datastore
        self.output_name = output_name
        self.mode = output_mode
        self.data_type = data_type
        self.is_directory = is_directory
        self.pipeline_output_name = pipeline_output_name

    @property
    def name(self) -> str:
        return self._name

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.name}"

    __repr__ = __str__

    def get_env_variable_name(self) -> str:
        return str(self)

    @property
    def _identity(self):
        return self

    @property
    def _is_file(self) -> bool:
        """Only an explicit ``is_directory=False`` makes a file: scripts written for azureml
        mostly call ``os.makedirs`` on the path they are given."""
        return self.is_directory is False

    def create_input_binding(
        self,
        input_name: str | None = None,
        mode: str | None = None,
        path_on_compute=None,
        overwrite=None,
    ) -> InputBinding:
        input_name = input_name or self.name
        mode = mode or "mount"
        if mode not in ("mount", "download"):
            raise ValueError(f"Input [{input_name}] has an invalid mode [{mode}]")
        return InputBinding(self, input_name, mode)

    def as_input(self, input_name: str) -> InputBinding:
        return self.create_input_binding(input_name)

    def as_mount(self, input_name: str | None = None) -> InputBinding:
        return self.create_input_binding(input_name, "mount")

    def as_download(
        self, input_name: str | None = None, path_on_compute=None, overwrite=None
    ) -> InputBinding:
        return self.create_input_binding(input_name, "download")


__all__ = ["PipelineData"]
