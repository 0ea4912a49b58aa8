"""Pipelines written the way Microsoft's published Azure ML v1 examples write them.

Each example is a project folder (its notebook's code as ``notebook.py``, its step folders
beside it) run as a user would run it: in a copy of the folder that holds an Azure
``.azureml/config.json``, with only the Studio server and token in the environment. The data
the examples download from Azure's blob storage is served from ``data/`` by a web server on
loopback; its address is in DATA_URL and IRIS_URL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HERE = Path(__file__).parent
AZURE_CONFIG = {
    "subscription_id": "6560575d-fa06-4e7d-95fb-f962e74efd7a",
    "resource_group": "ml-examples",
    "workspace_name": "examples-ws",
}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the test's output stays readable
        return


@pytest.fixture(scope="session")
def web_data():
    """A web server on loopback serving tests/compat/data; its base URL."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_QuietHandler, directory=str(HERE / "data"))
    )
    thread = threading.Thread(target=server.serve_forever, name="web-data", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def example(studio, web_data, tmp_path):
    """Run an example's notebook.py in a copy of its folder; returns the finished process."""

    def run(name: str, timeout: float = 300, **env) -> subprocess.CompletedProcess:
        folder = tmp_path / name
        shutil.copytree(HERE / "examples" / name, folder)
        (folder / ".azureml").mkdir()
        (folder / ".azureml" / "config.json").write_text(json.dumps(AZURE_CONFIG))
        done = subprocess.run(
            [sys.executable, "notebook.py"],
            cwd=folder,
            env={
                **os.environ,
                "STUDIO_URL": studio.url,
                "STUDIO_TOKEN": studio.token,
                "DATA_URL": f"{web_data}/Titanic.csv",
                "IRIS_URL": f"{web_data}/iris.csv",
                "PYTHONUNBUFFERED": "1",
                **env,
            },
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        (tmp_path / f"{name}.out").write_text(done.stdout + "\n--- stderr\n" + done.stderr)
        assert done.returncode == 0, f"{name} failed:\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
        return done

    return run
