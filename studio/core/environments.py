"""A step's environment: its definition as the SDK sends it, and what Studio builds of it.

An azureml ``Environment`` travels with each step as a definition (name, version, the conda
specification, environment variables, the Docker image). :func:`plan` turns it into what a
worker builds: a Python version, a sorted list of PEP 508 requirements and the installer's
options, with a content hash. Conda packages are installed from PyPI under the same name;
azureml's own packages are met by the SDK every environment is given; pins of pip and
setuptools are noted and ignored. An environment with no packages left runs on the worker's
own interpreter. Packages come by name from the index the workers use: a line that names its
own source (a local path, a version control URL, an index or a folder of packages) is refused
unless the caller says an administrator allows it. Plain Python: no Django, no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.core.errors import StudioError

# pip options passed to the installer; others are ignored with a note.
_OPTIONS = {
    "--index-url": "--index-url",
    "-i": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "--find-links": "--find-links",
    "-f": "--find-links",
    "--pre": "--pre",
}
# Options that name where packages come from: passed on only when custom sources are allowed.
_SOURCE_OPTIONS = {"--index-url", "--extra-index-url", "--find-links"}
_EDITABLE = {"-e", "--editable"}
# A requirement by name: ``name[extras]``, then a version, a marker or ``@ location``.
_BY_NAME = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*"
    r"(@\s*(?P<location>\S+).*|[=<>!~;].*)?$"
)
_ARCHIVE = re.compile(r"\.(whl|zip|tar(\.[a-z0-9]+)?|tgz)$", re.I)
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.I)
_WEB = re.compile(r"^https?://", re.I)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_PATH = re.compile(r"^([.~/\\]|file:)|[/\\]", re.I)
ALLOW_CUSTOM_SOURCES = "STUDIO_ENV_ALLOW_CUSTOM_SOURCES=1"
_IGNORED = {"pip", "setuptools", "wheel"}
_LIMIT_PACKAGES = 500
_LIMIT_TEXT = 1000
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")
# Variables a step may set: not those that would point it at another environment or SDK.
VARIABLE_NAME = re.compile(
    r"^(?!PYTHONPATH\Z|PYTHONHOME\Z|VIRTUAL_ENV\Z|STUDIO_|AZUREML_RUN)[A-Za-z_][A-Za-z0-9_]*\Z"
)
PYTHON_VERSION = re.compile(r"^[0-9]{1,2}(\.[0-9]{1,3}){0,2}\Z")


def canonical_name(name: str) -> str:
    """PEP 503's normal form: ``Scikit_Learn`` and ``scikit-learn`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _fail(where: str, message: str) -> StudioError:
    return StudioError(where, message)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "must be a string")
    if len(value) > _LIMIT_TEXT:
        raise _fail(where, f"is longer than {_LIMIT_TEXT} characters")
    return value


@dataclass(frozen=True)
class Definition:
    """What a step says of its environment (azureml's Environment, as JSON)."""

    name: str = ""
    version: str | None = None
    user_managed: bool = False
    python: str | None = None
    conda_packages: tuple[str, ...] = ()
    pip_packages: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    docker_image: str | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "user_managed": self.user_managed,
            "python": self.python,
            "conda_packages": list(self.conda_packages),
            "pip_packages": list(self.pip_packages),
            "environment_variables": dict(self.variables),
            "docker_image": self.docker_image,
        }


def parse_definition(data: Any, where: str = "environment") -> Definition:
    """Check an untrusted definition; StudioError names the field that is wrong."""
    if not isinstance(data, Mapping):
        raise _fail(where, "must be an object")
    name = _text(data.get("name") or "", f"{where}.name")
    version = data.get("version")
    if version is not None:
        version = _text(str(version), f"{where}.version")
    user_managed = data.get("user_managed", False)
    if not isinstance(user_managed, bool):
        raise _fail(f"{where}.user_managed", "must be true or false")
    python = data.get("python")
    if python is not None:
        python = _text(python, f"{where}.python").strip() or None
        if python is not None and not PYTHON_VERSION.match(python):
            raise _fail(f"{where}.python", f"'{python}' is not a Python version such as 3.11")
    lists = {}
    for key in ("conda_packages", "pip_packages"):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise _fail(f"{where}.{key}", "must be a list")
        if len(items) > _LIMIT_PACKAGES:
            raise _fail(f"{where}.{key}", f"has more than {_LIMIT_PACKAGES} entries")
        lists[key] = tuple(_text(item, f"{where}.{key}[{i}]") for i, item in enumerate(items))
    variables = data.get("environment_variables") or {}
    if not isinstance(variables, Mapping):
        raise _fail(f"{where}.environment_variables", "must be an object")
    for key, value in variables.items():
        at = f"{where}.environment_variables.{key}"
        if not isinstance(key, str) or not VARIABLE_NAME.match(key):
            raise _fail(
                at,
                "is not a variable an environment may set (letters, digits and _; not "
                "PYTHONPATH, PYTHONHOME, VIRTUAL_ENV, STUDIO_* or AZUREML_RUN*)",
            )
        _text(value, at)
    image = data.get("docker_image")
    return Definition(
        name=name,
        version=version,
        user_managed=user_managed,
        python=python,
        conda_packages=lists["conda_packages"],
        pip_packages=lists["pip_packages"],
        variables=tuple(sorted((str(k), str(v)) for k, v in variables.items())),
        docker_image=_text(image, f"{where}.docker_image") if image else None,
    )


