"""What of the worker's environment variables reaches a step and a build: an allow list."""

from __future__ import annotations

from runs import execution, sandbox

WORKER = {
    "PATH": "/usr/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "DATABASE_URL": "postgres://studio:pw@db/studio",
    "CELERY_BROKER_URL": "redis://:pw@redis/0",
    "SECRET_KEY": "k" * 50,
    "STUDIO_ENCRYPTION_KEY": "key",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "AZURE_STORAGE_KEY": "azure",
    "PGPASSWORD": "pw",
    "HTTPS_PROXY": "http://user:pw@proxy:3128",
    "UV_INDEX_URL": "https://user:pw@index/simple",
    "CUDA_VISIBLE_DEVICES": "1",
}


def test_a_step_gets_only_the_listed_variables_of_the_worker(monkeypatch, settings):
    for name, value in WORKER.items():
        monkeypatch.setenv(name, value)
    passed = execution._base_environment()
    assert {k: passed[k] for k in ("PATH", "LANG", "LC_ALL")} == {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    assert not (set(WORKER) - {"PATH", "LANG", "LC_ALL"}) & set(passed)
    # An administrator names more; Studio's own settings are never passed on.
    settings.STUDIO_STEP_VARIABLES = ["CUDA_VISIBLE_DEVICES", "DATABASE_URL", "SECRET_KEY"]
    passed = execution._base_environment()
    assert passed["CUDA_VISIBLE_DEVICES"] == "1"
    assert "DATABASE_URL" not in passed and "SECRET_KEY" not in passed


def test_a_build_also_gets_uvs_settings_and_the_proxies():
    passed = sandbox.passed_variables(WORKER, sandbox.BUILD_VARIABLES, sandbox.BUILD_PREFIXES)
    assert set(passed) == {"PATH", "LANG", "LC_ALL", "HTTPS_PROXY", "UV_INDEX_URL"}
