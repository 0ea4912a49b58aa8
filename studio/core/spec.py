"""The pipeline graph spec, shared by the SDK and the server.

A pipeline travels from the SDK to the server as plain JSON. Both sides parse it
with :meth:`GraphSpec.from_dict` and check it with
:func:`studio.core.validation.validate_graph`, so a
client that skips the SDK gets the same errors as one that uses it. Plain Python:
no Django, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.core.environments import Definition, parse_definition
from studio.core.errors import StudioError
from studio.core.names import PORT_NAME, check_name
from studio.core.paths import clean_path

NODE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}\Z")
DIGEST = re.compile(r"^[0-9a-f]{64}\Z")
PARAMETER_TYPES = ("int", "float", "bool", "str", "datapath", "dataset")
DATASET_KINDS = ("file", "tabular")
ARG_KINDS = ("literal", "parameter", "input", "output")
OUTPUT_KINDS = ("OutputFileDatasetConfig", "PipelineData")
OUTPUT_MODES = ("mount", "upload")
INPUT_MODES = ("mount", "download", "direct")
MAX_TIMEOUT_SECONDS = 2**31 - 1  # what a run configuration may ask; a worker may cap it lower


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: Any


@dataclass(frozen=True)
class Arg:
    kind: str
    value: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "value": self.value}


@dataclass(frozen=True)
class InputSpec:
    """An input port, fed by one of: another step's output (``source_step``/``source_output``),
    a saved dataset (``dataset``: its id), a dataset-typed pipeline parameter
    (``dataset_parameter``), a DataPath pipeline parameter (``parameter``) or a fixed path on a
    datastore (``datastore``/``path``: azureml's DataReference)."""

    name: str
    source_step: str = ""
    source_output: str = ""
    mode: str = "mount"
    dataset: str = ""
    parameter: str = ""
    dataset_parameter: str = ""
    datastore: str = ""
    path: str = ""

    @property
    def is_dataset(self) -> bool:
        return bool(self.dataset or self.dataset_parameter)

    @property
    def is_datapath(self) -> bool:
        return bool(self.parameter or self.datastore)

    @property
    def is_step_output(self) -> bool:
        return not (self.is_dataset or self.is_datapath)

    def dataset_id(self, parameters: Mapping[str, Any]) -> str:
        """The id of the dataset this input reads in a run with these parameter values."""
        return self.dataset or parameters[self.dataset_parameter]["id"]

    def datapath(self, parameters: Mapping[str, Any]) -> dict:
        """``{"datastore", "path"}`` this input reads in a run with these parameter values."""
        if self.parameter:
            return parameters[self.parameter]
        return {"datastore": self.datastore, "path": self.path}


@dataclass(frozen=True)
class OutputSpec:
    """An output folder; ``datastore``/``path`` come from ``destination`` (None: the default)."""

    name: str
    kind: str = "OutputFileDatasetConfig"
    mode: str = "mount"
    datastore: str | None = None
    path: str | None = None
    register: tuple[
        tuple[str, object], ...
    ] = ()  # register_on_complete: name, description, kind, options
    is_file: bool = False  # PipelineData(is_directory=False): the script gets a file path

    def registration(self) -> dict | None:
        return dict(self.register) if self.register else None


@dataclass(frozen=True)
class NotebookSpec:
    """A NotebookRunnerStep's notebook, run with papermill in the step's own Python.

    ``path`` is the notebook in the snapshot; the executed notebook is kept as ``output`` in
    the step's ``outputs/`` folder (and in the output ``output_data``, when named).
    ``parameters`` are injected into the cell tagged ``parameters``: a literal's value is JSON
    text; a pipeline parameter's, input's or output's is resolved in the run."""

    path: str
    output: str
    parameters: tuple[tuple[str, Arg], ...] = ()
    timeout: int | None = None  # seconds a cell may run
    progress_bar: bool = True
    log_output: bool = False
    kernel: str = "python3"
    cwd: str | None = None  # where the kernel starts, in the snapshot (None: its root)
    output_data: str | None = None

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "output": self.output,
            "parameters": {name: a.to_dict() for name, a in self.parameters},
            "timeout": self.timeout,
            "progress_bar": self.progress_bar,
            "log_output": self.log_output,
            "kernel": self.kernel,
            "cwd": self.cwd,
            "output_data": self.output_data,
        }


