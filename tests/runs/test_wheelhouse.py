"""The wheels the tests' step environments install from offline hold every dependency of
every wheel: a missing one would be found only in a uv cache that a fresh machine lacks."""

from __future__ import annotations

import zipfile
from email.parser import Parser

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from tests.harness import WHEELHOUSE

ENVIRONMENT = {"python_version": "3.11", "sys_platform": "linux", "extra": ""}


def test_the_wheelhouse_holds_every_dependency_of_its_wheels():
    wheels = sorted(WHEELHOUSE.glob("*.whl"))
    if not wheels:
        pytest.skip("no wheelhouse: make test downloads it")
    present = {canonicalize_name(parse_wheel_filename(w.name)[0]): w for w in wheels}
    missing = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = Parser().parsestr(archive.read(name).decode())
        for line in metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(ENVIRONMENT):
                continue
            if canonicalize_name(requirement.name) not in present:
                missing.append(f"{wheel.name} needs {requirement}")
    assert not missing, "requirements-wheelhouse.txt lacks: " + "; ".join(missing)
