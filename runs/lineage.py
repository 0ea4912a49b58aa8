"""A step's data, as the run page shows it: each input and output with where it lives, how
big it is and which dataset version it is; for an output, who read it afterwards (the later
steps of its run, the steps of other runs that reused it, and those that read a dataset
registered from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from runs import services
from runs.models import DatasetUse, Run, StepRun
from studio.core.errors import StudioError
from studio.core.paths import has_glob
from studio.core.spec import GraphSpec, InputSpec, OutputSpec, StepSpec
from studio.workspace import models_registry
from studio.workspace.models import Dataset, ModelRead, ModelVersion
from studio.workspace.services import ANONYMOUS_PREFIX, get_datastore

# How many other runs' reuses of an output, and reads of its datasets, are looked at.
OTHER_RUNS_LIMIT = 50


@dataclass(frozen=True)
class Reader:
    """A step that read an output: in this run, or in another one."""

    step_id: str
    step_name: str
    input_name: str
    run_id: str
    run_number: int
    experiment: str
    via: str  # "" in this run; else how it reached that run ("reused", "dataset d:3")


@dataclass(frozen=True)
class DatasetRef:
    """A dataset version an item is, or was registered as."""

    name: str
    version: int
    label: str  # name:version, or "(unnamed)" for a dataset saved without a name
    kind: str  # File, Tabular

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetRef:
        return cls(
            dataset.name, dataset.version, _dataset_label(dataset), dataset.get_kind_display()
        )


@dataclass
class DataItem:
    """One input or output of a step."""

    name: str
    kind: str  # dataset, OutputFileDatasetConfig, PipelineData, DataReference, DataPath
    datastore: str = ""
    path: str = ""
    is_file: bool = False
    files: int | None = None  # None: not known (not written yet, or recorded before sizes)
    bytes: int | None = None
    datasets: list[DatasetRef] = field(default_factory=list)  # read, or registered from it
    producer: StepRun | None = None  # an input made by an earlier step of the run
    written: bool = False  # an output: published by the step (or the one it reused)
    readers: list[Reader] = field(default_factory=list)
    other_readers: list[Reader] = field(default_factory=list)

    @property
    def folder(self) -> str:
        """The folder to browse on the datastore: the path, a file's folder, or the folder a
        glob pattern's matches share."""
        path = self.path.rsplit("/", 1)[0] if self.is_file and "/" in self.path else self.path
        fixed = []
        for part in path.split("/"):
            if has_glob(part):
                break
            fixed.append(part)
        return "/".join(fixed)


@dataclass
class StepData:
    inputs: list[DataItem]
    outputs: list[DataItem]
    # Model versions the step loaded (with the version it asked for) and registered.
    models_read: list[ModelRead] = field(default_factory=list)
    models_registered: list[ModelVersion] = field(default_factory=list)

    @property
    def sections(self) -> list[tuple[str, list[DataItem]]]:
        return [("input", self.inputs), ("output", self.outputs)]


def step_data(step: StepRun, spec: GraphSpec) -> StepData:
    """Every input and output of ``step`` (of a run whose graph is ``spec``), with lineage."""
    node = spec.step(step.node_id)
    run = step.run
    return StepData(
        inputs=[_input(port, run, spec) for port in node.inputs],
        outputs=[_output(port, step, spec) for port in node.outputs],
        models_read=list(
            ModelRead.objects.filter(step_run_id=step.log_step_id).select_related(
                "model_version__model"
            )[:100]
        ),
        models_registered=list(
            models_registry.versions().filter(step_run_id__in={step.id, step.log_step_id})[:100]
        ),
    )


def _input(port: InputSpec, run: Run, spec: GraphSpec) -> DataItem:
    if port.is_dataset:
        dataset = Dataset.objects.filter(id=port.dataset_id(run.parameters)).first()
        paths = dataset.paths if dataset is not None else []
        return DataItem(
            port.name,
            "dataset",
            datastore=", ".join(dict.fromkeys(str(p[0]) for p in paths)),
            path=", ".join(str(p[1]) for p in paths),
            datasets=[DatasetRef.of(dataset)] if dataset is not None else [],
        )
    if port.is_datapath:
        value = port.datapath(run.parameters)
        return DataItem(
            port.name,
            "DataPath" if port.parameter else "DataReference",
            datastore=value["datastore"],
            path=value["path"],
        )
    producer = StepRun.objects.filter(run=run, node_id=port.source_step).first()
    declared = next(
        (o for o in spec.step(port.source_step).outputs if o.name == port.source_output), None
    )
    item = _placed(
        DataItem(port.source_output, declared.kind if declared else "OutputFileDatasetConfig"),
        (producer.outputs if producer else {}).get(port.source_output),
        declared,
    )
    item.name, item.producer = port.name, producer
    return item


