"""Bodies through a real gunicorn web server: a 200 MB upload does not grow its workers' memory,
a chunked body (no Content-Length) is stored whole under the cap and refused past it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from tests import factories
from tests.harness import Studio, isolated_services, wait_until

pytestmark = pytest.mark.integration

MB = 1024 * 1024

CAP = 300 * MB


@pytest.fixture(scope="module")
def web():
    data_dir = Path(tempfile.mkdtemp(prefix="studio-bodies-"))
    server = Studio(data_dir, STUDIO_MAX_UPLOAD_BYTES=str(CAP), **isolated_services("bodies"))
    try:
        server.start_web().wait_http()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _workers(server: Studio) -> list[int]:
    master = server.procs["web"].pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def _peak_rss(pid: int) -> int:
    """The most memory the process has held resident (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def _chunks(size: int, chunk: int = 4 * MB):
    """A body of zeros sent chunked: requests sends no Content-Length for a generator."""
    for start in range(0, size, chunk):
        yield bytes(min(chunk, size - start))


def _upload_url(server: Studio, path: str) -> str:
    return f"{server.url}/api/datastores/workspaceblobstore/upload/?path={path}&overwrite=true"


def test_a_200_mb_snapshot_upload_does_not_grow_the_web_workers_memory(web, tmp_path):
    headers = {"Authorization": f"Bearer {web.token}"}
    wait_until(lambda: len(_workers(web)) == 2, message="two gunicorn workers")
    for i in range(8):  # every worker has answered an upload before it is measured
        warm = requests.put(
            _upload_url(web, f"warm/{i}.bin"), data=b"x", headers=headers, timeout=30
        )
        assert warm.status_code == 201, warm.content
    before = {pid: _peak_rss(pid) for pid in _workers(web)}

    archive = tmp_path / "big.zip"
    digest = factories.stored_zip(archive, {"train.py": 10, "data/big.bin": 200 * MB})
    with open(archive, "rb") as body:
        response = requests.put(
            f"{web.url}/api/snapshots/{digest}/upload/",
            data=body,
            headers={**headers, "Content-Type": "application/zip"},
            timeout=120,
        )
    assert response.status_code == 201, response.content
    grown = max(_peak_rss(pid) - before[pid] for pid in before)
    assert grown < 64 * MB, f"a worker's peak memory grew by {grown // MB} MB for a 200 MB upload"


def test_a_chunked_upload_is_stored_whole_under_the_cap_and_refused_past_it(web):
    headers = {"Authorization": f"Bearer {web.token}", "Content-Type": "application/octet-stream"}
    stored = requests.put(
        _upload_url(web, "chunked/whole.bin"), data=_chunks(40 * MB), headers=headers, timeout=120
    )
    assert stored.status_code == 201, stored.content
    assert stored.json()["size"] == 40 * MB
    on_disk = web.data_dir / "datastores" / "workspaceblobstore" / "chunked"
    assert (on_disk / "whole.bin").stat().st_size == 40 * MB

    try:
        refused = requests.put(
            _upload_url(web, "chunked/too-big.bin"),
            data=_chunks(CAP + 8 * MB),
            headers=headers,
            timeout=120,
        )
    except requests.ConnectionError:
        refused = None  # the server answered and closed while the body was still being sent
    if refused is not None:
        assert refused.status_code == 413, refused.content
        assert refused.json()["error"]["code"] == "payload_too_large"
    assert not (on_disk / "too-big.bin").exists()
    assert sorted(p.name for p in on_disk.iterdir()) == ["whole.bin"]
