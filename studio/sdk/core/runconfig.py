"""``RunConfiguration``: where a step runs (its ``target``) and with which environment."""

from __future__ import annotations


class RunConfiguration:
    def __init__(
        self,
        script=None,
        arguments=None,
        framework=None,
        communicator=None,
        conda_dependencies=None,
        _history_enabled=None,
        _path=None,
        _name=None,
        command=None,
    ):
        self.target = None
        self.environment = None
        self.script = script
        self.arguments = arguments or []

    def __repr__(self) -> str:
        return f"RunConfiguration(target={self.target!r})"
