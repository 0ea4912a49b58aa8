"""``Schedule``, ``ScheduleRecurrence`` and ``TimeZone`` (``azureml.pipeline.core.schedule``)."""

from __future__ import annotations

import builtins
import enum
import re
from datetime import datetime
from typing import Any

from tzlocal.windows_tz import win_tz

from studio.core.errors import StudioError
from studio.core.recurrence import parse_recurrence
from studio.sdk._names import checked_name
from studio.sdk.core.experiment import Experiment
from studio.sdk.pipeline.core.graph import parameter_value
from studio.sdk.pipeline.core.run import PipelineRun


def _member(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "", name.replace("+", "Plus").replace("-", "Minus"))


# The Windows time zone names azureml's TimeZone enum uses: TimeZone.WEuropeStandardTime.value == "W. Europe Standard Time".
# (Built from a table, so a type checker cannot know its members: typed as Any.)
_ZONES = {_member(name): name for name in sorted(win_tz)}
TimeZone: Any = enum.Enum("TimeZone", _ZONES, type=str)  # type: ignore[misc]


class ScheduleRecurrence:
    """How often a schedule fires, on the wall clock of ``time_zone``."""

    def __init__(
        self,
        frequency: str,
        interval: int,
        start_time=None,
        time_zone=None,
        hours=None,
        minutes=None,
        week_days=None,
        time_of_day=None,
    ):
        self.frequency = frequency
        self.interval = interval
        self.start_time = start_time
        self.time_zone = time_zone
        self.hours = hours
        self.minutes = minutes
        self.week_days = week_days
        self.time_of_day = time_of_day
        if self.start_time is not None and self.time_zone is None:
            self.time_zone = TimeZone["UTC"]
        self.validate()

    def __repr__(self) -> str:
        return f"ScheduleRecurrence(frequency={self.frequency!r}, interval={self.interval!r})"

    def validate(self) -> None:
        """Check the recurrence as the server will: the same rules and the same messages."""
        try:
            parse_recurrence(self._to_json())
        except StudioError as exc:
            raise ValueError(exc.message) from None

    def _to_json(self) -> dict:
        start = (
            self.start_time.isoformat(timespec="seconds")
            if isinstance(self.start_time, datetime)
            else self.start_time
        )
        zone = self.time_zone.value if isinstance(self.time_zone, enum.Enum) else self.time_zone
        return {
            "frequency": self.frequency,
            "interval": self.interval,
            "start_time": start,
            "time_zone": zone,
            "hours": self.hours,
            "minutes": self.minutes,
            "week_days": self.week_days,
            "time_of_day": self.time_of_day,
        }

    @classmethod
    def _from_json(cls, data: dict | None) -> ScheduleRecurrence | None:
        if not data:
            return None
        return cls(
            frequency=data["frequency"],
            interval=data["interval"],
            start_time=data.get("start_time"),
            time_zone=data.get("time_zone"),
            hours=data.get("hours") or None,
            minutes=data.get("minutes") or None,
            week_days=data.get("week_days") or None,
        )


def _check_kinds(
    recurrence, datastore, path_on_datastore, data_path_parameter_name, polling_interval
) -> None:
    if recurrence is not None and datastore is not None:
        raise ValueError("Can not specify both a Recurrence and a Datastore")
    if recurrence is None and datastore is None:
        raise ValueError("A schedule needs a recurrence or a datastore.")
    if recurrence is not None:
        if path_on_datastore is not None or data_path_parameter_name is not None:
            raise ValueError(
                "path_on_datastore and data_path_parameter_name can only be used with a datastore, not with a recurrence"
            )
        recurrence.validate()
    if polling_interval is not None and (
        not isinstance(polling_interval, (int, float)) or polling_interval <= 0
    ):
        raise ValueError("polling_interval must be a positive number of minutes")


def _parameters_json(parameters: dict | None, workspace) -> dict | None:
    if parameters is None:
        return None
    return {k: parameter_value(v, workspace) for k, v in parameters.items()}


