"""Step fingerprints and why a step was not reused (plain Python).

A fingerprint covers everything that decides a step's outputs: its snapshot
(every path and byte of the source directory), the script, the arguments and
``params`` with parameter values resolved, ``version``, each input's identity
(a dataset's name, version and a fingerprint of its data; or the producing
step's output manifest) and the environment. The parts are kept with each step
run so that a miss can be explained in words.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from studio.core.environments import describe_change
from studio.core.parameters import format_value
from studio.core.spec import Arg, StepSpec

FIRST_RUN = "first run"
REUSE_DISABLED = "reuse disabled"
REGENERATE = "regenerate_outputs"


def _token(arg: Arg, values: Mapping[str, Any]) -> str:
    if arg.kind == "literal":
        return arg.value
    if arg.kind == "parameter":
        return format_value(values[arg.value])
    return f"<{arg.kind}:{arg.value}>"


def _is_flag(token: object) -> bool:
    return bool(re.match(r"^--?[A-Za-z_]", str(token)))


def fingerprint_parts(
    node: StepSpec,
    parameters: Mapping[str, Any],
    input_identities: Mapping[str, dict],
    environment: Any,
) -> dict:
    """The parts of a step's fingerprint, as JSON-ready data."""
    parts = {
        "snapshot": node.snapshot,
        "script": node.script_name,
        "arguments": [_token(a, parameters) for a in node.arguments],
        "params": {name: _token(a, parameters) for name, a in node.params},
        "version": node.version,
        "inputs": {name: dict(identity) for name, identity in sorted(input_identities.items())},
        "outputs": [[o.name, o.kind, o.datastore or "", o.path or ""] for o in node.outputs],
        "environment": environment,
    }
    if node.notebook is not None:  # only notebook steps: a script step's parts are unchanged
        notebook = node.notebook.to_dict()
        notebook["parameters"] = {n: _token(a, parameters) for n, a in node.notebook.parameters}
        parts["notebook"] = notebook
    if node.parallel is not None:  # only ParallelRunSteps: other steps' parts are unchanged
        parallel = node.parallel.to_dict()
        for setting, name in node.parallel.parameters:
            parallel[setting] = format_value(parameters[name])
        del parallel["parameters"]
        parts["parallel"] = parallel
    return parts


def fingerprint(parts: Mapping) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def explain_difference(
    current: Mapping,
    previous: Mapping,
    snapshot_changes: Callable[[str, str], list[str]] | None = None,
) -> list[str]:
    """Human reasons why ``current`` differs from ``previous`` (the nearest earlier run)."""
    reasons: list[str] = []
    if current.get("snapshot") != previous.get("snapshot"):
        changed = (
            snapshot_changes(previous["snapshot"], current["snapshot"]) if snapshot_changes else []
        )
        reasons.extend(changed or ["source directory changed"])
    if current.get("script") != previous.get("script"):
        reasons.append(f"script_name {previous.get('script')} → {current.get('script')}")
    old_args, new_args = previous.get("arguments", []), current.get("arguments", [])
    for i in range(max(len(old_args), len(new_args))):
        old = old_args[i] if i < len(old_args) else None
        new = new_args[i] if i < len(new_args) else None
        if old != new:
            label_source = new_args if i < len(new_args) else old_args
            label = label_source[i - 1] if i > 0 and _is_flag(label_source[i - 1]) else f"#{i}"
            if old is None:
                reasons.append(f"argument {new} added")
            elif new is None:
                reasons.append(f"argument {old} removed")
            elif _is_flag(old) and _is_flag(new):
                reasons.append(f"argument {old} → {new}")
            else:
                reasons.append(f"argument {label} {old} → {new}")
    old_params, new_params = previous.get("params", {}), current.get("params", {})
    for name in sorted(set(old_params) | set(new_params)):
        if old_params.get(name) != new_params.get(name):
            reasons.append(f"param {name} {old_params.get(name)} → {new_params.get(name)}")
    old_notebook, new_notebook = previous.get("notebook") or {}, current.get("notebook") or {}
    old_values, new_values = old_notebook.get("parameters", {}), new_notebook.get("parameters", {})
    for name in sorted(set(old_values) | set(new_values)):
        if old_values.get(name) != new_values.get(name):
            reasons.append(
                f"notebook parameter {name} {old_values.get(name)} → {new_values.get(name)}"
            )
    for key in sorted(set(old_notebook) | set(new_notebook)):
        if key != "parameters" and old_notebook.get(key) != new_notebook.get(key):
            reasons.append(f"notebook {key} {old_notebook.get(key)} → {new_notebook.get(key)}")
    old_parallel, new_parallel = previous.get("parallel") or {}, current.get("parallel") or {}
    for key in sorted(set(old_parallel) | set(new_parallel)):
        if old_parallel.get(key) != new_parallel.get(key):
            reasons.append(f"{key} {old_parallel.get(key)} → {new_parallel.get(key)}")
    if current.get("version") != previous.get("version"):
        reasons.append(f"version {previous.get('version')} → {current.get('version')}")
    old_inputs, new_inputs = previous.get("inputs", {}), current.get("inputs", {})
    for name in sorted(set(old_inputs) | set(new_inputs)):
        old, new = old_inputs.get(name), new_inputs.get(name)
        if old == new:
            continue
        if old is None:
            reasons.append(f"input {name} added")
        elif new is None:
            reasons.append(f"input {name} removed")
        elif new.get("kind") == "dataset" and old.get("kind") == "dataset":
            if old.get("name") != new.get("name"):
                reasons.append(f"input {name}: dataset {old.get('name')} → {new.get('name')}")
            elif old.get("version") != new.get("version"):
                reasons.append(f"input {name}: new version {new.get('version')}")
            else:
                reasons.append(f"input {name}: data changed")
        elif new.get("kind") == "datapath" and old.get("kind") == "datapath":
            if (old.get("datastore"), old.get("path")) != (new.get("datastore"), new.get("path")):
                reasons.append(
                    f"input {name}: {old.get('datastore')}/{old.get('path')} → {new.get('datastore')}/{new.get('path')}"
                )
            else:
                reasons.append(f"input {name}: data changed")
        elif new.get("kind") == "step":
            reasons.append(
                f"input {name}: upstream step {new.get('step', '')} produced new output".replace(
                    "  ", " "
                )
            )
        else:
            reasons.append(f"input {name} changed")
    if current.get("outputs") != previous.get("outputs"):
        reasons.append("outputs changed")
    if current.get("environment") != previous.get("environment"):
        reasons.extend(describe_change(previous.get("environment"), current.get("environment")))
    return reasons


def snapshot_file_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """'data_prep.py changed', 'x.py added', 'y.py removed' from two snapshot manifests."""
    changes = []
    for path in sorted(set(old) | set(new)):
        if path not in old:
            changes.append(f"{path} added")
        elif path not in new:
            changes.append(f"{path} removed")
        elif old[path] != new[path]:
            changes.append(f"{path} changed")
    return changes