PARALLEL_OUTPUT_ACTIONS = ("append_row", "summary_only")
DEFAULT_APPEND_ROW_FILE_NAME = "parallel_run_step.txt"
# The settings a pipeline parameter may give in a run (its default is kept in the field).
PARALLEL_PARAMETER_SETTINGS = (
    "mini_batch_size",
    "node_count",
    "process_count_per_node",
    "run_invocation_timeout",
    "run_max_try",
    "logging_level",
)
_MINI_BATCH_SIZE = re.compile(r"^\d+([kKmMgG][bB])*$")
_BAD_FILE_NAME = re.compile(r'[~"#%&*:<>?\/\\{|}]+')


def mini_batch_size_to_int(value: int | str) -> int:
    """azureml's mini_batch_size: a count of files, or a size of tabular data ("1MB" → 1048576)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("Parameter mini_batch_size must be of type int or str.")
    if isinstance(value, int):
        return value
    if not _MINI_BATCH_SIZE.match(value):
        raise ValueError(r"Parameter mini_batch_size must follow regex rule ^\d+([kKmMgG][bB])*$.")
    if value.isdigit():
        return int(value)
    return int(value[:-2]) * 1024 ** {"kb": 1, "mb": 2, "gb": 3}[value[-2:].lower()]


@dataclass(frozen=True)
class ParallelSpec:
    """A ParallelRunStep's batch settings: the step's ``script_name`` is the entry script, whose
    ``init()`` runs once per process and ``run(mini_batch)`` once per mini-batch of the
    ``inputs`` (names of the step's input ports; its other inputs are side inputs).

    ``input_kind`` is "file" (``mini_batch_size`` files per run()) or "tabular"
    (``mini_batch_size`` bytes of rows per run()). ``parameters`` names the pipeline parameter
    that gives a setting in the run (the field holds its default)."""

    input_kind: str
    inputs: tuple[str, ...]
    mini_batch_size: int
    error_threshold: int
    output_action: str
    output: str | None = None
    append_row_file_name: str = DEFAULT_APPEND_ROW_FILE_NAME
    node_count: int = 1
    process_count_per_node: int | None = None  # None: as many as the worker has CPUs
    run_invocation_timeout: int = 60
    run_max_try: int = 3
    allowed_failed_count: int | None = None
    allowed_failed_percent: float | None = None
    partition_keys: tuple[str, ...] = ()
    logging_level: str = "INFO"
    parameters: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict:
        return {
            "input_kind": self.input_kind,
            "inputs": list(self.inputs),
            "mini_batch_size": self.mini_batch_size,
            "error_threshold": self.error_threshold,
            "output_action": self.output_action,
            "output": self.output,
            "append_row_file_name": self.append_row_file_name,
            "node_count": self.node_count,
            "process_count_per_node": self.process_count_per_node,
            "run_invocation_timeout": self.run_invocation_timeout,
            "run_max_try": self.run_max_try,
            "allowed_failed_count": self.allowed_failed_count,
            "allowed_failed_percent": self.allowed_failed_percent,
            "partition_keys": list(self.partition_keys),
            "logging_level": self.logging_level,
            "parameters": dict(self.parameters),
        }


@dataclass(frozen=True)
class ModuleRef:
    """The module version a step was made from (a ModuleStep): its id, module name, version."""

    id: str
    name: str
    version: str

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "version": self.version}


@dataclass(frozen=True)
class StepSpec:
    node_id: str
    name: str
    script_name: str
    snapshot: str
    compute_target: str | None = None
    arguments: tuple[Arg, ...] = ()
    inputs: tuple[InputSpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()
    params: tuple[tuple[str, Arg], ...] = ()
    allow_reuse: bool = True
    version: str | None = None
    run_after: tuple[str, ...] = ()
    environment: Definition | None = None
    # CommandStep: the program to run (on PATH, or a path in the snapshot); no script_name.
    command: str | None = None
    # The run configuration's max_run_duration_seconds: the script is stopped after this long.
    timeout_seconds: int | None = None
    # NotebookRunnerStep: the notebook the step runs instead of a script.
    notebook: NotebookSpec | None = None
    module: ModuleRef | None = None
    # ParallelRunStep: how the entry script is run over mini-batches of the inputs.
    parallel: ParallelSpec | None = None

    def upstream(self) -> set[str]:
        return {i.source_step for i in self.inputs if i.is_step_output} | set(self.run_after)


@dataclass(frozen=True)
class GraphSpec:
    steps: tuple[StepSpec, ...]
    parameters: tuple[ParameterSpec, ...] = ()
    description: str | None = None

    def step(self, node_id: str) -> StepSpec:
        return {s.node_id: s for s in self.steps}[node_id]

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.name == name), None)

    def upstream(self) -> dict[str, set[str]]:
        return {s.node_id: s.upstream() for s in self.steps}

    def to_dict(self) -> dict:
        return {
            "description": self.description,
            "parameters": [
                {"name": p.name, "type": p.type, "default": p.default} for p in self.parameters
            ],
            "steps": [
                {
                    "node_id": s.node_id,
                    "name": s.name,
                    "script_name": s.script_name,
                    "snapshot": s.snapshot,
                    "compute_target": s.compute_target,
                    "arguments": [a.to_dict() for a in s.arguments],
                    "inputs": [
                        {
                            "name": i.name,
                            "source_step": i.source_step,
                            "source_output": i.source_output,
                            "mode": i.mode,
                            "dataset": i.dataset,
                            "parameter": i.parameter,
                            "dataset_parameter": i.dataset_parameter,
                            "datastore": i.datastore,
                            "path": i.path,
                        }
                        for i in s.inputs
                    ],
                    "outputs": [
                        {
                            "name": o.name,
                            "kind": o.kind,
                            "mode": o.mode,
                            "datastore": o.datastore,
                            "path": o.path,
                            "register": o.registration(),
                            "is_file": o.is_file,
                        }
                        for o in s.outputs
                    ],
                    "params": {name: a.to_dict() for name, a in s.params},
                    "allow_reuse": s.allow_reuse,
                    "version": s.version,
                    "run_after": list(s.run_after),
                    "environment": s.environment.to_dict() if s.environment else None,
                    "command": s.command,
                    "timeout_seconds": s.timeout_seconds,
                    "notebook": s.notebook.to_dict() if s.notebook else None,
                    # Only on module steps: other graphs keep their digests.
                    **({"module": s.module.to_dict()} if s.module else {}),
                    **({"parallel": s.parallel.to_dict()} if s.parallel else {}),
                }
                for s in self.steps
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> GraphSpec:
        """Parse untrusted JSON into a spec, raising StudioError naming the field."""
        _expect(data, Mapping, "graph", "an object")
        description = data.get("description")
        if description is not None:
            _expect(description, str, "graph.description", "a string")
        params_raw = data.get("parameters", [])
        _expect(params_raw, list, "graph.parameters", "a list")
        parameters = tuple(
            _parse_parameter(p, f"graph.parameters[{i}]") for i, p in enumerate(params_raw)
        )
        seen: set[str] = set()
        for i, parameter in enumerate(parameters):
            if parameter.name in seen:
                raise StudioError(
                    f"graph.parameters[{i}].name",
                    f"Pipeline parameter {parameter.name} is declared twice.",
                )
            seen.add(parameter.name)
        steps_raw = data.get("steps")
        _expect(steps_raw, list, "graph.steps", "a list")
        if not steps_raw:
            raise StudioError("graph.steps", "A pipeline needs at least one step.")
        if len(steps_raw) > 2000:
            raise StudioError("graph.steps", "A pipeline may have at most 2000 steps.")
        steps = tuple(_parse_step(s, f"graph.steps[{i}]") for i, s in enumerate(steps_raw))
        return cls(steps=steps, parameters=parameters, description=description)


def _expect(value: Any, kind: type | tuple, where: str, what: str) -> None:
    if not isinstance(value, kind) or (
        kind is not bool and isinstance(value, bool) and kind in (int, float)
    ):
        raise StudioError(where, f"{where} must be {what}.")


def _str(data: Mapping, key: str, where: str, limit: int = 1000) -> str:
    """A required string field."""
    value = _opt_str(data, key, where, limit=limit)
    if value is None:
        raise StudioError(f"{where}.{key}", f"{where}.{key} is required.")
    return value


def _opt_str(data: Mapping, key: str, where: str, limit: int = 1000) -> str | None:
    """An optional string field: None when it is missing or null."""
    value = data.get(key)
    if value is None:
        return None
    _expect(value, str, f"{where}.{key}", "a string")
    if len(value) > limit:
        raise StudioError(f"{where}.{key}", f"{where}.{key} is longer than {limit} characters.")
    if "\x00" in value:
        raise StudioError(f"{where}.{key}", f"{where}.{key} contains a NUL character.")
    return value


def _parse_parameter(data: Any, where: str) -> ParameterSpec:
    _expect(data, Mapping, where, "an object")
    name = _str(data, "name", where, limit=255)
    if not PORT_NAME.match(name):
        raise StudioError(
            f"{where}.name",
            f"Pipeline parameter name [{name}] may contain only letters, digits and underscores.",
        )
    ptype = _str(data, "type", where)
    if ptype not in PARAMETER_TYPES:
        raise StudioError(
            f"{where}.type", f"Pipeline parameter {name} has unsupported type {ptype!r}."
        )
    default = data.get("default")
    if not default_matches(ptype, default):
        raise StudioError(
            f"{where}.default",
            f"Default value of pipeline parameter {name} is not of type {ptype}.",
        )
    return ParameterSpec(name=name, type=ptype, default=default)


def default_matches(ptype: str, value: Any) -> bool:
    if ptype == "dataset":
        return (
            isinstance(value, Mapping)
            and isinstance(value.get("id"), str)
            and value.get("kind") in DATASET_KINDS
        )
    if ptype == "datapath":
        return (
            isinstance(value, Mapping)
            and set(value) == {"datastore", "path"}
            and all(isinstance(v, str) for v in value.values())
        )
    if ptype == "bool":
        return isinstance(value, bool)
    if ptype == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def _parse_arg(data: Any, where: str) -> Arg:
    _expect(data, Mapping, where, "an object")
    kind = _str(data, "kind", where)
    if kind not in ARG_KINDS:
        raise StudioError(f"{where}.kind", f"{where}.kind must be one of {', '.join(ARG_KINDS)}.")
    value = _str(data, "value", where, limit=100_000)
    return Arg(kind=kind, value=value)


def _parse_step(data: Any, where: str) -> StepSpec:
    _expect(data, Mapping, where, "an object")
    node_id = _str(data, "node_id", where, limit=64)
    if not NODE_ID.match(node_id):
        raise StudioError(
            f"{where}.node_id", f"{where}.node_id may contain only letters, digits, - and _."
        )
    name = _str(data, "name", where, limit=255)
    command = _opt_str(data, "command", where, limit=1000)
    script_name = (
        _opt_str(data, "script_name", where, limit=1000) or ""
        if command
        else _str(data, "script_name", where, limit=1000)
    )
    snapshot = _str(data, "snapshot", where, limit=64)
    if not DIGEST.match(snapshot):
        raise StudioError(f"{where}.snapshot", f"{where}.snapshot must be a sha256 hex digest.")
    compute_target = _opt_str(data, "compute_target", where, limit=255)
    args_raw = data.get("arguments", [])
    _expect(args_raw, list, f"{where}.arguments", "a list")
    arguments = tuple(_parse_arg(a, f"{where}.arguments[{i}]") for i, a in enumerate(args_raw))
    inputs_raw = data.get("inputs", [])
    _expect(inputs_raw, list, f"{where}.inputs", "a list")
    inputs = []
    for i, item in enumerate(inputs_raw):
        at = f"{where}.inputs[{i}]"
        _expect(item, Mapping, at, "an object")
        mode = _opt_str(item, "mode", at) or "mount"
        if mode not in INPUT_MODES:
            raise StudioError(f"{at}.mode", f"{at}.mode must be one of {', '.join(INPUT_MODES)}.")
        dataset = _opt_str(item, "dataset", at, limit=64) or ""
        parameter = _opt_str(item, "parameter", at, limit=255) or ""
        dataset_parameter = _opt_str(item, "dataset_parameter", at, limit=255) or ""
        datastore = _opt_str(item, "datastore", at, limit=64) or ""
        path = _opt_str(item, "path", at, limit=1000) or ""
        if path and not datastore:
            raise StudioError(f"{at}.datastore", f"{at} names a path but no datastore.")
        sources = [
            k
            for k, v in [
                ("dataset", dataset),
                ("parameter", parameter),
                ("dataset_parameter", dataset_parameter),
                ("datastore", datastore),
            ]
            if v
        ]
        if len(sources) > 1:
            raise StudioError(at, f"{at} names more than one source: {', '.join(sources)}.")
        external = bool(sources)
        inputs.append(
            InputSpec(
                name=_str(item, "name", at, limit=255),
                source_step=(
                    _opt_str(item, "source_step", at, limit=64)
                    if external
                    else _str(item, "source_step", at, limit=64)
                )
                or "",
                source_output=(
                    _opt_str(item, "source_output", at, limit=255)
                    if external
                    else _str(item, "source_output", at, limit=255)
                )
                or "",
                mode=mode,
                dataset=dataset,
                parameter=parameter,
                dataset_parameter=dataset_parameter,
                datastore=datastore,
                path=path,
            )
        )
    outputs_raw = data.get("outputs", [])
    _expect(outputs_raw, list, f"{where}.outputs", "a list")
    outputs = []
    for i, item in enumerate(outputs_raw):
        at = f"{where}.outputs[{i}]"
        _expect(item, Mapping, at, "an object")
        kind = _opt_str(item, "kind", at) or "OutputFileDatasetConfig"
        if kind not in OUTPUT_KINDS:
            raise StudioError(f"{at}.kind", f"{at}.kind must be one of {', '.join(OUTPUT_KINDS)}.")
        mode = _opt_str(item, "mode", at) or "mount"
        if mode not in OUTPUT_MODES:
            raise StudioError(f"{at}.mode", f"{at}.mode must be one of {', '.join(OUTPUT_MODES)}.")
        register = item.get("register")
        if register is not None:
            _expect(register, Mapping, f"{at}.register", "an object")
            reg_name = check_name(
                "dataset",
                _str(register, "name", f"{at}.register", limit=255),
                f"{at}.register.name",
            )
            reg_kind = _opt_str(register, "kind", f"{at}.register") or "file"
            if reg_kind not in ("file", "tabular"):
                raise StudioError(f"{at}.register.kind", "register.kind must be file or tabular.")
            options = register.get("options") or {}
            _expect(options, Mapping, f"{at}.register.options", "an object")
            description = _opt_str(register, "description", f"{at}.register", limit=5000) or ""
            register = (
                ("name", reg_name),
                ("kind", reg_kind),
                ("description", description),
                ("options", dict(options)),
            )
        is_file = item.get("is_file", False)
        _expect(is_file, bool, f"{at}.is_file", "true or false")
        outputs.append(
            OutputSpec(
                name=_str(item, "name", at, limit=255),
                kind=kind,
                mode=mode,
                datastore=_opt_str(item, "datastore", at, limit=64),
                path=_opt_str(item, "path", at, limit=1000),
                register=register or (),
                is_file=is_file,
            )
        )
    params_raw = data.get("params", {})
    _expect(params_raw, Mapping, f"{where}.params", "an object")
    params = []
    for key, value in params_raw.items():
        _expect(key, str, f"{where}.params", "an object with string keys")
        params.append((key, _parse_arg(value, f"{where}.params.{key}")))
    allow_reuse = data.get("allow_reuse", True)
    _expect(allow_reuse, bool, f"{where}.allow_reuse", "true or false")
    version = _opt_str(data, "version", where, limit=255)
    run_after = data.get("run_after", [])
    _expect(run_after, list, f"{where}.run_after", "a list")
    for i, item in enumerate(run_after):
        _expect(item, str, f"{where}.run_after[{i}]", "a string")
    timeout_seconds = data.get("timeout_seconds")
    if timeout_seconds is not None and (
        type(timeout_seconds) is not int or not 0 < timeout_seconds <= MAX_TIMEOUT_SECONDS
    ):
        raise StudioError(
            f"{where}.timeout_seconds",
            f"{where}.timeout_seconds must be a whole number of seconds from 1 to "
            f"{MAX_TIMEOUT_SECONDS}.",
        )
    raw_environment = data.get("environment")
    environment = (
        parse_definition(raw_environment, f"{where}.environment")
        if raw_environment is not None
        else None
    )
    module = data.get("module")
    if module is not None:
        _expect(module, Mapping, f"{where}.module", "an object")
        module = ModuleRef(
            id=_str(module, "id", f"{where}.module", limit=64),
            name=_str(module, "name", f"{where}.module", limit=255),
            version=_str(module, "version", f"{where}.module", limit=64),
        )
    return StepSpec(
        environment=environment,
        command=command,
        timeout_seconds=timeout_seconds,
        node_id=node_id,
        name=name,
        script_name=script_name,
        snapshot=snapshot,
        compute_target=compute_target,
        arguments=arguments,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        params=tuple(params),
        allow_reuse=allow_reuse,
        version=version,
        run_after=tuple(run_after),
        notebook=_parse_notebook(data.get("notebook"), f"{where}.notebook", outputs),
        module=module,
        parallel=_parse_parallel(data.get("parallel"), f"{where}.parallel", inputs, outputs),
    )


def _parse_notebook(data: Any, where: str, outputs: list[OutputSpec]) -> NotebookSpec | None:
    if data is None:
        return None
    _expect(data, Mapping, where, "an object")
    path = _snapshot_path(data, "path", where)
    if not path.endswith(".ipynb"):
        raise StudioError(f"{where}.path", f"{where}.path must name a .ipynb notebook.")
    parameters_raw = data.get("parameters", {})
    _expect(parameters_raw, Mapping, f"{where}.parameters", "an object")
    parameters = []
    for key, value in parameters_raw.items():
        _expect(key, str, f"{where}.parameters", "an object with string keys")
        if not key.isidentifier():
            raise StudioError(
                f"{where}.parameters",
                f"Notebook parameter {key!r} is not a Python name: it is assigned in the notebook.",
            )
        parameters.append((key, _parse_arg(value, f"{where}.parameters.{key}")))
    timeout = data.get("timeout")
    if timeout is not None and (type(timeout) is not int or not 0 < timeout <= MAX_TIMEOUT_SECONDS):
        raise StudioError(
            f"{where}.timeout",
            f"{where}.timeout must be a whole number of seconds from 1 to {MAX_TIMEOUT_SECONDS}.",
        )
    flags = {}
    for key, default in (("progress_bar", True), ("log_output", False)):
        flags[key] = data.get(key, default)
        _expect(flags[key], bool, f"{where}.{key}", "true or false")
    output_data = _opt_str(data, "output_data", where, limit=255)
    if output_data is not None and output_data not in {o.name for o in outputs}:
        raise StudioError(
            f"{where}.output_data", f"{where}.output_data names no output of the step."
        )
    cwd = data.get("cwd")
    return NotebookSpec(
        path=path,
        output=_snapshot_path(data, "output", where),
        parameters=tuple(parameters),
        timeout=timeout,
        progress_bar=flags["progress_bar"],
        log_output=flags["log_output"],
        kernel=_opt_str(data, "kernel", where, limit=255) or "python3",
        cwd=_snapshot_path(data, "cwd", where) if cwd is not None else None,
        output_data=output_data,
    )


def _parse_parallel(
    data: Any, where: str, inputs: list[InputSpec], outputs: list[OutputSpec]
) -> ParallelSpec | None:
    if data is None:
        return None
    _expect(data, Mapping, where, "an object")

    def whole(key: str, default: Any, low: int, what: str, optional: bool = False) -> Any:
        value = data.get(key, default)
        if value is None and optional:
            return None
        if type(value) is not int or not low <= value <= MAX_TIMEOUT_SECONDS:
            raise StudioError(f"{where}.{key}", f"{where}.{key} must be {what}.")
        return value

    input_kind = data.get("input_kind")
    if input_kind not in ("file", "tabular"):
        raise StudioError(f"{where}.input_kind", f'{where}.input_kind must be "file" or "tabular".')
    names = data.get("inputs")
    _expect(names, list, f"{where}.inputs", "a list")
    known_inputs = {i.name for i in inputs}
    for i, name in enumerate(names):
        _expect(name, str, f"{where}.inputs[{i}]", "a string")
        if name not in known_inputs:
            raise StudioError(
                f"{where}.inputs[{i}]", f"{where}.inputs[{i}] names no input of the step."
            )
    if not names:
        raise StudioError(f"{where}.inputs", f"{where}.inputs must name at least one input.")
    output_action = data.get("output_action")
    if output_action not in PARALLEL_OUTPUT_ACTIONS:
        raise StudioError(
            f"{where}.output_action",
            f'{where}.output_action must be "append_row" or "summary_only".',
        )
    output = _opt_str(data, "output", where, limit=255)
    if output is not None and output not in {o.name for o in outputs}:
        raise StudioError(f"{where}.output", f"{where}.output names no output of the step.")
    if output is None and output_action == "append_row":
        raise StudioError(f"{where}.output", f"{where}.output is needed for append_row.")
    file_name = _opt_str(data, "append_row_file_name", where, limit=255)
    file_name = file_name or DEFAULT_APPEND_ROW_FILE_NAME
    if _BAD_FILE_NAME.search(file_name) or file_name in (".", ".."):
        raise StudioError(
            f"{where}.append_row_file_name",
            f"{where}.append_row_file_name must be a valid UNIX file name.",
        )
    percent = data.get("allowed_failed_percent")
    if percent is not None and (
        isinstance(percent, bool)
        or not isinstance(percent, (int, float))
        or not 0 <= percent <= 100
    ):
        raise StudioError(
            f"{where}.allowed_failed_percent",
            f"{where}.allowed_failed_percent must be a number from 0 to 100.",
        )
    keys = data.get("partition_keys", [])
    _expect(keys, list, f"{where}.partition_keys", "a list")
    for i, key in enumerate(keys):
        _expect(key, str, f"{where}.partition_keys[{i}]", "a string")
    logging_level = data.get("logging_level", "INFO")
    if logging_level not in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"):
        raise StudioError(
            f"{where}.logging_level",
            f"{where}.logging_level must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG.",
        )
    parameters_raw = data.get("parameters", {})
    _expect(parameters_raw, Mapping, f"{where}.parameters", "an object")
    for key, value in parameters_raw.items():
        if key not in PARALLEL_PARAMETER_SETTINGS:
            raise StudioError(
                f"{where}.parameters",
                f"{where}.parameters: {key!r} cannot be given by a pipeline parameter.",
            )
        _expect(value, str, f"{where}.parameters.{key}", "the name of a pipeline parameter")
    return ParallelSpec(
        input_kind=input_kind,
        inputs=tuple(names),
        mini_batch_size=whole("mini_batch_size", None, 1, "a whole number from 1"),
        error_threshold=whole("error_threshold", None, -1, "a whole number from -1"),
        output_action=output_action,
        output=output,
        append_row_file_name=file_name,
        node_count=whole("node_count", 1, 1, "a whole number from 1"),
        process_count_per_node=whole(
            "process_count_per_node", None, 1, "a whole number from 1", optional=True
        ),
        run_invocation_timeout=whole("run_invocation_timeout", 60, 1, "a whole number from 1"),
        run_max_try=whole("run_max_try", 3, 1, "a whole number from 1"),
        allowed_failed_count=whole(
            "allowed_failed_count", None, -1, "a whole number from -1", optional=True
        ),
        allowed_failed_percent=percent,
        partition_keys=tuple(keys),
        logging_level=logging_level,
        parameters=tuple(sorted(parameters_raw.items())),
    )


def _snapshot_path(data: Mapping, key: str, where: str) -> str:
    """A relative path that stays inside the step's folder."""
    try:
        path = clean_path(_str(data, key, where))
    except StudioError as exc:
        if exc.field != "path":
            raise
        raise StudioError(f"{where}.{key}", f"{where}.{key}: {exc.message}") from None
    if not path and key != "cwd":
        raise StudioError(f"{where}.{key}", f"{where}.{key} names no file.")
    return path


def topological_order(spec: GraphSpec) -> list[str]:
    """Node ids so that every step comes after its upstream steps (input order kept)."""
    upstream = spec.upstream()
    placed: list[str] = []
    done: set[str] = set()
    pending = [s.node_id for s in spec.steps]
    while pending:
        progressed = [n for n in pending if upstream[n] <= done]
        if not progressed:
            raise StudioError("graph.steps", "The graph has a cycle.")
        for node in progressed:
            placed.append(node)
            done.add(node)
        pending = [n for n in pending if n not in done]
    return placed


def layers(spec: GraphSpec) -> dict[str, int]:
    """Depth of each step: 0 for steps with no upstream, else 1 + deepest upstream."""
    upstream = spec.upstream()
    depth: dict[str, int] = {}
    for node in topological_order(spec):
        depth[node] = max((depth[u] + 1 for u in upstream[node] if u in depth), default=0)
    return depth
