"""Loaded with ``-p`` before Django starts: the suite gets its own data directory.

pytest-xdist's workers (``make test``, ``make test-fast``) inherit the data directory of the
process that started them: each takes a folder of its own inside it, so that no two workers
share a broker folder, a cache or the files a test moves aside.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("STUDIO_DATA_DIR", tempfile.mkdtemp(prefix="studio-test-"))
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ["STUDIO_DATA_DIR"] = os.path.join(
        os.environ["STUDIO_DATA_DIR"], os.environ["PYTEST_XDIST_WORKER"]
    )
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
