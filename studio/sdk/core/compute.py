"""``studio.sdk.core.compute``: compute targets, each a queue served by Celery workers.

A target's "nodes" are the live workers that serve its queue.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from studio.sdk._names import checked_name
from studio.sdk.exceptions import ComputeTargetException, UserErrorException


def _fetch(workspace, name: str) -> dict:
    try:
        return workspace._client.get(f"computetargets/{name}/")
    except UserErrorException as exc:
        if exc.status_code == 404:
            raise ComputeTargetException(
                f"ComputeTargetNotFound: Compute Target with name {name} not found in provided workspace"
            ) from None
        raise


class ComputeTarget:
    """``ComputeTarget(workspace, name)`` (or ``AmlCompute(workspace, name)``) gets an existing
    target or raises ComputeTargetException."""

    workspace: Any
    name: str
    type: str
    vm_size: str
    provisioning_state: str | None
    workers: list[str]
    _data: dict

    def __new__(cls, workspace=None, name: str | None = None):
        if workspace is not None and name is not None:
            return cls._from_dict(workspace, _fetch(workspace, name))
        return super().__new__(cls)

    def __init__(self, workspace=None, name: str | None = None):
        pass  # everything is set by _from_dict

    @classmethod
    def _from_dict(cls, workspace, data: dict) -> ComputeTarget:
        kind = data.get("kind", "AmlCompute")
        target = object.__new__(AmlCompute if kind == "AmlCompute" else ComputeTarget)
        target.workspace = workspace
        target.name = data["name"]
        target.type = kind
        target.vm_size = data.get("vm_size", "")
        target.provisioning_state = data.get("provisioning_state")
        target.workers = data.get("workers", [])
        target._data = data
        return target

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace!r}, name={self.name}, type={self.type})"

    @staticmethod
    def list(workspace) -> list[ComputeTarget]:
        return list(workspace.compute_targets.values())

    @staticmethod
    def create(workspace, name: str, provisioning_configuration) -> ComputeTarget:
        checked_name("compute target", name)
        config = provisioning_configuration
        try:
            data = workspace._client.post(
                "computetargets/",
                {
                    "name": name,
                    "kind": "AmlCompute",
                    "vm_size": config.vm_size or "",
                    "min_nodes": config.min_nodes,
                    "max_nodes": config.max_nodes,
                },
            )
        except UserErrorException as exc:
            raise ComputeTargetException(
                f"Compute target {name} could not be created: {exc.message}"
            ) from None
        return ComputeTarget._from_dict(workspace, data)

    def refresh_state(self) -> None:
        data = _fetch(self.workspace, self.name)
        self._data = data
        self.provisioning_state = data.get("provisioning_state")
        self.workers = data.get("workers", [])

    def wait_for_completion(
        self,
        show_output: bool = False,
        min_node_count=None,
        timeout_in_minutes: float = 20,
        is_delete_operation: bool = False,
    ) -> None:
        """Return once a worker serves this target's queue."""
        deadline = time.monotonic() + timeout_in_minutes * 60
        while True:
            self.refresh_state()
            if self.workers:
                if show_output:
                    print(
                        f'Provisioning operation finished, operation "Succeeded": {", ".join(self.workers)}'
                    )
                return
            if time.monotonic() > deadline:
                raise ComputeTargetException(
                    f"No worker started serving compute target {self.name} within {timeout_in_minutes} minutes."
                )
            if show_output:
                print(f"{self.name}: waiting for a worker", flush=True)
            time.sleep(0.5)

    def get_status(self) -> AmlComputeStatus:
        """Its nodes (the live workers serving it) and how many run a step now."""
        try:
            data = self.workspace._client.get(f"computetargets/{self.name}/status/")
        except UserErrorException as exc:
            if exc.status_code == 404:
                raise ComputeTargetException(
                    f"ComputeTargetNotFound: Compute Target with name {self.name} not found in provided workspace"
                ) from None
            raise
        self.provisioning_state, self.workers = data["provisioning_state"], data["workers"]
        return AmlComputeStatus(data)

    @property
    def status(self) -> AmlComputeStatus:
        return self.get_status()


class AmlCompute(ComputeTarget):
    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
        **kwargs,
    ) -> AmlComputeProvisioningConfiguration:
        return AmlComputeProvisioningConfiguration(
            vm_size=vm_size,
            vm_priority=vm_priority,
            min_nodes=min_nodes,
            max_nodes=max_nodes if max_nodes is not None else 4,
            idle_seconds_before_scaledown=idle_seconds_before_scaledown,
        )


class AmlComputeProvisioningConfiguration:
    def __init__(
        self,
        vm_size: str,
        min_nodes: int,
        max_nodes: int,
        vm_priority: str = "dedicated",
        idle_seconds_before_scaledown: int | None = None,
    ):
        self.vm_size = vm_size
        self.min_nodes = min_nodes
        self.max_nodes = max_nodes
        self.vm_priority = vm_priority
        self.idle_seconds_before_scaledown = idle_seconds_before_scaledown


class AmlComputeStatus:
    """A target's state as azureml reports a cluster's: its nodes are the live workers."""

    def __init__(self, data: dict):
        workers = len(data.get("workers", []))
        running = min(workers, int(data.get("running_steps", 0)))
        self.current_node_count = workers
        self.target_node_count = workers
        self.node_state_counts = {
            "preparingNodeCount": 0,
            "runningNodeCount": running,
            "idleNodeCount": workers - running,
            "unusableNodeCount": 0,
            "leavingNodeCount": 0,
            "preemptedNodeCount": 0,
        }
        self.allocation_state = "Steady"
        self.provisioning_state = data.get("provisioning_state")
        self.creation_time = data.get("created_at")
        self.vm_size = data.get("vm_size", "")
        self.vm_priority = "Dedicated"
        self.scale_settings = {
            "minNodeCount": data.get("min_nodes", 0),
            "maxNodeCount": data.get("max_nodes", 1),
        }
        self.errors = None
        self._read_at = datetime.now(timezone.utc).isoformat()

    def serialize(self) -> dict:
        return {
            "currentNodeCount": self.current_node_count,
            "targetNodeCount": self.target_node_count,
            "nodeStateCounts": dict(self.node_state_counts),
            "allocationState": self.allocation_state,
            "allocationStateTransitionTime": self._read_at,
            "errors": self.errors,
            "creationTime": self.creation_time,
            "modifiedTime": self._read_at,
            "provisioningState": self.provisioning_state,
            "provisioningStateTransitionTime": None,
            "scaleSettings": dict(self.scale_settings),
            "vmPriority": self.vm_priority,
            "vmSize": self.vm_size,
        }

    def __repr__(self) -> str:
        return repr(self.serialize())


__all__ = ["AmlCompute", "AmlComputeStatus", "ComputeTarget", "ComputeTargetException"]
