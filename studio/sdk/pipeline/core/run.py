"""``PipelineRun`` and ``StepRun``: follow a submitted pipeline and its steps."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any, NoReturn

from studio.core.status import TERMINAL, aether_status
from studio.sdk._names import checked_name, checked_tags
from studio.sdk.core.datastore import Datastore
from studio.sdk.core.experiment import Experiment
from studio.sdk.core.run import Run, _MetricLogging, collect_metrics
from studio.sdk.exceptions import ActivityFailedException, UserErrorException
from studio.sdk.pipeline.core.published import PublishedPipeline


class PipelineRun(_MetricLogging):
    """A submitted pipeline: its status, steps, logs and pipeline-level metrics."""

    def __init__(self, experiment, run_id: str, _data: dict | None = None):
        self.experiment = experiment
        self.id = run_id
        self._data = _data

    def __repr__(self) -> str:
        return f"PipelineRun(Experiment: {self.experiment.name}, Id: {self.id}, Type: azureml.PipelineRun, Status: {self.status})"

    @classmethod
    def get(cls, workspace, run_id: str) -> PipelineRun:
        data = workspace._client.get(f"runs/{run_id}/")
        return cls(Experiment(workspace, data["experiment"], _create=False), run_id, _data=data)

    @property
    def _client(self):
        return self.experiment.workspace._client

    @property
    def _metrics_path(self) -> str:
        return f"runs/{self.id}/metrics/"

    def _refresh(self) -> dict:
        self._data = self._client.get(f"runs/{self.id}/")
        return self._data

    @property
    def status(self) -> str:
        """RunHistory status (Completed, Failed, ...)."""
        return self._refresh()["status"]

    @property
    def tags(self) -> dict:
        return dict(self._refresh()["tags"])

    @property
    def description(self) -> str:
        return (self._data or self._refresh())["description"]

    def get_status(self) -> str:
        """Azure's pipeline vocabulary: NotStarted, Running, Failed, Finished, Canceled."""
        return aether_status(self.status)

    def get_details(self) -> dict:
        data = self._refresh()
        return {
            "runId": data["id"],
            "status": data["status"],
            "startTimeUtc": data["started_at"],
            "endTimeUtc": data["ended_at"],
            "properties": dict(data["properties"]),
            "tags": dict(data["tags"]),
            "parameters": dict(data["parameters"]),
            "submittedBy": data["submitted_by"],
            "error": {"error": {"message": data["error"]}} if data["error"] else None,
        }

    def get_tags(self) -> dict:
        return self.tags

    @property
    def display_name(self) -> str:
        """The run's name in the studio (shown instead of "Run <number>"); "" until one is set."""
        return self._refresh().get("display_name", "")

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._update({"display_name": str(value)})

    def tag(self, key: str, value: str | None = None) -> None:
        self.set_tags({key: "" if value is None else value})

    def set_tags(self, tags: dict) -> None:
        """Add or change tags; the others are kept."""
        self._update({"tags": checked_tags(tags)})

    def remove_tags(self, tags: list[str]) -> None:
        self._update({"remove_tags": [str(key) for key in tags]})

    def _update(self, body: dict) -> None:
        self._data = self._client.request("PATCH", f"runs/{self.id}/", json=body)

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type=None,
        populate: bool = False,
    ) -> dict:
        """Metrics logged on this pipeline run (``run.parent.log`` in a step); with
        ``recursive``, ``{run id: {name: value}}`` for this run and each of its steps."""
        rows = self._client.get(f"runs/{self.id}/metrics/")
        by_run: dict[str, list] = {self.id: []}
        for row in rows:
            by_run.setdefault(row["step_run_id"] or self.id, []).append(row)
        if not recursive:
            return collect_metrics(by_run[self.id], name)
        return {run: collect_metrics(items, name) for run, items in by_run.items()}

    def log_image(
        self, name: str, path: str | None = None, plot=None, description: str = ""
    ) -> NoReturn:
        raise UserErrorException(
            "log_image is not supported on a PipelineRun: log the image from a step "
            "(Run.get_context().log_image)."
        )

    def get_children(
        self,
        recursive: bool = False,
        tags=None,
        properties=None,
        type=None,
        status=None,
        _rehydrate_runs: bool = True,
    ) -> Iterator[StepRun]:
        """The step runs that have started or finished, in graph order (a generator, as in
        azureml). ``tags``/``properties``: a name, or a {name: value} dict, each must match;
        ``status``: a RunHistory status."""
        for data in self._refresh()["steps"]:
            if not (data["started_at"] or data["status"] in TERMINAL):
                continue
            if status is not None and data["status"] != status:
                continue
            if not _matches(data["tags"], tags) or not _matches(data["properties"], properties):
                continue
            yield StepRun(self, data["id"], _data=data)

    def get_steps(self) -> list[StepRun]:
        """Step runs that have started or finished, in graph order."""
        return list(self.get_children())

    def find_step_run(self, name: str) -> list[StepRun]:
        data = self._refresh()
        return [StepRun(self, s["id"], _data=s) for s in data["steps"] if s["name"] == name]

    def cancel(self) -> None:
        self._client.post(f"runs/{self.id}/cancel/")

    def publish_pipeline(
        self,
        name: str,
        description: str,
        version: str,
        continue_on_step_failure: bool | None = None,
    ) -> PublishedPipeline:
        """Publish the pipeline of this (successful) run."""
        checked_name("published pipeline", name)
        data = self._client.post(
            f"runs/{self.id}/publish/",
            {
                "name": name,
                "description": description or "",
                "version": "" if version is None else str(version),
                "continue_on_step_failure": continue_on_step_failure,
            },
        )
        return PublishedPipeline(self.experiment.workspace, data)

    def wait_for_completion(
        self,
        show_output: bool = True,
        timeout_seconds: float = sys.maxsize,
        raise_on_error: bool = True,
    ) -> str:
        """Wait for the run to end, streaming each step's log when ``show_output``; return the status."""
        deadline = time.monotonic() + timeout_seconds
        streamer = _LogStreamer(self._client)
        if show_output:
            print(f"PipelineRunId: {self.id}")
            print(f"Link to Studio web view: {self._refresh()['url']}")
        while True:
            data = self._refresh()
            if show_output:
                streamer.poll(data["steps"])
            if data["status"] in TERMINAL:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        status = aether_status(data["status"])
        if show_output:
            print()
            print(f"PipelineRun Execution Summary\n{'=' * 30}\nPipelineRun Status: {status}")
            if data["error"]:
                print(data["error"])
        if raise_on_error and data["error"] and data["status"] == "Failed":
            raise ActivityFailedException(
                f"Pipeline run {self.id} failed: {data['error']}", details=self.get_details()
            )
        return status


