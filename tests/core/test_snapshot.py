"""Source snapshots: which files, a content address independent of time, a safe reader."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from studio.core.errors import StudioError
from studio.core.snapshot import build, collect_files, read_zip


def _tree(root, files: dict[str, str]):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in names:
            zf.writestr(zipfile.ZipInfo(name), b"data")
    return buffer.getvalue()


def test_it_honours_amlignore_before_gitignore(tmp_path):
    _tree(
        tmp_path,
        {
            ".amlignore": "data/\n*.csv\n",
            ".gitignore": "train.py\n",
            "train.py": "print(1)",
            "big.csv": "1,2",
            "data/raw.txt": "x",
            "src/util.py": "",
        },
    )
    assert collect_files(tmp_path) == ["src/util.py", "train.py"]


def test_it_falls_back_to_gitignore(tmp_path):
    _tree(
        tmp_path,
        {
            ".gitignore": "*.log\nbuild/\n",
            "train.py": "",
            "run.log": "",
            "build/out.bin": "",
            "keep/run.txt": "",
        },
    )
    assert collect_files(tmp_path) == ["keep/run.txt", "train.py"]


def test_it_always_skips_git_pycache_and_compiled_files(tmp_path):
    _tree(
        tmp_path, {".git/HEAD": "ref", "__pycache__/m.cpython-311.pyc": "", "m.pyc": "", "m.py": ""}
    )
    assert collect_files(tmp_path) == ["m.py"]


def test_it_refuses_a_source_directory_that_does_not_exist(tmp_path):
    with pytest.raises(StudioError, match="is not a directory"):
        collect_files(tmp_path / "missing")


def test_the_digest_is_stable_and_ignores_modification_times(tmp_path):
    _tree(tmp_path, {"train.py": "print(1)", "src/util.py": "X = 1"})
    digest, data, files = build(tmp_path)
    os.utime(tmp_path / "train.py", (1_000_000_000, 1_000_000_000))
    again, data_again, _ = build(tmp_path)
    assert again == digest
    assert data_again == data
    assert files == ["src/util.py", "train.py"]


def test_the_digest_is_the_same_for_a_copy_in_another_folder(tmp_path):
    one = _tree(tmp_path / "one", {"train.py": "print(1)"})
    two = _tree(tmp_path / "two", {"train.py": "print(1)"})
    assert build(one)[0] == build(two)[0]


def test_the_digest_changes_with_content_and_with_names(tmp_path):
    _tree(tmp_path, {"train.py": "print(1)"})
    digest = build(tmp_path)[0]
    (tmp_path / "train.py").write_text("print(2)")
    changed = build(tmp_path)[0]
    (tmp_path / "train.py").rename(tmp_path / "main.py")
    renamed = build(tmp_path)[0]
    assert len({digest, changed, renamed}) == 3


def test_the_server_reads_the_same_digest_from_the_zip(tmp_path):
    _tree(tmp_path, {"train.py": "print(1)", "src/util.py": "X = 1"})
    digest, data, files = build(tmp_path)
    read_digest, read_files = read_zip(data)
    assert read_digest == digest
    assert sorted(read_files) == files


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "src/../../x", "C:/x", "a\\..\\x"])
def test_read_zip_refuses_an_unsafe_entry_name(name):
    with pytest.raises(StudioError, match="is not a safe relative path"):
        read_zip(_zip("ok.py", name))


def test_read_zip_refuses_something_that_is_not_a_zip():
    with pytest.raises(StudioError, match="not a zip file"):
        read_zip(b"PK not really")
