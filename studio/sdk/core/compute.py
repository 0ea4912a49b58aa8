"""``studio.sdk.core.compute``: compute targets, each a queue served by Celery workers."""

from __future__ import annotations

import time

from studio.sdk.exceptions import ComputeTargetException, UserErrorException


class ComputeTarget:
    """``ComputeTarget(workspace=ws, name=...)`` gets an existing target or raises ComputeTargetException."""

    def __new__(cls, workspace=None, name: str | None = None):
        if cls is ComputeTarget and workspace is not None and name is not None:
            try:
                data = workspace._client.get(f"computetargets/{name}/")
            except UserErrorException as exc:
                if exc.status_code == 404:
                    raise ComputeTargetException(
                        f"ComputeTargetNotFound: Compute Target with name {name} not found in provided workspace"
                    ) from None
                raise
            return cls._from_dict(workspace, data)
        return super().__new__(cls)

    def __init__(self, workspace=None, name: str | None = None):
        pass

    @classmethod
    def _from_dict(cls, workspace, data: dict) -> ComputeTarget:
        target = object.__new__(AmlCompute if data.get("kind") == "AmlCompute" else ComputeTarget)
        target.workspace = workspace
        target.name = data["name"]
        target.type = data.get("kind", "AmlCompute")
        target.vm_size = data.get("vm_size", "")
        target.provisioning_state = data.get("provisioning_state")
        target.workers = data.get("workers", [])
        return target

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name='{self.name}', workers={len(self.workers)})"

    @staticmethod
    def create(workspace, name: str, provisioning_configuration) -> ComputeTarget:
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
        data = self.workspace._client.get(f"computetargets/{self.name}/")
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

    def get_status(self):
        self.refresh_state()
        return self.provisioning_state


class AmlCompute(ComputeTarget):
    @staticmethod
    def provisioning_configuration(
        vm_size: str = "",
        vm_priority: str = "dedicated",
        min_nodes: int = 0,
        max_nodes: int | None = None,
        idle_seconds_before_scaledown: int | None = None,
        **kwargs,
    ) -> _ProvisioningConfiguration:
        return _ProvisioningConfiguration(
            vm_size=vm_size,
            min_nodes=min_nodes,
            max_nodes=max_nodes if max_nodes is not None else 4,
        )


class _ProvisioningConfiguration:
    def __init__(self, vm_size: str, min_nodes: int, max_nodes: int):
        self.vm_size = vm_size
        self.min_nodes = min_nodes
        self.max_nodes = max_nodes


__all__ = ["AmlCompute", "ComputeTarget", "ComputeTargetException"]
