"""Datastores and web datasets never reach loopback, link-local or private addresses unless
STUDIO_DATASTORE_ALLOWED_HOSTS lists them: at registration, after DNS, after redirects, and
wherever a datastore is used (the API, the pages, the worker)."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from studio.sdk.core import Dataset, Experiment
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from studio.workspace.egress import parse_allowed_hosts, refusal
from tests.harness import PYTHON, ROOT
from tests.integration.emulators import AZURITE_ACCOUNT, AZURITE_KEY, S3_KEY, S3_SECRET

STEPS = str(ROOT / "tests" / "sources" / "steps")


class _Listener(ThreadingHTTPServer):
    """A web server on loopback that counts the connections it accepts; it answers every
    request with ``redirect_to`` (a 302) or with a small CSV."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", redirect_to: str = ""):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.connections = 0
        self.redirect_to = redirect_to
        super().__init__((host, 0), _Answer)
        self.host = f"[{host}]" if ":" in host else host
        self.port = self.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def verify_request(self, request, client_address) -> bool:
        self.connections += 1
        return True

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Answer(BaseHTTPRequestHandler):
    server: _Listener

    def _answer(self):
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"a,b\n1,2\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = _answer

    def log_message(self, *args):
        pass


@contextmanager
def _listening(host: str = "127.0.0.1", redirect_to: str = "") -> Iterator[_Listener]:
    server = _Listener(host, redirect_to)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _alice_administers(request):
    """Registering a datastore needs the admin role: here alice has it (the SSRF is what an
    administrator's registration could reach)."""
    if "alice" in request.fixturenames:
        alice = request.getfixturevalue("alice")
        alice.is_staff = True
        alice.save(update_fields=["is_staff"])


def _register(api, kind: str, endpoint: str, name: str = "", **extra):
    name = name or f"ds{uuid.uuid4().hex[:8]}"
    if kind == "s3":
        body = {"name": name, "kind": "s3", "bucket": f"bucket-{name}", "endpoint_url": endpoint}
        body |= {"key": S3_KEY, "secret": S3_SECRET}
    else:
        body = {"name": name, "kind": "azureblob", "account_name": AZURITE_ACCOUNT}
        body |= {"container": f"container-{name}", "endpoint": endpoint, "account_key": AZURITE_KEY}
    return api.post("/api/datastores/", body | extra, format="json")


FIELD = {"s3": "endpoint_url", "azureblob": "endpoint"}


# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("::ffff:127.0.0.1", "IPv6 form of 127.0.0.1, a loopback"),
        ("::ffff:169.254.169.254", "IPv6 form of 169.254.169.254, a link-local"),
        ("2002:a00:1::", "IPv6 form of 10.0.0.1, a private"),  # 6to4
        ("64:ff9b::c0a8:101", "IPv6 form of 192.168.1.1, a private"),  # NAT64
    ],
)
def test_addresses_that_are_not_public_are_refused_with_the_reason(address, reason):
    assert reason in refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address):
    assert refusal(ipaddress.ip_address(address)) == ""


def test_allowed_hosts_take_names_addresses_networks_and_ports():
    rules = parse_allowed_hosts(
        ["minio.internal:9000", "Storage.Local.", "10.0.0.0/8", "[::1]:10000", "fd00::5"]
    )
    assert [(r.host, str(r.network) if r.network else "", r.port) for r in rules] == [
        ("minio.internal", "", 9000),
        ("storage.local", "", None),
        ("", "10.0.0.0/8", None),
        ("", "::1/128", 10000),
        ("", "fd00::5/128", None),
    ]
    assert rules[2].admits(ipaddress.ip_address("10.9.8.7"), 443)
    assert rules[2].admits(ipaddress.ip_address("::ffff:10.9.8.7"), 443)
    assert not rules[3].admits(ipaddress.ip_address("::1"), 10001)


