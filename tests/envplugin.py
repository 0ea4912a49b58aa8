"""Loaded with ``-p`` before Django starts: the suite gets its own data directory."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("STUDIO_DATA_DIR", tempfile.mkdtemp(prefix="studio-test-"))
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
