"""Whether a parsed pipeline graph can run: every reason it cannot, in azureml's words.

The SDK checks what it knows (the graph itself, its snapshots' files); the server checks
the same and what only it knows (compute targets, datasets, datastores). Plain Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from studio.core.errors import StudioError
from studio.core.names import PORT_NAME
from studio.core.spec import Arg, GraphSpec, InputSpec, OutputSpec, StepSpec


def validate_graph(
    spec: GraphSpec,
    compute_targets: Iterable[str] | None = None,
    snapshot_files: Mapping[str, Iterable[str]] | None = None,
    datasets: Iterable[str] | None = None,
    datastores: Iterable[str] | None = None,
) -> list[StudioError]:
    """Every reason the graph cannot run, in azureml's words where azureml has them.

    ``compute_targets`` (known target names), ``snapshot_files`` (digest → file
    paths), ``datasets`` (known dataset ids) and ``datastores`` (known names) are
    checked only when given: the server knows them, the SDK does not.
    """
    known_datasets = set(datasets) if datasets is not None else None
    known_datastores = set(datastores) if datastores is not None else None
    errors: list[StudioError] = []
    by_id: dict[str, StepSpec] = {}
    for index, step in enumerate(spec.steps):
        if step.node_id in by_id:
            errors.append(
                StudioError(
                    f"graph.steps[{index}].node_id", f"Node id {step.node_id} is used by two steps."
                )
            )
        by_id[step.node_id] = step

    producer: dict[str, StepSpec] = {}
    for index, step in enumerate(spec.steps):
        where = f"graph.steps[{index}]"
        seen_ports: set[str] = set()
        ports: list[InputSpec | OutputSpec] = [*step.inputs, *step.outputs]
        for port in ports:
            if not PORT_NAME.match(port.name):
                errors.append(
                    StudioError(
                        where,
                        f"[{port.name}] is not a valid input name as it may contain only letters, digits, and underscores.",
                    )
                )
        for port in step.inputs:
            if port.name in seen_ports:
                errors.append(
                    StudioError(
                        where, f"[{port.name}] is repeated. Input port names must be unique."
                    )
                )
            seen_ports.add(port.name)
        for output in step.outputs:
            if output.name in producer:
                errors.append(
                    StudioError(
                        where,
                        f"Step output {output.name} can not be used as an output for step {step.name}, "
                        f"as it is already an output of step {producer[output.name].name}.",
                    )
                )
            else:
                producer[output.name] = step
        script = step.script_name.replace("\\", "/")
        if step.command is not None:
            if not step.command.strip():
                errors.append(
                    StudioError(f"{where}.command", f"Step [{step.name}]: command is empty.")
                )
        elif script.startswith("/") or ".." in script.split("/") or not script.strip():
            errors.append(
                StudioError(
                    f"{where}.script_name",
                    f"Step [{step.name}]: script_name must be a path inside source_directory.",
                )
            )
        elif snapshot_files is not None:
            files = snapshot_files.get(step.snapshot)
            if files is None:
                errors.append(
                    StudioError(
                        f"{where}.snapshot",
                        f"Step [{step.name}]: snapshot {step.snapshot} has not been uploaded.",
                    )
                )
            elif script not in set(files):
                errors.append(
                    StudioError(
                        f"{where}.script_name",
                        f"Step [{step.name}]: script not found at: {script}. Make sure to specify an appropriate source_directory on the Step or default_source_directory on the Pipeline.",
                    )
                )
        if compute_targets is not None and step.compute_target is not None:
            if step.compute_target not in set(compute_targets):
                errors.append(
                    StudioError(
                        f"{where}.compute_target",
                        f"Step [{step.name}]: compute target {step.compute_target} does not exist.",
                    )
                )

    parameter_names = {p.name for p in spec.parameters}
    for index, parameter in enumerate(spec.parameters):
        if (
            parameter.type == "dataset"
            and known_datasets is not None
            and parameter.default["id"] not in known_datasets
        ):
            errors.append(
                StudioError(
                    f"graph.parameters[{index}].default",
                    f"The default of pipeline parameter {parameter.name} names an unknown dataset "
                    f"{parameter.default['id']}.",
                )
            )
    for index, step in enumerate(spec.steps):
        where = f"graph.steps[{index}]"
        input_names = {i.name for i in step.inputs}
        output_names = {o.name for o in step.outputs}
        for port in step.inputs:
            if port.dataset:
                if known_datasets is not None and port.dataset not in known_datasets:
                    errors.append(
                        StudioError(
                            f"{where}.inputs",
                            f"Input {port.name} on step {step.name} names an unknown dataset {port.dataset}.",
                        )
                    )
                continue
            if port.dataset_parameter or port.parameter:
                wanted = "dataset" if port.dataset_parameter else "datapath"
                named = port.dataset_parameter or port.parameter
                declared = spec.parameter(named)
                if declared is None or declared.type != wanted:
                    errors.append(
                        StudioError(
                            f"{where}.inputs",
                            f"Input {port.name} on step {step.name} names {named}, which is not a "
                            f"{'Dataset' if wanted == 'dataset' else 'DataPath'} pipeline parameter.",
                        )
                    )
                continue
            if port.datastore:
                if known_datastores is not None and port.datastore not in known_datastores:
                    errors.append(
                        StudioError(
                            f"{where}.inputs",
                            f"Input {port.name} on step {step.name} names an unknown datastore {port.datastore}.",
                        )
                    )
                continue
            source = by_id.get(port.source_step)
            if source is None or port.source_output not in {o.name for o in source.outputs}:
                errors.append(
                    StudioError(
                        where,
                        f"Input {port.name} on step {step.name} is not connected to any previous step.",
                    )
                )
        named_args = [a for _, a in step.notebook.parameters] if step.notebook else []
        if step.parallel is not None:
            named_args += [Arg("parameter", n) for _, n in step.parallel.parameters]
        for arg in [*step.arguments, *(a for _, a in step.params), *named_args]:
            if arg.kind == "input" and arg.value not in input_names:
                errors.append(
                    StudioError(
                        where,
                        f"Input {arg.value} appears in arguments list but is not in the input list",
                    )
                )
            elif arg.kind == "output" and arg.value not in output_names:
                errors.append(
                    StudioError(
                        where,
                        f"Output {arg.value} appears in arguments list but is not in the output list",
                    )
                )
            elif arg.kind == "parameter" and arg.value not in parameter_names:
                errors.append(
                    StudioError(
                        where,
                        f"Pipeline parameter {arg.value} used by step {step.name} is not defined.",
                    )
                )
        for output in step.outputs:
            if (
                known_datastores is not None
                and output.datastore
                and output.datastore not in known_datastores
            ):
                errors.append(
                    StudioError(
                        f"{where}.outputs",
                        f"Output {output.name} of step {step.name} names an unknown datastore {output.datastore}.",
                    )
                )
        for other in step.run_after:
            if other not in by_id:
                errors.append(
                    StudioError(where, f"Step {step.name} runs after an unknown step {other}.")
                )

    cycle = find_cycle(spec)
    if cycle is not None:
        step = by_id[cycle]
        errors.append(
            StudioError("graph.steps", f"Cycle detected including node {step.name}({step.node_id})")
        )
    return errors


def find_cycle(spec: GraphSpec) -> str | None:
    """A node id on a cycle, or None when the graph is acyclic (iterative DFS)."""
    ids = {s.node_id for s in spec.steps}
    upstream = {s.node_id: [u for u in s.upstream() if u in ids] for s in spec.steps}
    state: dict[str, int] = {}
    for root in upstream:
        if state.get(root):
            continue
        stack = [(root, iter(upstream[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                return child
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(upstream[child])))
    return None
