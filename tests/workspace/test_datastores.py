"""Path confinement and file listing of datastores (plain Python, real folders)."""

from __future__ import annotations

import io
import os

import pytest

from studio.core.errors import StudioError
from studio.core.paths import clean_path, fingerprint_files
from studio.workspace.datastores import Store, StoreConfig

ESCAPES = [
    "../etc/passwd",
    "a/../../b",
    "/etc/passwd",
    "..\\x",
    "a\\b",
    "%2e%2e/x",
    "%252e%252e%252fx",
    "..%00",
    "a\x00b",
    "file:///etc/passwd",
    "s3://other-bucket/k",
    "x#/../",
    "x?/../",
    "x;/../",
    "~/x",
    "C:/x",
    "..",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_it_refuses_every_path_escape_form(path):
    with pytest.raises(StudioError):
        clean_path(path)


def test_it_normalises_harmless_paths():
    assert clean_path("a//b/./c/") == "a/b/c"
    assert clean_path("") == ""
    assert clean_path("raw/*.csv", allow_glob=True) == "raw/*.csv"
    with pytest.raises(StudioError):
        clean_path("raw/*.csv")


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "root"
    (root / "raw" / "sub").mkdir(parents=True)
    (root / "raw" / "a.csv").write_text("a\n1\n")
    (root / "raw" / "sub" / "b.csv").write_text("b\n2\n")
    (tmp_path / "secret.txt").write_text("outside")
    return Store(StoreConfig(name="local", kind="local", root=str(root)))


def test_it_does_not_follow_symlinks_out_of_a_local_store(store, tmp_path):
    root = tmp_path / "root"
    os.symlink(tmp_path / "secret.txt", root / "raw" / "link.txt")
    os.symlink(tmp_path, root / "escape")
    assert "link.txt" not in [f.path.rsplit("/", 1)[-1] for f in store.walk("raw")]
    with pytest.raises((StudioError, FileNotFoundError)):
        store.open_read("raw/link.txt")
    with pytest.raises(StudioError):
        store.open_read("escape/secret.txt")
    with pytest.raises(StudioError):
        store.write_file("escape/new.txt", io.BytesIO(b"x"))
    assert not (tmp_path / "new.txt").exists()


def test_it_lists_globs_and_folders(store):
    assert [f.path for f in store.glob("raw/*.csv")] == ["raw/a.csv"]
    assert sorted(f.path for f in store.glob("raw")) == ["raw/a.csv", "raw/sub/b.csv"]
    assert [e["name"] for e in store.ls("raw")] == ["a.csv", "sub"]


def test_the_data_fingerprint_changes_when_a_file_changes(store, tmp_path):
    before = fingerprint_files(list(store.walk("raw")))
    assert fingerprint_files(list(store.walk("raw"))) == before
    (tmp_path / "root" / "raw" / "a.csv").write_text("a\n1\n2\n")
    assert fingerprint_files(list(store.walk("raw"))) != before


def test_it_refuses_to_overwrite_unless_asked(store):
    store.write_file("raw/new.txt", io.BytesIO(b"one"))
    with pytest.raises(FileExistsError):
        store.write_file("raw/new.txt", io.BytesIO(b"two"))
    store.write_file("raw/new.txt", io.BytesIO(b"two"), overwrite=True)
    with store.open_read("raw/new.txt") as fh:
        assert fh.read() == b"two"


def test_studios_own_markers_and_attempt_folders_are_never_listed(tmp_path):
    from studio.core.paths import ATTEMPTS_FOLDER, EMPTY_MARKER

    store = Store(StoreConfig(name="d", kind="local", root=str(tmp_path)))
    (tmp_path / "out" / "empty").mkdir(parents=True)
    (tmp_path / "out" / "empty" / EMPTY_MARKER).write_bytes(b"")
    (tmp_path / ATTEMPTS_FOLDER / "step.1" / "o").mkdir(parents=True)
    (tmp_path / ATTEMPTS_FOLDER / "step.1" / "o" / "partial.txt").write_text("x")
    (tmp_path / "out" / "kept.txt").write_text("y")
    assert [f.path for f in store.walk("")] == ["out/kept.txt"]
    assert [e["name"] for e in store.ls("")] == ["out"]
    assert [e["name"] for e in store.ls("out")] == ["empty", "kept.txt"]


def test_an_empty_folder_is_kept_and_found(tmp_path):
    store = Store(StoreConfig(name="d", kind="local", root=str(tmp_path)))
    assert not store.holds("out/none")
    store.keep_empty_folder("out/none")
    assert store.holds("out/none") and list(store.walk("out/none")) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.test/demo/Titanic.csv", ("https://example.test", "demo/Titanic.csv")),
        ("http://127.0.0.1:8080/a/b.csv", ("http://127.0.0.1:8080", "a/b.csv")),
        ("http://[::1]:8080/x", ("http://[::1]:8080", "x")),
    ],
)
def test_a_web_url_splits_into_its_server_and_a_confined_path(url, expected):
    from studio.core.paths import is_origin, split_url

    assert split_url(url) == expected
    assert is_origin(expected[0])


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.test/x",
        "https://user:pw@example.test/x",
        "https://example.test/",
        "https://example.test/a/../../etc/passwd",
        "https://example.test/a?sig=1",
        "https://example.test",
    ],
)
def test_a_web_url_that_is_not_a_plain_file_address_is_refused(url):
    from studio.core.paths import split_url

    with pytest.raises(StudioError):
        split_url(url)
