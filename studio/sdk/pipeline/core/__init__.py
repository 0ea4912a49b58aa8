"""``studio.sdk.pipeline.core`` (``azureml.pipeline.core``)."""

from __future__ import annotations

from studio.sdk.pipeline.core.builder import PipelineData
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.core.module import Module, ModuleVersion, ModuleVersionDescriptor
from studio.sdk.pipeline.core.pipeline import Pipeline, StepSequence
from studio.sdk.pipeline.core.pipeline_draft import PipelineDraft
from studio.sdk.pipeline.core.published import (
    PipelineEndpoint,
    PipelineIdVersion,
    PublishedPipeline,
)
from studio.sdk.pipeline.core.run import PipelineRun, PortDataReference, StepRun, StepRunOutput
from studio.sdk.pipeline.core.schedule import Schedule, ScheduleRecurrence, TimeZone

__all__ = [
    "Module",
    "ModuleVersion",
    "ModuleVersionDescriptor",
    "Pipeline",
    "PipelineData",
    "PipelineDraft",
    "PipelineEndpoint",
    "PipelineIdVersion",
    "PipelineParameter",
    "PipelineRun",
    "PortDataReference",
    "PublishedPipeline",
    "Schedule",
    "ScheduleRecurrence",
    "StepRun",
    "StepRunOutput",
    "StepSequence",
    "TimeZone",
]
