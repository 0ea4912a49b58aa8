"""The rules for names: experiments, ports (inputs, outputs, parameters) and resources.

Each rule is a pattern, for the schema and the forms, and a sentence, for the message; the
SDK, the forms, the serializers and the services all take them from here. ``\\Z`` rather than
``$``: Python's ``$`` also matches before a final newline. ASCII letters and digits only,
since names become folder names and the schema's (ECMA) regexes read ``\\w`` as ASCII.
"""

from __future__ import annotations

import re

from studio.core.errors import StudioError

EXPERIMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}\Z")
EXPERIMENT_NAME_RULE = (
    "must start with a letter or digit and contain only letters, digits, '_' and '-', "
    "at most 255 characters."
)
EXPERIMENT_NAME_MESSAGE = f"Experiment name {EXPERIMENT_NAME_RULE}"

# Inputs, outputs and pipeline parameters: they become environment variables and arguments.
PORT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")

# Compute targets, datastores, published pipelines' endpoints...
RESOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")


def is_experiment_name(name: object) -> bool:
    return isinstance(name, str) and EXPERIMENT_NAME.match(name) is not None


def check_experiment_name(name: object, field: str = "experiment_name") -> str:
    """``name`` if it is a valid experiment name; otherwise StudioError naming ``field``."""
    if not is_experiment_name(name):
        raise StudioError(field, EXPERIMENT_NAME_MESSAGE)
    return name  # type: ignore[return-value]


def is_port_name(name: object) -> bool:
    return isinstance(name, str) and PORT_NAME.match(name) is not None
