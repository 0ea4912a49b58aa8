"""The dataset page reads a version's files and preview from its datastore once: later visits
are answered from the dataset cache, keyed by the version."""

from __future__ import annotations

import pytest
from django.test import Client

from studio.workspace.services import register_dataset
from studio.workspace.storage import default_datastore


@pytest.fixture
def page(alice):
    client = Client()
    client.force_login(alice)
    return lambda url: client.get(url).content.decode()


def _csv(folder: str, text: str) -> str:
    store = default_datastore()
    (store.root_path / folder).mkdir(parents=True, exist_ok=True)
    (store.root_path / folder / "cities.csv").write_text(text)
    return f"{folder}/cities.csv"


@pytest.mark.django_db
def test_the_second_visit_does_not_read_the_datastore(page, tmp_path):
    store = default_datastore()
    path = _csv(f"cache-{tmp_path.name}", "city,people\nOslo,700000\n")
    register_dataset(name="cities", kind="tabular", paths=[[store.name, path]], options={})
    first = page("/datasets/cities/")
    assert "Oslo" in first and "cities.csv" in first

    (store.root_path / path).unlink()  # the datastore would now show nothing
    second = page("/datasets/cities/")
    assert "Oslo" in second and "cities.csv" in second
    assert "No files match" not in second

    # A new version is another key: read from the datastore afresh.
    _csv(path.rsplit("/", 1)[0], "city,people\nBergen,290000\n")
    register_dataset(
        name="cities",
        kind="tabular",
        paths=[[store.name, path]],
        options={},
        create_new_version=True,
    )
    assert "Bergen" in page("/datasets/cities/") and "Oslo" not in page("/datasets/cities/")
    assert "Oslo" in page("/datasets/cities/?version=1")


@pytest.mark.django_db
def test_an_unreadable_dataset_is_not_kept_and_is_read_again(page, tmp_path):
    store = default_datastore()
    path = f"cache-{tmp_path.name}/late.csv"
    register_dataset(name="late", kind="tabular", paths=[[store.name, path]], options={})
    (store.root_path / path).parent.mkdir(parents=True, exist_ok=True)
    (store.root_path / path).write_text('not,a\nclosed,"quote\n')
    assert "The data cannot be read" in page("/datasets/late/")
    (store.root_path / path).write_text("city\nTromsø\n")
    assert "Tromsø" in page("/datasets/late/")
