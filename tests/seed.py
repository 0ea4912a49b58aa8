"""The seed document's code blocks, as tests/sources/seed/ holds them.

``tests/sources/seed/seed.md`` is the seed; ``blocks/`` holds each of its Python code blocks
with only the import prefix changed (``azureml.`` → ``studio.sdk.``) and one edit: the reuse
block's stray ``)``, a SyntaxError as printed.
"""

from __future__ import annotations

import re
from pathlib import Path

SEED = Path(__file__).resolve().parent / "sources" / "seed"
STRAY_PAREN = (
    "arguments = ['--folder', prepped_data]),",
    "arguments = ['--folder', prepped_data],",
)


def seed_blocks() -> list[str]:
    """Each Python code block of the seed, prefix changed (and the stray ``)`` removed)."""
    text = (SEED / "seed.md").read_text()
    blocks = [
        b.replace("azureml.", "studio.sdk.") for b in re.findall(r"```python\n(.*?)```", text, re.S)
    ]
    return [b.replace(*STRAY_PAREN) for b in blocks]


def block_files() -> list[Path]:
    return sorted((SEED / "blocks").glob("*.py"))


def block(number: int) -> str:
    """The seed's code block ``number`` (1-based) as tests/sources/seed/blocks holds it."""
    return block_files()[number - 1].read_text()