def _output(port: OutputSpec, step: StepRun, spec: GraphSpec) -> DataItem:
    item = _placed(DataItem(port.name, port.kind), step.outputs.get(port.name), port)
    writer_id = step.reused_from_id or step.id
    registered = port.registration()
    datasets = (
        [
            use.dataset
            for use in DatasetUse.objects.filter(
                step_run_id=writer_id, direction="write", dataset__name=registered["name"]
            ).select_related("dataset")
        ]
        if registered
        else []
    )
    item.datasets = [DatasetRef.of(d) for d in datasets]
    item.readers = _readers_in_run(step.run, spec, step.node_id, port.name)
    item.other_readers = _readers_elsewhere(step, writer_id, port.name, datasets)
    return item


def _placed(item: DataItem, record: dict | None, declared: OutputSpec | None) -> DataItem:
    """An output where it was published (``record``), else where it will be."""
    if record:
        item.datastore, item.path = record["datastore"], record["path"]
        item.is_file, item.written = bool(record.get("is_file")), True
        item.files, item.bytes = record.get("files"), record.get("bytes")
        if item.files is None:
            item.files, item.bytes = _measure(item.datastore, item.path)
    elif declared is not None:
        try:
            item.datastore = get_datastore(declared.datastore).name
        except StudioError:
            item.datastore = declared.datastore or ""
        item.path = declared.path or ""
        item.is_file = declared.is_file
    return item


def _measure(datastore: str, path: str) -> tuple[int | None, int | None]:
    """File count and bytes of an output recorded without them: read on a local datastore
    only (a remote one would make the page wait)."""
    try:
        store = get_datastore(datastore).store()
        if not store.is_local:
            return None, None
        files = list(store.walk(path))
    except Exception:  # a store that cannot be read shows no size
        return None, None
    return len(files), sum(f.size for f in files)


def _consumers(spec: GraphSpec, node_id: str, output: str) -> list[tuple[StepSpec, str]]:
    """The steps of a graph reading ``output`` of ``node_id``, with the input's name."""
    return [
        (s, port.name)
        for s in spec.steps
        for port in s.inputs
        if port.is_step_output and port.source_step == node_id and port.source_output == output
    ]


def _readers_in_run(run: Run, spec: GraphSpec, node_id: str, output: str) -> list[Reader]:
    consumers = _consumers(spec, node_id, output)
    if not consumers:
        return []
    steps = {s.node_id: s for s in run.steps.filter(node_id__in=[c.node_id for c, _ in consumers])}
    return [_reader(steps[c.node_id], port, run, "") for c, port in consumers if c.node_id in steps]


def _readers_elsewhere(
    step: StepRun, writer_id: str, output: str, datasets: list[Dataset]
) -> list[Reader]:
    """Steps of other runs that read this output: after reusing it (the step that wrote it,
    or a reuse of it, feeding later steps of its own run), or through a dataset registered
    from it."""
    readers: list[Reader] = []
    copies = (
        StepRun.objects.filter(Q(id=writer_id) | Q(reused_from_id=writer_id))
        .exclude(run_id=step.run_id)
        .select_related("run", "run__experiment")
        .order_by("-queued_at")[:OTHER_RUNS_LIMIT]
    )
    for copy in copies:
        spec = services.graph_of(copy.run.graph_id)
        consumers = _consumers(spec, copy.node_id, output)
        if not consumers:
            continue
        steps = {
            s.node_id: s
            for s in copy.run.steps.filter(node_id__in=[c.node_id for c, _ in consumers])
        }
        via = "reused" if copy.reused_from_id else "written there"
        readers += [
            _reader(steps[c.node_id], port, copy.run, via)
            for c, port in consumers
            if c.node_id in steps
        ]
    if datasets:
        uses = (
            DatasetUse.objects.filter(dataset__in=datasets, direction="read")
            .exclude(step_run__run_id=step.run_id)
            .select_related("dataset", "step_run__run__experiment")[:OTHER_RUNS_LIMIT]
        )
        readers += [
            _reader(use.step_run, "", use.step_run.run, f"dataset {_dataset_label(use.dataset)}")
            for use in uses
        ]
    return readers


def _reader(step: StepRun, input_name: str, run: Run, via: str) -> Reader:
    return Reader(
        step_id=step.id,
        step_name=step.name,
        input_name=input_name,
        run_id=run.id,
        run_number=run.number,
        experiment=run.experiment.name,
        via=via,
    )


def _dataset_label(dataset: Dataset) -> str:
    if dataset.name.startswith(ANONYMOUS_PREFIX):
        return "(unnamed)"
    return f"{dataset.name}:{dataset.version}"
