"""Showcasing Dataset and PipelineParameter, with the import prefix changed."""

import os

import studio.sdk.core
from studio.sdk.core import Dataset, Experiment, RunConfiguration, Workspace
from studio.sdk.core.compute import AmlCompute, ComputeTarget
from studio.sdk.core.environment import CondaDependencies
from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig
from studio.sdk.pipeline.core import Pipeline, PipelineParameter, PipelineRun
from studio.sdk.pipeline.steps import PythonScriptStep
from studio.sdk.widgets import RunDetails

# Check core SDK version number
print("SDK version:", studio.sdk.core.VERSION)

ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")

# Choose a name for the run history container in the workspace.
experiment_name = "showcasing-dataset"
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

file_dataset = Dataset.File.from_files(os.environ["DATA_URL"])
file_pipeline_param = PipelineParameter(name="file_ds_param", default_value=file_dataset)
file_ds_consumption = DatasetConsumptionConfig("file_dataset", file_pipeline_param).as_mount()

tabular_dataset = Dataset.Tabular.from_delimited_files(os.environ["DATA_URL"])
tabular_pipeline_param = PipelineParameter(name="tabular_ds_param", default_value=tabular_dataset)
tabular_ds_consumption = DatasetConsumptionConfig("tabular_dataset", tabular_pipeline_param)

# %%writefile train_with_dataset.py
with open("train_with_dataset.py", "w") as f:
    f.write("""from studio.sdk.core import Run

input_file_ds_path = Run.get_context().input_datasets['file_dataset']
with open(input_file_ds_path, 'r') as f:
    content = f.read()
    print(content.splitlines()[0])

input_tabular_ds = Run.get_context().input_datasets['tabular_dataset']
tabular_df = input_tabular_ds.to_pandas_dataframe()
print(tabular_df)
print("rows:", len(tabular_df), "columns:", list(tabular_df.columns))
""")

conda_dep = CondaDependencies()
conda_dep.add_pip_package("pandas")

run_config = RunConfiguration(conda_dependencies=conda_dep)

train_step = PythonScriptStep(
    name="train_step",
    script_name="train_with_dataset.py",
    arguments=["--param1", file_ds_consumption, "--param2", tabular_ds_consumption],
    inputs=[file_ds_consumption, tabular_ds_consumption],
    compute_target=compute_target,
    source_directory=source_directory,
    runconfig=run_config,
)

print("train_step created")

pipeline = Pipeline(workspace=ws, steps=[train_step])
print("pipeline with the train_step created")

# Pipeline will run with default file_ds and tabular_ds
pipeline_run = experiment.submit(pipeline)
print("Pipeline is submitted for execution")

RunDetails(pipeline_run).show()

pipeline_run.wait_for_completion()

iris_file_ds = Dataset.File.from_files(os.environ["IRIS_URL"])
iris_tabular_ds = Dataset.Tabular.from_delimited_files(os.environ["IRIS_URL"])

pipeline_run_with_params = experiment.submit(
    pipeline,
    pipeline_parameters={"file_ds_param": iris_file_ds, "tabular_ds_param": iris_tabular_ds},
)

RunDetails(pipeline_run_with_params).show()

pipeline_run_with_params.wait_for_completion()

published_pipeline = pipeline.publish(
    name="Dataset_Pipeline",
    description="Pipeline to test Dataset PipelineParameter",
    continue_on_step_failure=True,
)
print(published_pipeline)

published_run = published_pipeline.submit(
    ws,
    experiment_name="publishedexperiment",
    pipeline_parameters={"file_ds_param": iris_file_ds, "tabular_ds_param": iris_tabular_ds},
)

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
        "DataSetDefinitionValueAssignments": {
            "file_ds_param": {"SavedDataSetReference": {"Id": iris_file_ds.id}},
            "tabular_ds_param": {"SavedDataSetReference": {"Id": iris_tabular_ds.id}},
        },
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
published_run.wait_for_completion(show_output=False)
print("Runs:", pipeline_run.id, pipeline_run_with_params.id, published_run.id, run_id)
