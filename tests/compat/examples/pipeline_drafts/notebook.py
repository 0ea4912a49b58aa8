"""How to Use Pipeline Drafts, with the import prefix changed."""

import studio.sdk.core
from studio.sdk.core import Datastore, Experiment, Run, Workspace
from studio.sdk.widgets import RunDetails

# Check core SDK version number
print("SDK version:", studio.sdk.core.VERSION)

ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")

from studio.sdk.core.compute import AmlCompute, ComputeTarget
from studio.sdk.core.compute_target import ComputeTargetException

aml_compute_target = "cpu-cluster"
try:
    aml_compute = AmlCompute(ws, aml_compute_target)
    print(f"Found existing compute target: {aml_compute_target}")
except ComputeTargetException:
    print(f"Creating new compute target: {aml_compute_target}")

    provisioning_config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2", min_nodes=1, max_nodes=4
    )
    aml_compute = ComputeTarget.create(ws, aml_compute_target, provisioning_config)
    aml_compute.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)

from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep

source_directory = "publish_run_train"

train_step = PythonScriptStep(
    name="Training_Step",
    script_name="train.py",
    compute_target=aml_compute_target,
    source_directory=source_directory,
)
print("train step created")

pipeline = Pipeline(workspace=ws, steps=[train_step])
print("Pipeline is built")

from studio.sdk.pipeline.core import PipelineDraft

pipeline_draft = PipelineDraft.create(
    ws,
    name="TestPipelineDraft",
    description="draft description",
    experiment_name="helloworld",
    pipeline=pipeline,
    continue_on_step_failure=True,
    tags={"dev": "true"},
    properties={"train": "value"},
)

created_pipeline_draft_id = pipeline_draft.id

pipeline_drafts = PipelineDraft.list(ws, tags={"dev": "true"})

for pipeline_draft in pipeline_drafts:
    print(pipeline_draft)

pipeline_draft = PipelineDraft.get(ws, id=created_pipeline_draft_id)

new_train_step = PythonScriptStep(
    name="New_Training_Step",
    script_name="train.py",
    compute_target=aml_compute_target,
    source_directory=source_directory,
)

new_pipeline = Pipeline(workspace=ws, steps=[new_train_step])

pipeline_draft.update(
    name="UpdatedPipelineDraft", description="has updated train step", pipeline=new_pipeline
)

pipeline_run = pipeline_draft.submit_run()
print(pipeline_run)

published_pipeline = pipeline_draft.publish()
print(published_pipeline)
