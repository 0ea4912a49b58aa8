"""tests/sources/seed/ holds every code block of the seed exactly as written, prefix changed."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.seed import SEED, STRAY_PAREN, block_files, seed_blocks

SHARED_SEED = SEED.parents[3] / "shared" / "seed" / "000_0c08ac2b6f7bfe96.txt"


def test_every_code_block_of_the_seed_is_held_verbatim_with_the_prefix_changed():
    blocks = seed_blocks()
    files = block_files()
    assert len(files) == len(blocks) == 12
    for path, expected in zip(files, blocks, strict=True):
        assert path.read_text() == expected, path.name
        assert "azureml" not in path.read_text()


def test_the_only_edit_is_the_stray_paren_of_the_reuse_block():
    printed = re.findall(r"```python\n(.*?)```", (SEED / "seed.md").read_text(), re.S)
    assert [i for i, text in enumerate(printed) if STRAY_PAREN[0] in text] == [2]
    with pytest.raises(SyntaxError):  # the reuse block as printed does not parse
        ast.parse(printed[2])
    for path in block_files():
        ast.parse(path.read_text(), filename=path.name)  # every block, as held, parses


def test_the_data_prep_script_is_the_seeds_second_block():
    assert (SEED / "scripts" / "data_prep.py").read_text() == seed_blocks()[1]


@pytest.mark.skipif(
    not SHARED_SEED.exists(), reason="the seed's source is not beside this checkout"
)
def test_the_copy_of_the_seed_is_the_seed():
    assert (SEED / "seed.md").read_text() == SHARED_SEED.read_text()


def test_the_seeds_imports_work_with_the_prefix_changed():
    lines = sorted(
        {
            line
            for text in seed_blocks()
            for line in text.splitlines()
            if line.startswith(("from studio.sdk", "import studio.sdk"))
        }
    )
    assert "from studio.sdk.pipeline.steps import PythonScriptStep, EstimatorStep" in lines
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(lines)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