class Schedule:
    """Starts a published pipeline or pipeline endpoint on a recurrence or when files change on a datastore."""

    def __init__(self, workspace, data: dict):
        self._workspace = workspace
        self._load(data)

    def _load(self, data: dict) -> None:
        self._data = data
        self.id = data["id"]
        self.name = data["name"]
        self.description = data["description"]
        self.pipeline_id = data["pipeline_id"]
        self.pipeline_endpoint_id = data["pipeline_endpoint_id"]
        self.status = data["status"]
        self.provisioning_status = data["provisioning_status"]
        self.recurrence = ScheduleRecurrence._from_json(data["recurrence"])
        self.datastore_name = data["datastore"]
        self.path_on_datastore = data["path_on_datastore"]
        self.polling_interval = data["polling_interval"]
        self.data_path_parameter_name = data["data_path_parameter_name"]
        self.continue_on_step_failure = data["continue_on_step_failure"]
        self.pipeline_parameters = data["pipeline_parameters"]
        self.next_fire_times = [
            datetime.fromisoformat(t.replace("Z", "+00:00"))
            for t in data.get("next_fire_times", [])
        ]

    def __repr__(self) -> str:
        return f"Pipeline(Name: {self.name}, Id: {self.id}, Status: {self.status}, Pipeline Id: {self.pipeline_id or self.pipeline_endpoint_id})"

    @staticmethod
    def _create(workspace, body: dict) -> Schedule:
        return Schedule(workspace, workspace._client.post("schedules/", body))

    @staticmethod
    def create(
        workspace,
        name,
        pipeline_id,
        experiment_name,
        recurrence=None,
        description=None,
        pipeline_parameters=None,
        wait_for_provisioning=False,
        wait_timeout=3600,
        datastore=None,
        polling_interval=5,
        data_path_parameter_name=None,
        continue_on_step_failure=None,
        path_on_datastore=None,
        _workflow_provider=None,
        _service_endpoint=None,
        missed_policy=None,
        include_subfolders=True,
    ) -> Schedule:
        """Schedule a published pipeline: by ``recurrence``, or on changes under ``path_on_datastore``."""
        _check_kinds(
            recurrence, datastore, path_on_datastore, data_path_parameter_name, polling_interval
        )
        return Schedule._create(
            workspace,
            Schedule._body(
                name,
                experiment_name,
                recurrence,
                description,
                _parameters_json(pipeline_parameters, workspace),
                datastore,
                polling_interval,
                data_path_parameter_name,
                continue_on_step_failure,
                path_on_datastore,
                missed_policy,
                include_subfolders,
                pipeline_id=pipeline_id,
            ),
        )

    @staticmethod
    def create_for_pipeline_endpoint(
        workspace,
        name,
        pipeline_endpoint_id,
        experiment_name,
        recurrence=None,
        description=None,
        pipeline_parameters=None,
        wait_for_provisioning=False,
        wait_timeout=3600,
        datastore=None,
        polling_interval=5,
        data_path_parameter_name=None,
        continue_on_step_failure=None,
        path_on_datastore=None,
        _workflow_provider=None,
        _service_endpoint=None,
        missed_policy=None,
        include_subfolders=True,
    ) -> Schedule:
        _check_kinds(
            recurrence, datastore, path_on_datastore, data_path_parameter_name, polling_interval
        )
        return Schedule._create(
            workspace,
            Schedule._body(
                name,
                experiment_name,
                recurrence,
                description,
                _parameters_json(pipeline_parameters, workspace),
                datastore,
                polling_interval,
                data_path_parameter_name,
                continue_on_step_failure,
                path_on_datastore,
                missed_policy,
                include_subfolders,
                pipeline_endpoint_id=pipeline_endpoint_id,
            ),
        )

    @staticmethod
    def _body(
        name,
        experiment_name,
        recurrence,
        description,
        pipeline_parameters,
        datastore,
        polling_interval,
        data_path_parameter_name,
        continue_on_step_failure,
        path_on_datastore,
        missed_policy,
        include_subfolders,
        **target,
    ) -> dict:
        body = {
            "name": checked_name("schedule", name),
            "experiment_name": experiment_name,
            "description": description or "",
            "pipeline_parameters": pipeline_parameters or {},
            "continue_on_step_failure": continue_on_step_failure,
            "missed_policy": missed_policy or "latest",
            **{k: str(v) for k, v in target.items()},
        }
        if recurrence is not None:
            body["recurrence"] = recurrence._to_json()
        else:
            body.update(
                datastore=getattr(datastore, "name", datastore),
                path_on_datastore=path_on_datastore or "",
                polling_interval=polling_interval,
                data_path_parameter_name=data_path_parameter_name,
                include_subfolders=include_subfolders,
            )
        return body

    @staticmethod
    def get(workspace, id: str, _workflow_provider=None, _service_endpoint=None) -> Schedule:
        return Schedule(workspace, workspace._client.get(f"schedules/{id}/"))

    @staticmethod
    def list(
        workspace,
        active_only: bool = True,
        pipeline_id=None,
        pipeline_endpoint_id=None,
        _workflow_provider=None,
        _service_endpoint=None,
    ) -> builtins.list[Schedule]:
        params = {"active_only": str(active_only).lower()}
        if pipeline_id:
            params["pipeline_id"] = pipeline_id
        if pipeline_endpoint_id:
            params["pipeline_endpoint_id"] = pipeline_endpoint_id
        return [Schedule(workspace, row) for row in workspace._client.get("schedules/", **params)]

    @staticmethod
    def get_schedules_for_pipeline_id(
        workspace, pipeline_id, _workflow_provider=None, _service_endpoint=None
    ) -> builtins.list[Schedule]:
        return Schedule.list(workspace, active_only=False, pipeline_id=pipeline_id)

    @staticmethod
    def get_schedules_for_pipeline_endpoint_id(
        workspace, pipeline_endpoint_id, _workflow_provider=None, _service_endpoint=None
    ) -> builtins.list[Schedule]:
        return Schedule.list(
            workspace, active_only=False, pipeline_endpoint_id=pipeline_endpoint_id
        )

    def enable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        self._load(self._workspace._client.post(f"schedules/{self.id}/enable/"))

    def disable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        self._load(self._workspace._client.post(f"schedules/{self.id}/disable/"))

    def update(
        self,
        name=None,
        description=None,
        recurrence=None,
        pipeline_parameters=None,
        status=None,
        wait_for_provisioning=False,
        wait_timeout=3600,
        datastore=None,
        polling_interval=None,
        data_path_parameter_name=None,
        continue_on_step_failure=None,
        path_on_datastore=None,
    ) -> None:
        """Change the schedule; None keeps a value. ``pipeline_parameters`` replaces the stored set."""
        if status is not None and status not in ("Active", "Disabled"):
            raise ValueError("Status must be Active or Disabled")
        if recurrence is not None and self.recurrence is None:
            raise ValueError("Can not add a recurrence to a schedule that watches a datastore")
        if self.recurrence is not None and (
            datastore is not None
            or path_on_datastore is not None
            or data_path_parameter_name is not None
            or polling_interval is not None
        ):
            raise ValueError("Can not set datastore options on a recurrence schedule")
        if recurrence is not None:
            recurrence.validate()
        body = {
            "name": name,
            "description": description,
            "pipeline_parameters": _parameters_json(pipeline_parameters, self._workspace),
            "status": status,
            "datastore": getattr(datastore, "name", datastore),
            "polling_interval": polling_interval,
            "data_path_parameter_name": data_path_parameter_name,
            "continue_on_step_failure": continue_on_step_failure,
            "path_on_datastore": path_on_datastore,
        }
        if recurrence is not None:
            body["recurrence"] = recurrence._to_json()
        body = {k: v for k, v in body.items() if v is not None}
        self._load(self._workspace._client.request("PATCH", f"schedules/{self.id}/", json=body))

    def get_pipeline_runs(self) -> builtins.list:
        """The runs this schedule started, newest first."""
        runs = []
        for row in self._workspace._client.get(f"schedules/{self.id}/runs/"):
            runs.append(
                PipelineRun(
                    Experiment(self._workspace, row["experiment"], _create=False), row["id"]
                )
            )
        return runs

    def get_last_pipeline_run(self) -> PipelineRun | None:
        runs = self.get_pipeline_runs()
        return runs[0] if runs else None


__all__ = ["Schedule", "ScheduleRecurrence", "TimeZone"]