def _matches(values: dict, wanted) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return wanted in values
    return all(values.get(k) == v for k, v in dict(wanted).items())


class _LogStreamer:
    """Writes the steps' logs to stdout as they grow. Once two steps run at the same time,
    every line carries its step's name (``[prepare data] ...``), so that interleaved logs
    stay readable."""

    def __init__(self, client):
        self._client = client
        self._offsets: dict[str, int] = {}
        self._partial: dict[str, str] = {}
        self._announced: set[str] = set()
        self._prefixed = False

    def poll(self, steps: list[dict]) -> None:
        running = [s for s in steps if s["started_at"] and s["status"] not in TERMINAL]
        if len(running) > 1:
            self._prefixed = True
        for step in steps:
            if not step["started_at"]:
                continue
            if step["id"] not in self._announced:
                self._announced.add(step["id"])
                print(f"StepRunId: {step['id']}")
                if step["reuse"]["reused"]:
                    print(
                        f"StepRun({step['name']}) reused the output of run "
                        f"{step['reuse']['reused_from_run']}, step run {step['reuse']['reused_from_step']}"
                    )
                    continue
                print("Streaming user_logs/std_log.txt")
                print("=" * 30)
            if step["reuse"]["reused"]:
                continue
            self._read(step)
            if step["status"] in TERMINAL and self._partial.get(step["id"]):
                self._write(step["name"], self._partial.pop(step["id"]) + "\n")
        sys.stdout.flush()

    def _read(self, step: dict) -> None:
        offset = self._offsets.get(step["id"], 0)
        while True:
            chunk = self._client.get(f"steps/{step['id']}/log/", offset=offset)
            if chunk["data"]:
                self._emit(step, chunk["data"])
            if chunk["next_offset"] == offset:
                break
            offset = chunk["next_offset"]
        self._offsets[step["id"]] = offset

    def _emit(self, step: dict, text: str) -> None:
        if not self._prefixed:
            sys.stdout.write(text)
            return
        text = self._partial.pop(step["id"], "") + text
        complete, _, rest = text.rpartition("\n")
        if rest:
            self._partial[step["id"]] = rest
        if complete or text.endswith("\n"):
            self._write(step["name"], complete + "\n")

    @staticmethod
    def _write(name: str, lines: str) -> None:
        for line in lines.splitlines():
            sys.stdout.write(f"[{name}] {line}\n")


