"""``Workspace``: a Studio server, named the way azureml names a workspace."""

from __future__ import annotations

import json
import os
from pathlib import Path

from studio.sdk import _config
from studio.sdk._http import Client
from studio.sdk.core.compute import ComputeTarget
from studio.sdk.core.datastore import Datastore
from studio.sdk.core.experiment import Experiment
from studio.sdk.data.datasets import _AbstractDataset
from studio.sdk.exceptions import UserErrorException

# What a workspace that no azureml config file describes reports (there is no Azure here).
DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "studio"
DEFAULT_LOCATION = "local"


class _Auth:
    def __init__(self, token: str):
        self._token = token

    def get_authentication_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}


class Workspace:
    """A Studio server. ``Workspace.from_config()`` finds it from the environment or config files.

    azureml's constructor (``subscription_id, resource_group, workspace_name, auth``) names the
    workspace; the server and its token come from ``url``/``token``, the ``auth`` object, or
    STUDIO_URL/STUDIO_TOKEN or ``.studio/config.json``.
    """

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        auth=None,
        _location: str | None = None,
        _disable_service_check: bool = False,
        _workspace_id=None,
        sku: str = "basic",
        tags: dict | None = None,
        _cloud: str = "AzureCloud",
        *,
        url: str | None = None,
        token: str | None = None,
        name: str | None = None,
    ):
        if not (url and token):
            connection = _config.studio_connection()
            if connection is None:
                raise UserErrorException(_config.no_server_message())
            url = url or connection["url"]
            token = token or connection["token"]
        self.url = url.rstrip("/")
        self.name = workspace_name or name or "studio"
        self.subscription_id = subscription_id or DEFAULT_SUBSCRIPTION_ID
        self.resource_group = resource_group or DEFAULT_RESOURCE_GROUP
        self.location = _location or DEFAULT_LOCATION
        self.sku = sku
        self.tags = dict(tags or {})
        self._token = token
        self.auth = auth if auth is not None else _Auth(token)
        self._client = Client(self.url, token)
        _config.remember_token(token)

    def __repr__(self) -> str:
        return (
            f"Workspace.create(name='{self.name}', subscription_id='{self.subscription_id}', "
            f"resource_group='{self.resource_group}')"
        )

    @staticmethod
    def from_config(
        path: str | os.PathLike | None = None,
        auth=None,
        _logger=None,
        _file_name: str | None = None,
    ) -> Workspace:
        """The workspace of this project folder.

        azureml's ``config.json`` (``path`` itself, or ``.azureml/``, ``aml_config/`` or the
        folder, searched upward) names the workspace; the server and token come from
        STUDIO_URL/STUDIO_TOKEN or ``.studio/config.json``, or that config file's own
        ``url`` and ``token``.
        """
        found = _config.find_azureml_config(path, _file_name)
        connection = _config.studio_connection(path)
        names = connection or {}
        if found is not None:
            data = _config._read_json(found)
            if (
                data.get("url")
                and data.get("token")
                and not {"Scope", "subscription_id"} & set(data)
            ):
                # A Studio config file of its own, not azureml's.
                names = {k: str(v) for k, v in data.items()}
                connection = connection or names
            else:
                names = _config.workspace_info(found)
        if connection is None:
            raise UserErrorException(_config.no_server_message())
        return Workspace(
            names.get("subscription_id"),
            names.get("resource_group"),
            names.get("workspace_name"),
            auth=auth,
            url=connection["url"],
            token=connection["token"],
        )

    @staticmethod
    def get(
        name: str,
        auth=None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        cloud: str = "AzureCloud",
        id=None,
    ) -> Workspace:
        """The workspace ``name`` on the configured server (one server is one workspace)."""
        return Workspace(subscription_id, resource_group, name, auth=auth, _location=location)

    def write_config(
        self, path: str | os.PathLike | None = None, file_name: str | None = None
    ) -> Path:
        """Write ``.studio/config.json`` (server, token and workspace name) under ``path``."""
        folder = Path(path or os.getcwd()) / _config.STUDIO_CONFIG.parent
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (file_name or _config.STUDIO_CONFIG.name)
        target.write_text(
            json.dumps(
                {
                    "url": self.url,
                    "token": self._token,
                    "workspace_name": self.name,
                    "subscription_id": self.subscription_id,
                    "resource_group": self.resource_group,
                }
            )
        )
        target.chmod(0o600)
        return target

    def get_details(self) -> dict:
        data = self._client.get("workspace/")
        return {
            "id": f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/"
            f"providers/Microsoft.MachineLearningServices/workspaces/{self.name}",
            "name": self.name,
            "location": self.location,
            "url": data["url"],
            "defaultDatastore": data["default_datastore"],
            "defaultComputeTarget": data["default_compute_target"],
            "user": data["user"],
        }

    def get_default_datastore(self) -> Datastore:
        return Datastore(self, self._client.get("workspace/")["default_datastore"])

    def set_default_datastore(self, name: str) -> None:
        """Make the datastore ``name`` where outputs go when a step names none."""
        self._client.request("PATCH", "workspace/", json={"default_datastore": name})

    @property
    def datastores(self) -> dict:
        return {d["name"]: Datastore._from_dict(self, d) for d in self._client.get("datastores/")}

    @property
    def datasets(self) -> dict:
        """The latest version of each registered dataset, by name."""
        latest: dict = {}
        for data in self._client.get("datasets/"):
            if data.get("name") and (
                data["name"] not in latest or data["version"] > latest[data["name"]]["version"]
            ):
                latest[data["name"]] = data
        return {name: _AbstractDataset._from_json(self, d) for name, d in latest.items()}

    @property
    def experiments(self) -> dict:
        return {
            e["name"]: Experiment(self, e["name"], _create=False)
            for e in self._client.get("experiments/")
        }

    @property
    def compute_targets(self) -> dict:
        return {
            c["name"]: ComputeTarget._from_dict(self, c)
            for c in self._client.get("computetargets/")
        }