@pytest.mark.parametrize(
    "entry", ["10.0.0.1/8", "http://minio", "minio:port", "[::1]:0", "two words", "a:1:b"]
)
def test_a_bad_allowed_host_stops_studio_at_start_naming_it(entry):
    done = subprocess.run(
        [PYTHON, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "STUDIO_DATASTORE_ALLOWED_HOSTS": f"localhost,{entry}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"STUDIO_DATASTORE_ALLOWED_HOSTS: {entry!r} is not a host name" in done.stderr


# --- registration --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("create", [False, True], ids=["existing", "create_if_not_exists"])
@pytest.mark.parametrize("kind", ["s3", "azureblob"])
@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("http://127.0.0.1:{port}", "127.0.0.1 is a loopback address"),
        ("http://[::1]:{port}", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]:{port}", "the IPv6 form of 127.0.0.1, a loopback address"),
        ("http://localhost:{port}", "(localhost is 127.0.0.1): 127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/", "169.254.169.254 is a link-local address"),
        ("http://10.20.30.40:9000/", "10.20.30.40 is a private address"),
    ],
)
def test_registering_a_datastore_at_an_internal_address_is_a_400_naming_the_field(
    api, settings, kind, where, reason, create
):
    settings.STUDIO_DATASTORE_CHECK_SECONDS = 3
    with _listening("::1" if "[::1]" in where else "127.0.0.1") as listener:
        endpoint = where.format(port=listener.port)
        response = _register(api, kind, endpoint, name="internal", create_if_not_exists=create)
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["field"] == FIELD[kind]
        assert reason in error["message"] and "STUDIO_DATASTORE_ALLOWED_HOSTS" in error["message"]
        assert listener.connections == 0  # refused before any connection was made
    assert api.get("/api/datastores/internal/").status_code == 404


@pytest.mark.django_db
def test_registering_a_web_dataset_at_an_internal_address_is_a_400_naming_the_path(api):
    with _listening() as listener:
        body = {"name": "web", "kind": "tabular", "paths": [[listener.url, "a.csv"]]}
        response = api.post("/api/datasets/", body, format="json")
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert (
            error["field"] == "paths[0]" and "127.0.0.1 is a loopback address" in error["message"]
        )
        assert listener.connections == 0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["s3", "azureblob"])
def test_the_allow_list_lets_a_named_host_and_port_through(api, settings, kind, request):
    emulator = request.getfixturevalue("moto" if kind == "s3" else "azurite")
    port = int(emulator.split(":")[2].split("/")[0])
    endpoint = emulator.replace("127.0.0.1", "localhost")
    settings.STUDIO_DATASTORE_ALLOWED_HOSTS = [f"localhost:{port}"]
    created = _register(api, kind, endpoint, create_if_not_exists=True)
    assert created.status_code == 201, created.content
    with _listening() as other_port:  # the same host on another port is still refused
        refused = _register(api, kind, other_port.url)
        assert refused.status_code == 400 and "loopback" in refused.json()["error"]["message"]
        assert other_port.connections == 0


# --- after redirects -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_redirect_to_a_refused_address_is_refused_when_it_is_followed(api, settings):
    """Azure's client follows redirects: the allowed server sends it to another port."""
    with _listening() as target, _listening(redirect_to=target.url) as allowed:
        settings.STUDIO_DATASTORE_ALLOWED_HOSTS = [f"127.0.0.1:{allowed.port}"]
        response = _register(api, "azureblob", f"{allowed.url}/{AZURITE_ACCOUNT}")
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["field"] == "endpoint"
        assert f"Connection to 127.0.0.1 port {target.port} refused" in error["message"]
        assert "loopback" in error["message"]
        assert allowed.connections >= 1 and target.connections == 0


@pytest.mark.django_db
def test_a_web_dataset_redirected_to_a_refused_address_shows_the_refusal_in_its_preview(
    api, alice, client, settings
):
    with _listening() as target, _listening(redirect_to=target.url) as allowed:
        settings.STUDIO_DATASTORE_ALLOWED_HOSTS = [f"127.0.0.1:{allowed.port}"]
        body = {"name": "webdata", "kind": "tabular", "paths": [[allowed.url, "a.csv"]]}
        assert api.post("/api/datasets/", body, format="json").status_code == 201
        client.force_login(alice)
        page = client.get(reverse("dataset-detail", args=["webdata"])).content.decode()
        assert f"Connection to 127.0.0.1 port {target.port} refused" in page
        assert allowed.connections >= 1 and target.connections == 0
        allowed.redirect_to = ""  # answered by the allowed server itself, the preview works
        page = client.get(reverse("dataset-detail", args=["webdata"])).content.decode()
        assert "refused" not in page and "<td>1</td>" in page