@dataclass(frozen=True)
class Plan:
    """What a worker makes of a definition."""

    definition: Definition
    requirements: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    from_conda: frozenset[str] = frozenset()  # canonical names that came from conda_packages
    notes: tuple[str, ...] = ()

    @property
    def on_worker(self) -> bool:
        """No packages to install: the step runs on the worker's own interpreter."""
        return not self.requirements

    @property
    def build_hash(self) -> str:
        """The content hash of what is built: Python version, requirements, options."""
        if self.on_worker:
            return ""
        content = {
            "python": self.definition.python,
            "requirements": list(self.requirements),
            "options": list(self.options),
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:20]

    def requirements_text(self) -> str:
        return "".join(f"{line}\n" for line in (*self.options, *self.requirements))

    def fingerprint_part(self, worker_python: str) -> dict:
        """What a step's fingerprint holds of its environment."""
        return {
            "python": self.definition.python if not self.on_worker else worker_python,
            "requirements": list(self.requirements),
            "options": list(self.options),
            "variables": dict(self.definition.variables),
        }


def _conda_requirement(spec: str) -> str:
    """A conda spec in PEP 508 form: ``numpy=1.26`` is ``numpy==1.26.*``, ``numpy 1.26`` too."""
    spec = spec.split("::", 1)[-1].strip()  # conda-forge::numpy
    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", spec)
    if not match:
        return spec
    name, rest = match.group(1), match.group(2).strip()
    if not rest:
        return name
    if rest[0] not in "=<>!~":  # "numpy 1.26" or "numpy 1.26 py39_0"
        rest = "=" + rest.split()[0]
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=", 1)[0]  # drop a build string: =1.26=py39_0
        return f"{name}=={version}" if version.endswith("*") else f"{name}=={version}.*"
    return f"{name}{rest.replace(' ', '')}"


# azureml's data runtimes, whose [pandas] extra installs pandas (to_pandas_dataframe, and a
# ParallelRunStep's mini-batches of rows).
_DATA_RUNTIMES = ("azureml-dataprep", "azureml-dataset-runtime")


def _split_requirement(line: str) -> tuple[str, str] | None:
    """(canonical name, the rest) of a requirement line; None for a path or URL."""
    match = _NAME.match(line)
    if not match or "/" in match.group(1) or line.strip().endswith(".whl"):
        return None
    return canonical_name(match.group(1)), (match.group(2) or "") + match.group(3).strip()


def custom_source(line: str) -> str | None:
    """What a requirement or option line installs from when it names its own source (a local
    path, a version control URL, an index or a folder of packages); None for a package by name
    (or a file on the web)."""
    text = line.strip()
    if text.startswith("-"):
        flag = re.split(r"[\s=]", text, maxsplit=1)[0]
        if flag in _EDITABLE:
            return "an editable install (a local folder or a version control URL)"
        if _OPTIONS.get(flag) == "--find-links":
            return "a folder of packages (or a page of links to them) of its own"
        if _OPTIONS.get(flag) in _SOURCE_OPTIONS:
            return "a package index of its own"
        return None
    match = _BY_NAME.match(text)
    if match and not _ARCHIVE.search(match.group("name")):
        location = match.group("location")
        if location is None:
            return None
    elif _PATH.search(text) or _ARCHIVE.search(text) or _URL.match(text):
        location = text
    else:
        return None  # not a requirement at all: the installer says what is wrong with it
    if _VCS.match(location):
        return "a version control URL"
    if _WEB.match(location):
        return None
    if _URL.match(location) and not location.lower().startswith("file:"):
        return "a URL of its own (only https:// and http:// files are fetched)"
    return "a local path"


def _refuse(line: str, where: str, source: str) -> StudioError:
    return _fail(
        where,
        f"'{line.strip()}' installs from {source}: packages come by name from the index this "
        f"Studio's workers use, unless an administrator allows other sources "
        f"({ALLOW_CUSTOM_SOURCES}).",
    )


