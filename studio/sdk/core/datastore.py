"""``Datastore``: a named place for data (``workspaceblobstore`` by default, S3, Azure Blob, a folder)."""

from __future__ import annotations

import os
from pathlib import Path

from studio.sdk._names import checked_name
from studio.sdk.data.data_reference import DataReference
from studio.sdk.data.datasets import _download
from studio.sdk.exceptions import UserErrorException


class Datastore:
    def __init__(self, workspace, name: str | None = None):
        self.workspace = workspace
        if name is None:
            name = workspace._client.get("workspace/")["default_datastore"]
        self._load(workspace._client.get(f"datastores/{name}/"))

    def _load(self, data: dict) -> None:
        self.name = data["name"]
        self.datastore_type = {"local": "Local", "s3": "S3", "azureblob": "AzureBlob"}.get(
            data["kind"], data["kind"]
        )
        self.kind = data["kind"]
        self.is_default = data.get("is_default", False)
        options = data.get("options", {})
        self.container_name = options.get("container")
        self.account_name = options.get("account_name")
        self.bucket_name = options.get("bucket")

    def __repr__(self) -> str:
        return f"Datastore(name='{self.name}', type='{self.datastore_type}')"

    @classmethod
    def _from_dict(cls, workspace, data: dict) -> Datastore:
        store = cls.__new__(cls)
        store.workspace = workspace
        store._load(data)
        return store

    @classmethod
    def get(cls, workspace, datastore_name: str) -> Datastore:
        return cls(workspace, datastore_name)

    @classmethod
    def get_default(cls, workspace) -> Datastore:
        return workspace.get_default_datastore()

    @classmethod
    def _register(cls, workspace, body: dict) -> Datastore:
        checked_name("datastore", body.get("name"))
        return cls._from_dict(workspace, workspace._client.post("datastores/", body))

    @staticmethod
    def register_azure_blob_container(
        workspace,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout=None,
        grant_workspace_access: bool = False,
        subscription_id=None,
        resource_group=None,
    ) -> Datastore:
        """Register an Azure Blob container. ``endpoint`` is a storage suffix (core.windows.net) or a full blob URL."""
        url = ""
        if endpoint:
            url = (
                endpoint
                if endpoint.startswith(("http://", "https://"))
                else f"{protocol or 'https'}://{account_name}.blob.{endpoint}"
            )
        return Datastore._register(
            workspace,
            {
                "name": datastore_name,
                "kind": "azureblob",
                "account_name": account_name,
                "container": container_name,
                "endpoint": url,
                "account_key": account_key or "",
                "sas_token": sas_token or "",
                "overwrite": overwrite,
                "create_if_not_exists": create_if_not_exists,
            },
        )

    @staticmethod
    def register_s3(
        workspace,
        datastore_name: str,
        bucket_name: str,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
    ) -> Datastore:
        """Register an S3 bucket on any S3-compatible store (``endpoint_url``)."""
        return Datastore._register(
            workspace,
            {
                "name": datastore_name,
                "kind": "s3",
                "bucket": bucket_name,
                "endpoint_url": endpoint_url or "",
                "region": region or "",
                "key": access_key_id or "",
                "secret": secret_access_key or "",
                "overwrite": overwrite,
                "create_if_not_exists": create_if_not_exists,
            },
        )

    @staticmethod
    def register_local(
        workspace, datastore_name: str, path: str, overwrite: bool = False
    ) -> Datastore:
        """Register a folder on the server (admins only, under STUDIO_LOCAL_DATASTORE_ROOTS)."""
        return Datastore._register(
            workspace,
            {"name": datastore_name, "kind": "local", "root": str(path), "overwrite": overwrite},
        )

    def path(
        self, path: str | None = None, data_reference_name: str | None = None
    ) -> DataReference:
        return DataReference(self, data_reference_name, path)

    def as_mount(self) -> DataReference:
        return DataReference(self, mode="mount")

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        return DataReference(self, mode="download", path_on_compute=path_on_compute)

    def as_upload(self, path_on_compute: str | None = None) -> DataReference:
        return DataReference(self, mode="upload", path_on_compute=path_on_compute)

    def _put(self, path: str, local: Path, overwrite: bool) -> None:
        client = self.workspace._client
        with open(local, "rb") as fh:
            client.request(
                "PUT",
                f"datastores/{self.name}/upload/",
                params={"path": path, "overwrite": str(bool(overwrite)).lower()},
                data=fh,
                headers={"Content-Type": "application/octet-stream"},
                timeout=3600,
            )

    def upload(
        self,
        src_dir: str,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload a local folder's files under ``target_path``."""
        root = Path(src_dir)
        if not root.is_dir():
            raise UserErrorException(f"src_dir {src_dir!r} is not a folder")
        files = sorted(p for p in root.rglob("*") if p.is_file())
        for index, local in enumerate(files, 1):
            remote = "/".join(
                filter(None, [(target_path or "").strip("/"), local.relative_to(root).as_posix()])
            )
            self._put(remote, local, overwrite)
            if show_progress:
                print(f"Uploaded {local}, {index} files out of an estimated total of {len(files)}")
        return DataReference(self, path_on_datastore=target_path)

    def upload_files(
        self,
        files: list[str],
        relative_root: str | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload files; their paths below ``relative_root`` (else their names) are kept under ``target_path``."""
        for index, name in enumerate(files, 1):
            local = Path(name)
            if not local.is_file():
                raise UserErrorException(f"{name} is not a file")
            relative = os.path.relpath(local, relative_root) if relative_root else local.name
            if relative.startswith(".."):
                raise UserErrorException(f"{name} is not under relative_root {relative_root}")
            remote = "/".join(
                filter(None, [(target_path or "").strip("/"), Path(relative).as_posix()])
            )
            self._put(remote, local, overwrite)
            if show_progress:
                print(f"Uploaded {local}, {index} files out of an estimated total of {len(files)}")
        return DataReference(self, path_on_datastore=target_path)

    def download(
        self,
        target_path: str,
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Download every file under ``prefix`` into ``target_path`` (keeping their paths); returns the count."""
        entries = self.workspace._client.get(
            f"datastores/{self.name}/files/", path=prefix or "", recursive="true"
        )
        count = 0
        for entry in entries:
            destination = Path(target_path) / entry["path"]
            if destination.exists() and not overwrite:
                continue
            _download(self.workspace, self.name, entry["path"], destination)
            count += 1
            if show_progress:
                print(
                    f"Downloaded {entry['path']}, {count} files out of an estimated total of {len(entries)}"
                )
        return count