class StepRun:
    def __init__(self, pipeline_run: PipelineRun, step_run_id: str, _data: dict | None = None):
        self.parent = pipeline_run
        self.experiment = pipeline_run.experiment
        self.id = step_run_id
        self._data = _data or {}
        self.name = self._data.get("name")

    def __repr__(self) -> str:
        return f"StepRun(Name: {self.name}, Id: {self.id}, Type: azureml.StepRun)"

    @property
    def _client(self):
        return self.experiment.workspace._client

    def _refresh(self) -> dict:
        self._data = self._client.get(f"steps/{self.id}/")
        self.name = self._data["name"]
        return self._data

    @property
    def status(self) -> str:
        return self._refresh()["status"]

    def get_status(self) -> str:
        return aether_status(self.status)

    def get_details(self) -> dict:
        data = self._refresh()
        return {
            "runId": data["id"],
            "status": data["status"],
            "target": data["compute_target"],
            "startTimeUtc": data["started_at"],
            "endTimeUtc": data["ended_at"],
            "attempt": data["attempt"],
            "exitCode": data["exit_code"],
            "outputs": dict(data["outputs"]),
            "properties": dict(data["properties"]),
            "reuse": dict(data["reuse"]),
            "module": data.get("module"),
            "error": {"error": {"message": data["error"]}} if data["error"] else None,
        }

    @property
    def properties(self) -> dict:
        return dict(self._refresh()["properties"])

    def register_model(self, model_name: str, model_path: str | None = None, **kwargs) -> Any:
        """Register a model from this step run's files (``Run.register_model``)."""
        from studio.sdk.core.run import Run

        return Run(self.experiment, self.id).register_model(model_name, model_path, **kwargs)

    def get_properties(self) -> dict:
        return self.properties

    def get_job_log(self) -> str:
        """The whole ``user_logs/std_log.txt``."""
        parts = []
        offset = 0
        while True:
            chunk = self._client.get(f"steps/{self.id}/log/", offset=offset, limit=4 * 1024 * 1024)
            parts.append(chunk["data"])
            if chunk["next_offset"] == offset:
                return "".join(parts)
            offset = chunk["next_offset"]

    get_stdout_log = get_job_log

    def get_metrics(self, name: str | None = None) -> dict:
        return Run(self.experiment, self.id).get_metrics(name)

    def get_outputs(self) -> dict[str, StepRunOutput]:
        """``{output name: StepRunOutput}`` of this step (azureml's hidden sequencing port excluded)."""
        outputs = self._refresh()["outputs"]
        return {name: StepRunOutput(self, name, output) for name, output in outputs.items()}

    def get_output(self, name: str) -> StepRunOutput:
        outputs = self.get_outputs()
        if name not in outputs:
            raise KeyError(f"Step {self.name} has no output {name}; it has {sorted(outputs)}")
        return outputs[name]

    def get_output_data(self, name: str) -> PortDataReference:
        return self.get_output(name).get_port_data_reference()

    def wait_for_completion(
        self,
        show_output: bool = False,
        timeout_seconds: float = sys.maxsize,
        raise_on_error: bool = True,
    ) -> str:
        deadline = time.monotonic() + timeout_seconds
        while self.status not in TERMINAL and time.monotonic() < deadline:
            time.sleep(1)
        return self.get_status()


class StepRunOutput:
    """An output a step run produced; ``get_port_data_reference()`` says where its data is."""

    def __init__(self, step_run: StepRun, name: str, output: dict):
        self.step_run = step_run
        self.name = name
        self._output = output

    def get_port_data_reference(self) -> PortDataReference:
        return PortDataReference(
            self.step_run.experiment.workspace,
            self.name,
            self._output["path"],
            self._output["datastore"],
        )

    def __repr__(self) -> str:
        return f"StepRunOutput(name={self.name!r}, step_run={self.step_run.id!r})"


class PortDataReference:
    """Where a step output lives: ``path_on_datastore`` on datastore ``datastore_name``."""

    def __init__(self, workspace, name: str, path_on_datastore: str, datastore_name: str):
        self.workspace = workspace
        self.name = name
        self.path_on_datastore = path_on_datastore
        self.datastore_name = datastore_name

    @property
    def datastore(self) -> Datastore:
        return Datastore(self.workspace, self.datastore_name)

    def download(self, local_path: str, overwrite: bool = False, show_progress: bool = True) -> str:
        """Copy the output's files under ``local_path``; returns that folder."""
        self.datastore.download(
            local_path,
            prefix=self.path_on_datastore,
            overwrite=overwrite,
            show_progress=show_progress,
        )
        return local_path

    def __repr__(self) -> str:
        return (
            f"PortDataReference(name={self.name!r}, path_on_datastore={self.path_on_datastore!r})"
        )