def plan(
    definition: Definition, allow_custom_sources: bool = False, where: str = "environment"
) -> Plan:
    """What to build for a definition; the notes say what was skipped and why.

    A line that names its own source is refused (StudioError naming ``where`` and the line)
    unless ``allow_custom_sources``, the administrator's setting the caller passes in.
    """
    if definition.user_managed:
        return Plan(definition, notes=("user_managed_dependencies: the worker's own Python",))
    notes: list[str] = []
    requirements: dict[str, None] = {}
    options: list[str] = []
    from_conda: set[str] = set()
    wants_pandas: list[str] = []

    def take(line: str, source: str) -> None:
        split = _split_requirement(line)
        if split is None:  # a wheel's path or URL
            requirements.setdefault(line.strip(), None)
            return
        name, rest = split
        if name.startswith("azureml-") or name == "azureml":
            notes.append(f"{line}: met by the Studio SDK every environment is given (skipped)")
            extras = re.match(r"\[([^\]]*)\]", rest)
            if (
                name in _DATA_RUNTIMES
                and extras
                and "pandas" in extras.group(1).replace(" ", "").split(",")
            ):
                # Its [pandas] extra is how Azure's data runtime gets pandas: Studio installs it.
                notes.append(f"{line}: its [pandas] extra installs pandas")
                wants_pandas.append(line)
        elif name in _IGNORED:
            notes.append(f"{line}: {name} is the installer's own; ignored")
        else:
            if source == "conda":
                from_conda.add(name)
            requirements.setdefault(f"{name}{_tidy(rest)}", None)

    for i, spec in enumerate(definition.conda_packages):
        source = custom_source(_conda_requirement(spec))
        if source is not None and not allow_custom_sources:
            raise _refuse(spec, f"{where}.conda_packages[{i}]", source)
        take(_conda_requirement(spec), "conda")
    for i, line in enumerate(definition.pip_packages):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        source = custom_source(stripped.split(" #", 1)[0])
        if source is not None and not allow_custom_sources:
            raise _refuse(stripped, f"{where}.pip_packages[{i}]", source)
        if stripped.split()[0] in _EDITABLE or stripped.startswith("--editable="):
            requirements.setdefault(stripped.split(" #", 1)[0], None)  # allowed: as written
        elif stripped.startswith("-"):
            option = _option(stripped)
            if option is None:
                notes.append(f"{stripped}: not an option Studio passes to the installer; ignored")
            else:
                options.append(option)
        else:
            take(stripped.split(" #", 1)[0], "pip")
    named = {split[0] for split in map(_split_requirement, requirements) if split is not None}
    if wants_pandas and "pandas" not in named:  # a pandas line of the user's own wins
        requirements.setdefault("pandas", None)
    if definition.docker_image:
        notes.append(
            f"Docker image {definition.docker_image}: not used; Studio runs steps in virtual "
            "environments on the worker"
        )
    if not requirements:
        notes.append("no packages to install: the worker's own Python")
    return Plan(
        definition=definition,
        requirements=tuple(sorted(requirements)),
        options=tuple(options) if requirements else (),
        from_conda=frozenset(from_conda),
        notes=tuple(notes),
    )


def _tidy(rest: str) -> str:
    """``[extra] >= 1.0 ; python_version<'4'`` without the spaces around the version."""
    marker = ""
    if ";" in rest:
        rest, marker = rest.split(";", 1)
        marker = "; " + marker.strip()
    return rest.replace(" ", "") + marker


def _option(line: str) -> str | None:
    """A pip option line in the installer's words; None for one that is not passed on."""
    flag, _, value = line.partition(" ")
    if "=" in flag:
        flag, _, value = flag.partition("=")
    known = _OPTIONS.get(flag)
    return f"{known} {value.strip()}".strip() if known else None


def _versions(part: Mapping) -> dict[str, str]:
    found = {}
    for line in part.get("requirements") or []:
        split = _split_requirement(line)
        name, rest = split if split else (line, "")
        found[name] = rest[2:] if rest.startswith("==") else (rest or "any version")
    return found


def describe_change(old: Any, new: Any) -> list[str]:
    """Why two fingerprints' environments differ: 'environment changed: scikit-learn 1.4 →
    1.5'."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return [f"environment {old} → {new}"]
    reasons = []
    if old.get("python") != new.get("python"):
        reasons.append(f"python {old.get('python')} → {new.get('python')}")
    before, after = _versions(old), _versions(new)
    for name in sorted(set(before) | set(after)):
        if name not in before:
            reasons.append(f"{name} added")
        elif name not in after:
            reasons.append(f"{name} removed")
        elif before[name] != after[name]:
            reasons.append(f"{name} {before[name]} → {after[name]}")
    if old.get("options") != new.get("options"):
        reasons.append("installer options changed")
    old_vars, new_vars = old.get("variables") or {}, new.get("variables") or {}
    for key in sorted(set(old_vars) | set(new_vars)):
        if old_vars.get(key) != new_vars.get(key):
            reasons.append(f"variable {key} changed")
    return [f"environment changed: {', '.join(reasons)}"] if reasons else []
