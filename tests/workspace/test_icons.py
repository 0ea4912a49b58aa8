"""Icons are inline SVGs in the text's colour, hidden from screen readers; no template uses an
emoji or another pictograph, which render as empty boxes without an emoji font."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from studio.workspace.storage import default_datastore

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Arrows are text; these blocks hold the symbols and emoji that need a special font.
PICTOGRAPHS = re.compile("[\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]")


def test_no_template_uses_an_emoji_or_pictograph():
    found = {
        f"{path.relative_to(TEMPLATES)}:{number}": PICTOGRAPHS.findall(line)
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PICTOGRAPHS.search(line)
    }
    assert found == {}


@pytest.mark.django_db
def test_the_datastore_page_draws_folder_and_file_icons_as_hidden_svgs(alice, tmp_path):
    store = default_datastore()
    folder = store.root_path / f"icons-{tmp_path.name}"
    (folder / "inner").mkdir(parents=True)
    (folder / "data.csv").write_text("a\n1\n")
    client = Client()
    client.force_login(alice)
    html = client.get(f"/datastores/{store.name}/?path={folder.name}").content.decode()
    icons = re.findall(r'<svg class="icon icon-(\w+)"[^>]*>', html)
    assert sorted(icons) == ["file", "folder", "up"]
    for tag in re.findall(r"<svg [^>]*>", html):
        assert 'aria-hidden="true"' in tag and 'stroke="currentColor"' in tag
    assert "📁" not in html
