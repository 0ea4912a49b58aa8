"""Azure Machine Learning Pipeline with NotebookRunnerStep, with the import prefix changed."""

import os
import pickle

# The example uploads ./20news.pkl, which sits beside it: a small sample of posts.
with open("20news.pkl", "wb") as f:
    pickle.dump(["Re: Space shuttle", "Hockey playoffs", "Graphics cards"], f)

import studio.sdk.core
from studio.sdk.core.compute import AmlCompute, ComputeTarget
from studio.sdk.core.runconfig import RunConfiguration
from studio.sdk.data.data_reference import DataReference
from studio.sdk.pipeline.core import PipelineData
from studio.sdk.core.datastore import Datastore

from studio.sdk.core import Workspace, Experiment
from studio.sdk.contrib.notebook import NotebookRunConfig, AzureMLNotebookHandler

from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep
from studio.sdk.contrib.notebook import NotebookRunnerStep

# Check core SDK version number
print("SDK version:", studio.sdk.core.VERSION)

ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")
ws.set_default_datastore("workspaceblobstore")

Datastore.get(ws, "workspaceblobstore").upload_files(
    ["./20news.pkl"], target_path="20newsgroups", overwrite=True
)
print("Upload call completed")

# Choose a name for the run history container in the workspace.
experiment_name = "notebook-step-run-example"
source_directory = "notebook_runner"

experiment = Experiment(ws, experiment_name)
experiment

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
        vm_size="STANDARD_D2_V2",  # for GPU, use "STANDARD_NC6"
        # vm_priority = 'lowpriority', # optional
        max_nodes=4,
    )

    # Create the cluster.
    compute_target = ComputeTarget.create(ws, amlcompute_cluster_name, provisioning_config)

    # Can poll for a minimum number of nodes and for a specific timeout.
    # If no min_node_count is provided, it will use the scale settings for the cluster.
    compute_target.wait_for_completion(show_output=True, min_node_count=1, timeout_in_minutes=10)

    # For a more detailed view of current AmlCompute status, use get_status().

from studio.sdk.core.conda_dependencies import CondaDependencies

conda_run_config = RunConfiguration(framework="python")

conda_run_config.environment.docker.enabled = True
conda_run_config.environment.docker.base_image = studio.sdk.core.runconfig.DEFAULT_CPU_IMAGE

print("run config is ready")

input_data = DataReference(
    datastore=Datastore.get(ws, "workspaceblobstore"),
    data_reference_name="blob_test_data",
    path_on_datastore="20newsgroups/20news.pkl",
)

output_data = PipelineData(name="processed_data", datastore=Datastore.get(ws, "workspaceblobstore"))

handler = AzureMLNotebookHandler(timeout=600, progress_bar=False, log_output=True)

cfg = NotebookRunConfig(
    source_directory=source_directory,
    notebook="training_notebook.ipynb",
    handler=handler,
    parameters={"arg1": "Machine Learning"},
    run_config=conda_run_config,
)

print("Notebook Run Config is created.")

print("Source directory for the step is {}.".format(os.path.realpath("./train")))
python_script_step = PythonScriptStep(
    script_name="train.py",
    arguments=["--input_data", input_data],
    inputs=[input_data],
    outputs=[output_data],
    compute_target=compute_target,
    source_directory="./train",
    allow_reuse=True,
)
print("python_script_step created")

from studio.sdk.pipeline.core import PipelineParameter

output_from_notebook = PipelineData(
    name="notebook_processed_data", datastore=Datastore.get(ws, "workspaceblobstore")
)

my_pipeline_param = PipelineParameter(name="pipeline_param", default_value="my_param")

print("Source directory for the step is {}.".format(os.path.realpath(source_directory)))
notebook_runner_step = NotebookRunnerStep(
    name="training_notebook_step",
    notebook_run_config=cfg,
    params={"my_pipeline_param": my_pipeline_param},
    inputs=[output_data],
    outputs=[output_from_notebook],
    allow_reuse=True,
    compute_target=compute_target,
    output_notebook_pipeline_data_name="notebook_result",
)

print("Notebook Runner Step is Created.")

pipeline1 = Pipeline(workspace=ws, steps=[notebook_runner_step])
print("Pipeline creation complete")

pipeline_run1 = experiment.submit(pipeline1)
print("Notebook_runner run:", pipeline_run1.id)

from studio.sdk.widgets import RunDetails

RunDetails(pipeline_run1).show()

pipeline_run1.wait_for_completion()
train_step = pipeline_run1.find_step_run(
    "training_notebook_step"
)  # Retrieve the step runs by name `train.py`

if train_step:
    train_step_obj = train_step[0]  # since we have only one step by name `training_notebook_step`
    train_step_obj.get_output_data("notebook_result").download(
        source_directory
    )  # download the output to source_directory
