"""The step panel's Code tab: the step's snapshot, file by file, highlighted on the server with
CSS classes only (no inline style: the CSP forbids it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runs import code
from tests import factories

pytestmark = pytest.mark.django_db
CSS = Path(__file__).resolve().parents[2] / "static" / "studio" / "pygments.css"
SCRIPT = "import os\n# </pre><script>alert(1)</script>\nprint(os.getcwd())\n"


@pytest.fixture
def run(api, alice, tmp_path):
    digest = factories.uploaded_snapshot(
        api, tmp_path, {"noop.py": SCRIPT, "README.md": "# Notes\n", "settings.cfg": "a = 1\n"}
    )
    return factories.submitted(factories.chain("a", digest=digest), alice, experiment="code")


def test_the_stylesheet_in_static_is_the_one_the_module_makes():
    assert CSS.read_text() == code.stylesheet(), (
        "static/studio/pygments.css is out of date: write runs.code.stylesheet() to it"
    )
    assert "pre {" not in CSS.read_text()  # only rules scoped to the code view


def test_highlighting_escapes_the_text_and_uses_classes_only():
    html = code.highlighted("step.py", SCRIPT)
    assert "&lt;/pre&gt;&lt;script&gt;" in html and "<script>" not in html
    assert 'class="kn"' in html  # "import" is a keyword of Python
    assert "style=" not in html
    assert "style=" not in code.highlighted("notes.unknownext", "<b>x</b>")


def test_the_code_tab_lists_the_snapshot_and_opens_the_script(client, alice, run):
    client.force_login(alice)
    step = run.steps.get()
    page = client.get(f"/runs/{run.id}/", {"step": step.id, "tab": "code"}).content.decode()
    assert "README.md" in page and "settings.cfg" in page
    assert "<h3>noop.py" in page  # the step's script is shown first
    assert '<span class="nb">print</span>' in page
    assert "&lt;script&gt;alert(1)" in page and "<script>alert(1)" not in page
    other = client.get(
        f"/runs/{run.id}/", {"step": step.id, "tab": "code", "file": "README.md"}
    ).content.decode()
    assert "<h3>README.md" in other and 'class="gh"' in other  # a Markdown heading


def test_only_files_of_the_snapshot_are_read(client, alice, run):
    client.force_login(alice)
    step = run.steps.get()
    for name in ("../../../etc/passwd", "/etc/passwd", "missing.py"):
        page = client.get(f"/runs/{run.id}/", {"step": step.id, "tab": "code", "file": name})
        assert page.status_code == 200
        assert "The snapshot has no file" in page.content.decode()
        assert "root:" not in page.content.decode()


def test_a_snapshot_without_its_files_says_so(client, alice):
    run = factories.submitted(factories.chain("a"), alice, experiment="code")
    client.force_login(alice)
    step = run.steps.get()
    page = client.get(f"/runs/{run.id}/", {"step": step.id, "tab": "code"}).content.decode()
    assert "not stored on this server" in page
