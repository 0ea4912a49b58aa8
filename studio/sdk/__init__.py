"""Studio's Python SDK, mirroring Azure ML SDK v1 (``azureml.`` → ``studio.sdk.``).

Pure Python and an HTTP client; it never imports Django.
"""

from __future__ import annotations

__version__ = "0.1.0"
