"""How to Setup a Schedule for a Published Pipeline or Pipeline Endpoint, prefix changed."""

import studio.sdk.core
from studio.sdk.core import Workspace

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

from studio.sdk.pipeline.steps import PythonScriptStep

source_directory = "publish_run_train"
trainStep = PythonScriptStep(
    name="Training_Step",
    script_name="train.py",
    compute_target=aml_compute_target,
    source_directory=source_directory,
)
print("TrainStep created")

from studio.sdk.pipeline.core import Pipeline

pipeline1 = Pipeline(workspace=ws, steps=[trainStep])
print("Pipeline is built")

from datetime import datetime

timenow = datetime.now().strftime("%m-%d-%Y-%H-%M")

pipeline_name = timenow + "-Pipeline"
print(pipeline_name)

published_pipeline1 = pipeline1.publish(name=pipeline_name, description=pipeline_name)
print(f"Newly published pipeline id: {published_pipeline1.id}")

from studio.sdk.pipeline.core import PipelineEndpoint

pipeline_endpoint = PipelineEndpoint.publish(
    workspace=ws,
    name="ScheduledPipelineEndpoint",
    pipeline=pipeline1,
    description="Publish pipeline endpoint for schedule test",
)
print(pipeline_endpoint)

from studio.sdk.pipeline.core import PublishedPipeline

# You could retrieve all pipelines that are published, or
# just get the published pipeline object that you have the ID for.

# Get all published pipeline objects in the workspace
all_pub_pipelines = PublishedPipeline.list(ws)

# We will iterate through the list of published pipelines and
# use the last ID in the list for Schelue operations:
print("Published pipelines found in the workspace:")
for pub_pipeline in all_pub_pipelines:
    print(pub_pipeline.id)
    pub_pipeline_id = pub_pipeline.id
pub_pipeline_id = published_pipeline1.id  # (the list holds other tests' pipelines too)

print(f"Published pipeline id to be used for Schedule operations: {pub_pipeline_id}")

from studio.sdk.pipeline.core.schedule import Schedule, ScheduleRecurrence

recurrence = ScheduleRecurrence(
    frequency="Day", interval=2, hours=[22], minutes=[30]
)  # Runs every other day at 10:30pm

schedule = Schedule.create(
    workspace=ws,
    name="My_Schedule",
    pipeline_id=pub_pipeline_id,
    experiment_name="Schedule-run-sample",
    recurrence=recurrence,
    wait_for_provisioning=True,
    description="Schedule Run",
)

# You may want to make sure that the schedule is provisioned properly
# before making any further changes to the schedule

print(f"Created schedule with id: {schedule.id}")

schedules = Schedule.list(ws, pipeline_id=pub_pipeline_id)

# We will iterate through the list of schedules and
# use the last recurrence schedule in the list for further operations:
print(f"Found these schedules for the pipeline id {pub_pipeline_id}:")
for schedule in schedules:
    print(schedule.id)
    if schedule.recurrence is not None:
        schedule_id = schedule.id

print(f"Schedule id to be used for schedule operations: {schedule_id}")

# Use active_only=False to get all schedules including disabled schedules
schedules = Schedule.list(ws, active_only=True)
print("Your workspace has the following schedules set up:")
for schedule in schedules:
    print(f"{schedule.id} (Published pipeline: {schedule.pipeline_id}")

fetched_schedule = Schedule.get(ws, schedule_id)
print(f"Using schedule with id: {fetched_schedule.id}")

# Set the wait_for_provisioning flag to False if you do not want to wait
# for the call to provision the schedule in the backend.
fetched_schedule.disable(wait_for_provisioning=True)
fetched_schedule = Schedule.get(ws, schedule_id)
print(f"Disabled schedule {fetched_schedule.id}. New status is: {fetched_schedule.status}")

fetched_schedule.enable(wait_for_provisioning=True)
fetched_schedule = Schedule.get(ws, schedule_id)
print(f"Enabled schedule {fetched_schedule.id}. New status is: {fetched_schedule.status}")

recurrence = ScheduleRecurrence(frequency="Hour", interval=2)  # Runs every two hours

fetched_schedule = Schedule.get(ws, schedule_id)

fetched_schedule.update(
    name="My_Updated_Schedule",
    description="Updated_Schedule_Run",
    status="Active",
    wait_for_provisioning=True,
    recurrence=recurrence,
)

fetched_schedule = Schedule.get(ws, fetched_schedule.id)

print(
    "Updated schedule:",
    fetched_schedule.id,
    "\nNew name:",
    fetched_schedule.name,
    "\nNew frequency:",
    fetched_schedule.recurrence.frequency,
    "\nNew status:",
    fetched_schedule.status,
)

from studio.sdk.core.datastore import Datastore

datastore = Datastore(workspace=ws, name="workspaceblobstore")

schedule = Schedule.create(
    workspace=ws,
    name="My_Schedule",
    pipeline_id=pub_pipeline_id,
    experiment_name="Schedule-run-sample",
    datastore=datastore,
    wait_for_provisioning=True,
    description="Schedule Run",
)
# polling_interval=5, use polling_interval to specify how often to poll for blob additions/modifications. Default value is 5 minutes.
# path_on_datastore="file/path") use path_on_datastore to specify a specific folder to monitor for changes.

# You may want to make sure that the schedule is provisioned properly
# before making any further changes to the schedule

print(f"Created schedule with id: {schedule.id}")

# Set the wait_for_provisioning flag to False if you do not want to wait
# for the call to provision the schedule in the backend.
schedule.disable(wait_for_provisioning=True)
schedule = Schedule.get(ws, schedule_id)
print(f"Disabled schedule {schedule.id}. New status is: {schedule.status}")

pipeline_endpoint_by_name = PipelineEndpoint.get(workspace=ws, name="ScheduledPipelineEndpoint")
published_pipeline_endpoint_id = pipeline_endpoint_by_name.id

recurrence = ScheduleRecurrence(
    frequency="Day", interval=2, hours=[22], minutes=[30]
)  # Runs every other day at 10:30pm

schedule = Schedule.create_for_pipeline_endpoint(
    workspace=ws,
    name="My_Endpoint_Schedule",
    pipeline_endpoint_id=published_pipeline_endpoint_id,
    experiment_name="Schedule-run-sample",
    recurrence=recurrence,
    description="Schedule_Run",
    wait_for_provisioning=True,
)

# You may want to make sure that the schedule is provisioned properly
# before making any further changes to the schedule

print(f"Created schedule with id: {schedule.id}")

schedules_for_pipeline_endpoints = Schedule.get_schedules_for_pipeline_endpoint_id(
    ws, pipeline_endpoint_id=published_pipeline_endpoint_id
)
print(
    "Got all schedules for pipeline endpoint:",
    published_pipeline_endpoint_id,
    "Count:",
    len(schedules_for_pipeline_endpoints),
)

print("done")

print(
    "Schedules for the pipeline:", len(Schedule.get_schedules_for_pipeline_id(ws, pub_pipeline_id))
)
fetched_schedule = Schedule.get(ws, schedule_id)
print(f"Using schedule with id: {fetched_schedule.id}")

# Set the wait_for_provisioning flag to False if you do not want to wait
# for the call to provision the schedule in the backend.
fetched_schedule.disable(wait_for_provisioning=True)
fetched_schedule = Schedule.get(ws, schedule_id)
print(f"Disabled schedule {fetched_schedule.id}. New status is: {fetched_schedule.status}")
Schedule.get(ws, schedule.id).disable()  # the endpoint's schedule too: this is a shared test server
