"""How many examples the property tests and the API fuzzing try.

``make test`` gives them their full number; ``make test-fast`` (``STUDIO_TEST_BUDGET=fast``)
a tenth, so that it stays a quick check while every test still runs.
"""

from __future__ import annotations

import os

FAST = os.environ.get("STUDIO_TEST_BUDGET") == "fast"


def examples(full: int) -> int:
    return max(5, full // 10) if FAST else full
