"""``CondaDependencies``: a conda environment specification (python, conda and pip packages).

The structure is a conda ``environment.yml`` as a dict: ``name``, ``channels`` and
``dependencies`` (conda specs, and one ``{"pip": [...]}`` entry), with azureml's rules for
adding and removing packages.
"""

from __future__ import annotations

import copy
import os
import re

from studio.sdk.exceptions import UserErrorException

PYTHON_DEFAULT_VERSION = "3.10.18"
_BASE_PYTHON_VERSION = "3.8.13"
_DEFAULT_PIP = "azureml-defaults"


def _package_name(spec: str) -> str:
    """``numpy`` of ``numpy==2.0``, ``pandas[pyarrow]>=2`` or a wheel's file name."""
    if spec.endswith(".whl"):
        return spec.rsplit("/", 1)[-1].split("-", 1)[0]
    return re.split(r"[\[=<>~!]", spec, maxsplit=1)[0].strip()


def _is_option(item) -> bool:
    return isinstance(item, str) and item.startswith("-")


class CondaDependencies:
    def __init__(self, conda_dependencies_file_path: str | None = None, _underlying_structure=None):
        if conda_dependencies_file_path is not None:
            import yaml

            with open(os.path.normpath(conda_dependencies_file_path)) as fh:
                structure = yaml.safe_load(fh) or {}
        elif _underlying_structure is not None:
            structure = copy.deepcopy(_underlying_structure)
        else:
            structure = {
                "name": "project_environment",
                "dependencies": [f"python={_BASE_PYTHON_VERSION}", {"pip": [_DEFAULT_PIP]}],
                "channels": ["anaconda", "conda-forge"],
            }
        if not isinstance(structure, dict):
            raise UserErrorException("A conda specification must be a mapping (environment.yml).")
        for key in ("dependencies", "channels"):
            if structure.get(key) is not None and not isinstance(structure[key], list):
                raise UserErrorException(f"'{key}' of a conda specification must be a list.")
        self._conda_dependencies = structure

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str = PYTHON_DEFAULT_VERSION,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """A specification with these packages; without ``pip_packages``, azureml-defaults."""
        dependencies = CondaDependencies()
        if pip_indexurl:
            dependencies.set_pip_option(f"--find-links {pip_indexurl}")
        dependencies.set_python_version(python_version)
        if pip_packages is None:
            pip_packages = [_DEFAULT_PIP]
        else:
            for package in dependencies.pip_packages:
                dependencies.remove_pip_package(package)
        for package in pip_packages:
            dependencies.add_pip_package(package)
        for package in conda_packages or []:
            dependencies.add_conda_package(package)
        return dependencies

    # --- reading -----------------------------------------------------------------------

    def _dependencies(self) -> list:
        return self._conda_dependencies.setdefault("dependencies", [])

    def _pip_list(self) -> list | None:
        for item in self._dependencies():
            if isinstance(item, dict) and "pip" in item:
                if item["pip"] is None:
                    item["pip"] = []
                return item["pip"]
        return None

    @property
    def conda_channels(self) -> list[str]:
        return list(self._conda_dependencies.get("channels") or [])

    @property
    def conda_packages(self) -> list[str]:
        """Conda specs other than python itself."""
        return [
            item
            for item in self._dependencies()
            if isinstance(item, str) and _package_name(item) != "python"
        ]

    @property
    def pip_packages(self) -> list[str]:
        return [p for p in (self._pip_list() or []) if not _is_option(p)]

    @property
    def pip_options(self) -> list[str]:
        return [p for p in (self._pip_list() or []) if _is_option(p)]

    def get_python_version(self) -> str | None:
        for item in self._dependencies():
            if isinstance(item, str) and _package_name(item) == "python":
                return item[len("python") :].lstrip("=<>~! ") or None
        return None

    # --- changing ----------------------------------------------------------------------

    def set_python_version(self, version: str) -> None:
        dependencies = self._dependencies()
        spec = f"python={version}"
        for index, item in enumerate(dependencies):
            if isinstance(item, str) and _package_name(item) == "python":
                dependencies[index] = spec
                return
        dependencies.insert(0, spec)

    def add_channel(self, channel: str) -> None:
        channels = self._conda_dependencies.setdefault("channels", [])
        if channel not in channels:
            channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        channels = self._conda_dependencies.get("channels") or []
        if channel in channels:
            channels.remove(channel)

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda spec (a ``python...`` spec sets the python version instead)."""
        if _package_name(conda_package) == "python":
            self.set_python_version(conda_package[len("python") :].lstrip("=<>~! "))
        elif conda_package not in self._dependencies():
            self._dependencies().append(conda_package)

    def remove_conda_package(self, conda_package: str) -> None:
        if _package_name(conda_package) == "python":
            raise UserErrorException("python must not be removed from conda dependencies")
        if conda_package in self._dependencies():
            self._dependencies().remove(conda_package)

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip spec, replacing any earlier spec of the same package."""
        if _is_option(pip_package):
            raise UserErrorException(f"Invalid package name {pip_package}")
        self.remove_pip_package(pip_package)
        pip = self._pip_list()
        if pip is None:
            self._dependencies().append({"pip": [pip_package]})
        else:
            pip.append(pip_package)

    def remove_pip_package(self, pip_package: str) -> None:
        if _is_option(pip_package):
            raise UserErrorException(f"Invalid package name {pip_package}")
        pip = self._pip_list()
        if pip is None:
            return
        name = _package_name(pip_package)
        pip[:] = [p for p in pip if _is_option(p) or _package_name(p) != name]

    def set_pip_option(self, pip_option: str) -> None:
        if not _is_option(pip_option):
            raise UserErrorException(f"Invalid pip option {pip_option}")
        pip = self._pip_list()
        if pip is None:
            self._dependencies().append({"pip": [pip_option]})
            return
        flag = pip_option.split()[0]
        for index, item in enumerate(pip):
            if _is_option(item) and item.split()[0] == flag:
                pip[index] = pip_option
                return
        pip.append(pip_option)

    def set_pip_requirements(self, pip_requirements: list[str]) -> None:
        """Replace the pip list with these lines (a requirements file's)."""
        pip = self._pip_list()
        if pip is None:
            self._dependencies().append({"pip": list(pip_requirements)})
        else:
            pip[:] = list(pip_requirements)

    # --- writing -----------------------------------------------------------------------

    def _as_dict(self) -> dict:
        return copy.deepcopy(self._conda_dependencies)

    def serialize_to_string(self) -> str:
        import yaml

        return yaml.safe_dump(self._conda_dependencies, sort_keys=False)

    def save(self, path: str | None = None) -> str:
        target = path or os.path.join(os.getcwd(), "conda_dependencies.yml")
        with open(target, "w") as fh:
            fh.write(self.serialize_to_string())
        return target

    def save_to_file(self, base_directory: str, conda_file_path: str | None = None) -> str:
        return self.save(os.path.join(base_directory, conda_file_path or "conda_dependencies.yml"))

    def __repr__(self) -> str:
        return self.serialize_to_string()


__all__ = ["PYTHON_DEFAULT_VERSION", "CondaDependencies"]
