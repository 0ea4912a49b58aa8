"""``Datastore``: a named place for data (the default is ``workspaceblobstore``)."""

from __future__ import annotations


class Datastore:
    def __init__(self, workspace, name: str | None = None):
        self.workspace = workspace
        if name is None:
            name = workspace._client.get("workspace/")["default_datastore"]
        data = workspace._client.get(f"datastores/{name}/")
        self.name = data["name"]
        self.datastore_type = data["kind"]
        self.is_default = data.get("is_default", False)

    def __repr__(self) -> str:
        return f"Datastore(name='{self.name}', type='{self.datastore_type}')"

    @classmethod
    def get(cls, workspace, datastore_name: str) -> Datastore:
        return cls(workspace, datastore_name)

    @classmethod
    def get_default(cls, workspace) -> Datastore:
        return workspace.get_default_datastore()

    @classmethod
    def _from_dict(cls, workspace, data: dict) -> Datastore:
        store = cls.__new__(cls)
        store.workspace = workspace
        store.name = data["name"]
        store.datastore_type = data["kind"]
        store.is_default = data.get("is_default", False)
        return store

    @classmethod
    def _from_json(cls, workspace, workspace_info: dict, default: bool = False) -> Datastore:
        return cls(workspace, workspace_info["default_datastore"])
