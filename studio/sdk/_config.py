"""Where the SDK finds its server and token, and azureml's own workspace config file.

A project folder from Azure keeps working as is: its ``config.json`` (searched where azureml
searches) names the workspace, its subscription and resource group; the Studio server and
token come from ``STUDIO_URL``/``STUDIO_TOKEN`` or ``.studio/config.json`` (searched upward).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from studio.sdk.exceptions import UserErrorException

STUDIO_CONFIG = Path(".studio") / "config.json"
# azureml's search order: the folder, then each file name, each walking up to the root.
AZUREML_FOLDERS = (".azureml", "aml_config", None)
AZUREML_FILES = ("config.json", "project.json")

_last_token: str | None = None


def remember_token(token: str) -> None:
    """The token of the workspace this process made last: what an azureml auth object stands for."""
    global _last_token
    _last_token = token


def _walk_up(start: Path, relative: Path) -> Path | None:
    for folder in [start, *start.parents]:
        candidate = folder / relative
        if candidate.is_file():
            return candidate
    return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserErrorException(f"{path} is not a readable JSON file: {exc}") from None
    if not isinstance(data, dict):
        raise UserErrorException(f"{path} must hold a JSON object.")
    return data


def studio_connection(start: str | os.PathLike | None = None) -> dict | None:
    """{"url", "token", ...}: STUDIO_URL and STUDIO_TOKEN, else ``.studio/config.json`` upward
    (which may also name the workspace, as ``Workspace.write_config()`` writes it)."""
    url, token = os.environ.get("STUDIO_URL"), os.environ.get("STUDIO_TOKEN")
    if url and token:
        return {"url": url, "token": token}
    origin = Path(start or os.getcwd()).resolve()
    if origin.is_file():
        origin = origin.parent
    found = _walk_up(origin, STUDIO_CONFIG)
    if found is not None:
        data = _read_json(found)
        if data.get("url") and data.get("token"):
            return {k: str(v) for k, v in data.items() if isinstance(v, str)}
    return None


def studio_token() -> str | None:
    """The Studio token an azureml authentication object authenticates with."""
    if os.environ.get("STUDIO_TOKEN"):
        return os.environ["STUDIO_TOKEN"]
    if _last_token:
        return _last_token
    connection = studio_connection()
    return connection["token"] if connection else None


def no_server_message() -> str:
    return (
        "No Studio server is configured: set STUDIO_URL and STUDIO_TOKEN, or write "
        f'{STUDIO_CONFIG} ({{"url": ..., "token": ...}}) in this folder or one above it '
        "(Workspace.write_config() writes one)."
    )


def find_azureml_config(path: str | os.PathLike | None, file_name: str | None) -> Path | None:
    """azureml's workspace config file for ``path`` (a file, or a folder to search upward)."""
    start = Path(path or ".").resolve()
    if start.is_file():
        return start
    names = (file_name,) if file_name else AZUREML_FILES
    for folder in AZUREML_FOLDERS:
        for name in names:
            found = _walk_up(start, Path(folder, name) if folder else Path(name))
            if found is not None:
                return found
    return None


def workspace_info(found: Path) -> dict:
    """subscription_id, resource_group and workspace_name of a config file, as azureml reads it."""
    data = _read_json(found)
    scope = data.get("Scope")
    if scope:
        pieces = str(scope).split("/")
        if len(pieces) < 9:
            raise UserErrorException(f"The Scope in {found} is not a workspace resource id.")
        return {
            "subscription_id": pieces[2],
            "resource_group": pieces[4],
            "workspace_name": pieces[8],
        }
    if not all(k in data for k in ("subscription_id", "resource_group", "workspace_name")):
        raise UserErrorException(
            f"The config file found in: {found} does not seem to contain the required "
            "parameters. Please make sure it contains your subscription_id, resource_group "
            "and workspace_name."
        )
    return {k: str(data[k]) for k in ("subscription_id", "resource_group", "workspace_name")}
