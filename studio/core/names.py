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


# Datasets: more than a resource name, as in Azure (spaces, dots), but never '/', which would
# split the URL that names it, nor a control character.
DATASET_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,253}[A-Za-z0-9._-])?\Z")

# Environments; Azure's curated environments (AzureML-...) are not Studio's to define.
ENVIRONMENT_NAME = re.compile(r"^(?!AzureML-)[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z")

# Models: azureml's rule (``model_name_validation``) and its message, word for word.
MODEL_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-\._]{0,254}\Z")
MODEL_NAME_MESSAGE = (
    "Error, provided model name is invalid. It must only consist of letters, numbers, dashes, "
    "periods, or underscores, start with a letter or number, and be between 1 and 255 "
    "characters long."
)


def check_model_name(name: object, field: str = "name") -> str:
    """``name`` if it is a valid model name; otherwise StudioError with azureml's message."""
    if not isinstance(name, str) or MODEL_NAME.match(name) is None:
        raise StudioError(field, MODEL_NAME_MESSAGE)
    return name


# What people read but no URL holds (published pipelines, endpoints, schedules) and tag
# names: any printable text of 1 to 255 characters, not starting or ending with a space. No
# control character (C0, DEL, C1), line or paragraph separator: a name is one line.
_PRINTABLE = "[^\\x00-\\x20\\x7f-\\xa0\\u2028\\u2029]"
DISPLAY_NAME = re.compile(
    f"^{_PRINTABLE}(?:[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]{{0,253}}{_PRINTABLE})?\\Z"
)
TAG_NAME = DISPLAY_NAME

_RESOURCE_RULE = (
    "must start with a letter or digit and contain only letters, digits, '_' and '-', "
    "at most 64 characters."
)
_DISPLAY_RULE = (
    "must be 1 to 255 characters on one line, with no control characters and no space at "
    "either end."
)
# Each kind of name: its pattern and the sentence that says it.
RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "experiment": (EXPERIMENT_NAME, EXPERIMENT_NAME_RULE),
    "compute target": (RESOURCE_NAME, _RESOURCE_RULE),
    "datastore": (RESOURCE_NAME, _RESOURCE_RULE),
    "dataset": (
        DATASET_NAME,
        "must start and end with a letter or digit ('.', '_' or '-' may end it) and contain "
        "only letters, digits, spaces, '.', '_' and '-', at most 255 characters.",
    ),
    "environment": (
        ENVIRONMENT_NAME,
        "must start with a letter or digit and contain only letters, digits, '.', '_' and '-', "
        "at most 255 characters; AzureML-* names are Azure's curated environments.",
    ),
    "published pipeline": (DISPLAY_NAME, _DISPLAY_RULE),
    "pipeline endpoint": (DISPLAY_NAME, _DISPLAY_RULE),
    "pipeline draft": (DISPLAY_NAME, _DISPLAY_RULE),
    "schedule": (DISPLAY_NAME, _DISPLAY_RULE),
    "tag": (TAG_NAME, _DISPLAY_RULE),
}


def name_message(kind: str) -> str:
    """The sentence a refused ``kind`` name gets: ``"Dataset name must ..."``."""
    return f"{kind[0].upper()}{kind[1:]} name {RULES[kind][1]}"


def is_name(kind: str, name: object) -> bool:
    return isinstance(name, str) and RULES[kind][0].match(name) is not None


def check_name(kind: str, name: object, field: str = "name") -> str:
    """``name`` if it is a valid ``kind`` name (a key of RULES); otherwise StudioError naming
    ``field`` and the rule, with the name refused."""
    if not is_name(kind, name):
        shown = (
            repr(name) if not isinstance(name, str) or len(name) <= 80 else repr(name[:80]) + "..."
        )
        raise StudioError(field, f"{name_message(kind)} Got {shown}.")
    return name  # type: ignore[return-value]


def check_tags(tags: object, field: str = "tags") -> dict[str, str]:
    """Tags (or properties): an object of at most 200 tag names with string values."""
    if not isinstance(tags, dict) or len(tags) > 200:
        raise StudioError(field, "Tags must be an object of at most 200 names with string values.")
    for key, value in tags.items():
        check_name("tag", key, f"{field}.{key}" if isinstance(key, str) else field)
        if not isinstance(value, str) or len(value) > 5000 or "\x00" in value:
            raise StudioError(
                f"{field}.{key}", f"Tag {key!r} needs a string value of at most 5000 characters."
            )
    return tags


def schema_pattern(pattern: re.Pattern[str]) -> str:
    """A rule's pattern for the OpenAPI schema (ECMA regexes have no ``\\Z``)."""
    return pattern.pattern.replace("\\Z", "$")