# --- a datastore whose address became refused ----------------------------------------------------


@pytest.mark.django_db
def test_the_api_and_the_pages_refuse_a_datastore_whose_address_became_refused(
    api, alice, client, settings, moto
):
    port = int(moto.rsplit(":", 1)[1])
    settings.STUDIO_DATASTORE_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    name = f"moved{uuid.uuid4().hex[:6]}"
    assert _register(api, "s3", moto, name=name, create_if_not_exists=True).status_code == 201
    upload = api.put(
        f"/api/datastores/{name}/upload/?path=a.csv",
        data=b"a\n1\n",
        content_type="application/octet-stream",
    )
    assert upload.status_code == 201, upload.content
    assert api.get(f"/api/datastores/{name}/download/?path=a.csv").status_code == 200

    settings.STUDIO_DATASTORE_ALLOWED_HOSTS = []  # the row stays; the address is refused now
    for url in (f"/api/datastores/{name}/download/?path=a.csv", f"/api/datastores/{name}/files/"):
        refused = api.get(url)
        assert refused.status_code == 409, (url, refused.content)
        error = refused.json()["error"]
        assert error["field"] == "endpoint_url", url
        assert "127.0.0.1 is a loopback address" in error["message"], url
    client.force_login(alice)
    page = client.get(reverse("datastore-detail", args=[name])).content.decode()
    assert "127.0.0.1 is a loopback address" in page and "a.csv" not in page
    download = client.get(reverse("datastore-download", args=[name]) + "?path=a.csv")
    assert download.status_code == 400 and b"loopback" in download.content


def _failure_of_a_step_reading(ws, dataset, tag: str) -> str:
    """Run one step with ``dataset`` as its input; the step's error (it must fail)."""
    step = PythonScriptStep(
        name="read",
        script_name="noop.py",
        source_directory=STEPS,
        inputs=[dataset.as_named_input("raw")],
        allow_reuse=False,
    )
    run = Experiment(ws, f"ssrf-{tag}").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    return run.find_step_run("read")[0].get_details()["error"]["error"]["message"]


@pytest.mark.integration
def test_the_worker_refuses_a_datastore_whose_address_is_refused(studio, ws):
    """A datastore row stored before (or whose name now resolves elsewhere): the suite's
    Studio allows 127.0.0.1, not 127.0.0.2, where this store's server listens."""
    tag = uuid.uuid4().hex[:8]
    with _listening("127.0.0.2") as listener:
        options = {"bucket": "bucket-old", "endpoint_url": listener.url}
        studio.manage(
            "shell",
            "-c",
            "from studio.workspace.models import Datastore\n"
            "from studio.workspace.services import register_dataset\n"
            f"d = Datastore(name='old_{tag}', kind='s3', options={json.dumps(options)})\n"
            "d.set_secrets({'key': 'k', 'secret': 's'}); d.save()\n"
            f"register_dataset(name='old_data_{tag}', kind='file', "
            f"paths=[['old_{tag}', 'raw/a.csv']], options={{}})\n",
        )
        error = _failure_of_a_step_reading(ws, Dataset.get_by_name(ws, f"old_data_{tag}"), tag)
        assert "127.0.0.2 is a loopback address" in error, error
        assert "STUDIO_DATASTORE_ALLOWED_HOSTS" in error
        assert listener.connections == 0


@pytest.mark.integration
def test_the_worker_refuses_a_web_dataset_redirected_to_a_refused_address(studio, ws):
    """The web server is on 127.0.0.1, which the suite's Studio allows; it redirects to
    127.0.0.2, which it does not: the worker's own connection is refused."""
    tag = uuid.uuid4().hex[:8]
    with _listening("127.0.0.2") as target, _listening(redirect_to=target.url) as allowed:
        dataset = Dataset.File.from_files(f"{allowed.url}/a.csv")
        error = _failure_of_a_step_reading(ws, dataset, tag)
        assert f"Connection to 127.0.0.2 port {target.port} refused" in error, error
        assert "loopback" in error
        assert allowed.connections >= 1 and target.connections == 0
