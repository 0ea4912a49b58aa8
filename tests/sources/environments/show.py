"""Print which version of the test package this step's environment has, and report it."""

import os
import sys

import studio_envtest

from studio.sdk.core import Run

print(f"studio_envtest {studio_envtest.VERSION} on {sys.version_info[0]}.{sys.version_info[1]}")
print(f"GREETING={os.environ.get('GREETING', '')}")
print(f"executable={sys.executable}")
run = Run.get_context()
run.log("envtest_version", float(studio_envtest.VERSION))
