"""Showcasing DataPath and PipelineParameter, with the import prefix changed."""

import os

import studio.sdk.core
from studio.sdk.core import Experiment, Workspace
from studio.sdk.core.compute import AmlCompute, ComputeTarget
from studio.sdk.data.datapath import DataPath, DataPathComputeBinding
from studio.sdk.pipeline.core import Pipeline, PipelineParameter, PipelineRun
from studio.sdk.pipeline.steps import PythonScriptStep
from studio.sdk.widgets import RunDetails

# Check core SDK version number
print("SDK version:", studio.sdk.core.VERSION)

ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")

# Choose a name for the run history container in the workspace.
experiment_name = "showcasing-datapath"
source_directory = "."

experiment = Experiment(ws, experiment_name)
print(experiment)

# Choose a name for your cluster.
amlcompute_cluster_name = "cpu-cluster"

found = False
# Check if this compute target already exists in the workspace.
cts = ws.compute_targets
if amlcompute_cluster_name in cts and cts[amlcompute_cluster_name].type == "AmlCompute":
    found = True
    print("Found existing compute target.")
    compute_target = cts[amlcompute_cluster_name]

if not found:
    print("Creating a new compute target...")
    provisioning_config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2",  # for GPU, use "Standard_NC6s_v3"
        # vm_priority = 'lowpriority', # optional
        max_nodes=4,
    )

    # Create the cluster.
    compute_target = ComputeTarget.create(ws, amlcompute_cluster_name, provisioning_config)

    # Can poll for a minimum number of nodes and for a specific timeout.
    # If no min_node_count is provided, it will use the scale settings for the cluster.
    compute_target.wait_for_completion(show_output=True, timeout_in_minutes=10)

# %%writefile train_with_datapath.py
with open("train_with_datapath.py", "w") as f:
    f.write("""import argparse
import os

parser = argparse.ArgumentParser("train")
parser.add_argument("--arg1", type=str, help="sample string argument")
parser.add_argument("--arg2", type=str, help="sample datapath argument")
args = parser.parse_args()

print("Sample string argument  : %s" % args.arg1)
print("Sample datapath argument: %s" % args.arg2)
print("Files at the datapath: %s" % sorted(os.listdir(args.arg2)))
""")

def_blob_store = ws.get_default_datastore()
print(f"Default datastore's name: {def_blob_store.name}")

# Folders of sample data on the datastore, as the notebook's prerequisites have them
for folder in ("sample_datapath1", "sample_datapath2", "sample_datapath3"):
    os.makedirs(os.path.join("data", folder), exist_ok=True)
    with open(os.path.join("data", folder, folder + ".txt"), "w") as f:
        f.write(folder)
    def_blob_store.upload(src_dir=os.path.join("data", folder), target_path=folder, overwrite=True)

data_path = DataPath(datastore=def_blob_store, path_on_datastore="sample_datapath1")
datapath1_pipeline_param = PipelineParameter(name="input_datapath", default_value=data_path)
datapath_input = (datapath1_pipeline_param, DataPathComputeBinding(mode="mount"))

string_pipeline_param = PipelineParameter(name="input_string", default_value="sample_string1")

train_step = PythonScriptStep(
    name="train_step",
    script_name="train_with_datapath.py",
    arguments=["--arg1", string_pipeline_param, "--arg2", datapath_input],
    inputs=[datapath_input],
    compute_target=compute_target,
    source_directory=source_directory,
)
print("train_step created")

pipeline = Pipeline(workspace=ws, steps=[train_step])
print("pipeline with the train_step created")

pipeline_run = experiment.submit(pipeline)
print("Pipeline is submitted for execution")

RunDetails(pipeline_run).show()

pipeline_run.wait_for_completion()

pipeline_run_with_params = experiment.submit(
    pipeline,
    pipeline_parameters={
        "input_datapath": DataPath(datastore=def_blob_store, path_on_datastore="sample_datapath2"),
        "input_string": "sample_string2",
    },
)

RunDetails(pipeline_run_with_params).show()

pipeline_run_with_params.wait_for_completion()

published_pipeline = pipeline.publish(
    name="DataPath_Pipeline", description="Pipeline to test Datapath", continue_on_step_failure=True
)
print(published_pipeline)

import requests

from studio.sdk.core.authentication import InteractiveLoginAuthentication

auth = InteractiveLoginAuthentication()
aad_token = auth.get_authentication_header()

rest_endpoint = published_pipeline.endpoint

print(f"You can perform HTTP POST on URL {rest_endpoint} to trigger this pipeline")

# specify the param when running the pipeline
response = requests.post(
    rest_endpoint,
    headers=aad_token,
    json={
        "ExperimentName": "MyRestPipeline",
        "RunSource": "SDK",
        "DataPathAssignments": {
            "input_datapath": {
                "DataStoreName": def_blob_store.name,
                "RelativePath": "sample_datapath3",
            }
        },
        "ParameterAssignments": {"input_string": "sample_string3"},
    },
)

try:
    response.raise_for_status()
except Exception:
    raise Exception(
        f"Received bad response from the endpoint: {rest_endpoint}\n"
        f"Response Code: {response.status_code}\n"
        f"Headers: {response.headers}\n"
        f"Content: {response.content}"
    )

run_id = response.json().get("Id")
print("Submitted pipeline run: ", run_id)

published_pipeline_run_via_rest = PipelineRun(ws.experiments["MyRestPipeline"], run_id)
RunDetails(published_pipeline_run_via_rest).show()

published_pipeline_run_via_rest.wait_for_completion()

from studio.sdk.pipeline.core import Schedule

schedule = Schedule.create(
    workspace=ws,
    name="Datastore_trigger_schedule",
    pipeline_id=published_pipeline.id,
    experiment_name="Scheduled_Pipeline",
    datastore=def_blob_store,
    wait_for_provisioning=True,
    description="Datastore trigger schedule demo",
    path_on_datastore="sample_datapath_for_folder",
    data_path_parameter_name="input_datapath",
)  # Same name as used above to create PipelineParameter

print(f"Created schedule with id: {schedule.id}")

schedule.disable()
print(schedule)
print("Schedule status:", schedule.status)
print("Runs:", pipeline_run.id, pipeline_run_with_params.id, run_id)
