"""Production settings from the environment: the README's settings pass ``check --deploy``,
HTTPS-only cookies and HSTS behind a TLS proxy, a Content-Security-Policy on every response,
no DEBUG on a public host, and a data dir only its owner can read."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from studio.env import EnvError, env_proxy_ssl_header, is_loopback_host
from tests.harness import ROOT

VAR = "STUDIO_TEST_SETTING"
# Variables of the suite's own environment the subprocesses must not inherit (the suite sets
# DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; DATABASE_URL may name PostgreSQL).
OWN_SETTINGS = (
    "DJANGO_",
    "DATABASE_URL",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_",
    "SECURE_",
    "SESSION_COOKIE_",
)


def _production_settings() -> dict[str, str]:
    """The variables the README's Security section says to set in production, as written."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**What to set in production**") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README shows what to set in production in a sh block"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    return dict(line.split("=", 1) for line in lines)


def _manage(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``manage.py`` in a fresh process (settings are read once, at start), on SQLite."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**environ, "STUDIO_DATA_DIR": str(data_dir), **env},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask, which makes files world-readable
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_check_deploy_finds_nothing_with_the_documented_production_settings(tmp_path):
    done = _manage(
        tmp_path, "check", "--deploy", "--fail-level", "WARNING", **_production_settings()
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr


def test_check_deploy_still_warns_without_them(tmp_path):
    done = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr


PROBE = """
from django.test import Client
client = Client(SERVER_NAME="studio.example.com")
plain = client.get("/login/")
print("plain", plain.status_code, plain.headers.get("Location"))
secure = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
print("secure", secure.status_code)
print("hsts", secure.headers.get("Strict-Transport-Security"))
for name, morsel in secure.cookies.items():
    print("cookie", name, bool(morsel["secure"]))
"""


def test_behind_a_tls_proxy_cookies_are_https_only_hsts_is_sent_and_http_redirects(tmp_path):
    settings = _production_settings()
    assert _manage(tmp_path, "migrate", "-v", "0", **settings).returncode == 0
    done = _manage(tmp_path, "shell", "-c", PROBE, **settings)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "plain 301 https://studio.example.com/login/" in lines
    assert "secure 200" in lines
    assert "hsts max-age=31536000; includeSubDomains; preload" in lines
    assert "cookie csrftoken True" in lines


@pytest.mark.parametrize("hosts", ["*", "studio.example.com", "127.0.0.1,0.0.0.0", ".example.com"])
def test_debug_with_a_public_host_stops_at_start(tmp_path, hosts):
    done = _manage(tmp_path, "check", DEBUG="1", ALLOWED_HOSTS=hosts)
    assert done.returncode != 0
    assert "DEBUG=1 with a public ALLOWED_HOSTS" in done.stderr
    assert "Use DEBUG=1 only with loopback hosts" in done.stderr


def test_debug_on_loopback_hosts_starts(tmp_path):
    done = _manage(tmp_path, "check", DEBUG="1", ALLOWED_HOSTS="127.0.0.1,localhost,[::1],::1")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("studio.localhost", True),
        ("*", False),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("studio.example.com", False),
        (".example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_is_loopback_host(host, loopback):
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("X-Forwarded-Proto", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Ssl=on", ("HTTP_X_FORWARDED_SSL", "on")),
        ("", None),
    ],
)
def test_env_proxy_ssl_header_reads_a_header_and_its_value(monkeypatch, raw, expected):
    monkeypatch.setenv(VAR, raw)
    assert env_proxy_ssl_header(VAR) == expected


def test_env_proxy_ssl_header_refuses_what_is_not_a_header_name(monkeypatch):
    monkeypatch.setenv(VAR, "X Forwarded: https")
    with pytest.raises(EnvError, match=f"{VAR} must be a header name"):
        env_proxy_ssl_header(VAR)


def test_a_new_data_dir_is_private(tmp_path):
    data_dir = tmp_path / "data"
    assert _manage(data_dir, "migrate", "-v", "0").returncode == 0
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "secret_key") == 0o600
    database = data_dir / "studio.sqlite3"
    assert _mode(database) == 0o600
    for side in (
        database.with_name("studio.sqlite3-wal"),
        database.with_name("studio.sqlite3-shm"),
    ):
        if side.exists():
            assert _mode(side) == 0o600


def test_a_data_dir_made_readable_is_made_private_again_at_start(tmp_path):
    data_dir = tmp_path / "data"
    assert _manage(data_dir, "migrate", "-v", "0").returncode == 0
    database = data_dir / "studio.sqlite3"
    wal = database.with_name("studio.sqlite3-wal")
    wal.touch()
    key = (data_dir / "secret_key").read_text()
    data_dir.chmod(0o755)
    for path in (data_dir / "secret_key", database, wal):
        path.chmod(0o644)
    assert _manage(data_dir, "check").returncode == 0
    assert _mode(data_dir) == 0o700
    assert [_mode(p) for p in (data_dir / "secret_key", database, wal)] == [0o600] * 3
    assert (data_dir / "secret_key").read_text() == key  # the same secret, kept


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/login/", "/", "/runs/", "/api/runs/", "/no-such-page/", "/static/studio/studio.css"]
)
def test_every_response_carries_the_content_security_policy(client, path):
    response = client.get(path)
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives.get("script-src", "")
    assert "unsafe-eval" not in policy
