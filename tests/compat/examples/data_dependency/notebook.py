"""Azure Machine Learning Pipeline with data dependency, with the import prefix changed."""

import os
import tempfile

import requests

import studio.sdk.core
from studio.sdk.core import Datastore, Experiment, Workspace
from studio.sdk.core.compute import AmlCompute, ComputeTarget
from studio.sdk.widgets import RunDetails

# Check core SDK version number
print("SDK version:", studio.sdk.core.VERSION)

from studio.sdk.data.data_reference import DataReference
from studio.sdk.pipeline.core import Pipeline, PipelineData
from studio.sdk.pipeline.steps import PythonScriptStep

print("Pipeline SDK-specific imports completed")

ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")

# Default datastore (Azure blob storage)
# def_blob_store = ws.get_default_datastore()
def_blob_store = Datastore(ws, "workspaceblobstore")
print(f"Blobstore's name: {def_blob_store.name}")

# The data the getting-started notebook uploads
titanic_file = os.path.join(tempfile.mkdtemp(), "Titanic.csv")
with open(titanic_file, "w") as f:
    f.write(requests.get(os.environ["DATA_URL"]).text)
def_blob_store.upload_files([titanic_file], target_path="titanic", overwrite=True)

# source directory
source_directory = "data_dependency_run_train"

print(f"Sample scripts will be created in {source_directory} directory.")

cts = ws.compute_targets
for ct in cts:
    print(ct)

from studio.sdk.core.compute_target import ComputeTargetException

aml_compute_target = "cpu-cluster"
try:
    aml_compute = AmlCompute(ws, aml_compute_target)
    print("found existing compute target.")
except ComputeTargetException:
    print("creating new compute target")

    provisioning_config = AmlCompute.provisioning_configuration(
        vm_size="STANDARD_D2_V2", min_nodes=1, max_nodes=4
    )
    aml_compute = ComputeTarget.create(ws, aml_compute_target, provisioning_config)
    aml_compute.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)

print("Aml Compute attached")

blob_input_data = DataReference(
    datastore=def_blob_store,
    data_reference_name="test_data",
    path_on_datastore="titanic/Titanic.csv",
)
print("DataReference object created")

processed_data1 = PipelineData("processed_data1", datastore=def_blob_store, is_directory=True)
print("PipelineData object created")

from studio.sdk.core.conda_dependencies import CondaDependencies
from studio.sdk.core.runconfig import DEFAULT_CPU_IMAGE, RunConfiguration

# create a new runconfig object
run_config = RunConfiguration()

# enable Docker
run_config.environment.docker.enabled = True

# set Docker base image to the default CPU-based image
run_config.environment.docker.base_image = DEFAULT_CPU_IMAGE

# use conda_dependencies.yml to create a conda environment in the Docker image for execution
run_config.environment.python.user_managed_dependencies = False

# specify CondaDependencies obj
run_config.environment.python.conda_dependencies = CondaDependencies.create(
    conda_packages=["scikit-learn"]
)

trainStep = PythonScriptStep(
    script_name="train.py",
    arguments=["--input_data", blob_input_data, "--output_train", processed_data1],
    inputs=[blob_input_data],
    outputs=[processed_data1],
    compute_target=aml_compute,
    source_directory=source_directory,
    runconfig=run_config,
)
print("trainStep created")

processed_data2 = PipelineData("processed_data2", datastore=def_blob_store, is_directory=True)
source_directory = "data_dependency_run_extract"

extractStep = PythonScriptStep(
    script_name="extract.py",
    arguments=["--input_extract", processed_data1, "--output_extract", processed_data2],
    inputs=[processed_data1],
    outputs=[processed_data2],
    compute_target=aml_compute,
    source_directory=source_directory,
)
print("extractStep created")

from studio.sdk.data.datapath import DataPath, DataPathComputeBinding
from studio.sdk.pipeline.core import PipelineParameter

datapath = DataPath(datastore=def_blob_store, path_on_datastore="titanic/Titanic.csv")
datapath_param = PipelineParameter(name="compare_data", default_value=datapath)
data_parameter1 = (datapath_param, DataPathComputeBinding(mode="mount"))

processed_data3 = PipelineData("processed_data3", datastore=def_blob_store, is_directory=True)
source_directory = "data_dependency_run_compare"

compareStep = PythonScriptStep(
    script_name="compare.py",
    arguments=[
        "--compare_data1",
        data_parameter1,
        "--compare_data2",
        processed_data2,
        "--output_compare",
        processed_data3,
    ],
    inputs=[data_parameter1, processed_data2],
    outputs=[processed_data3],
    compute_target=aml_compute,
    source_directory=source_directory,
)
print("compareStep created")

pipeline1 = Pipeline(workspace=ws, steps=[compareStep])
print("Pipeline is built")

pipeline_run1 = Experiment(ws, "Data_dependency_sample").submit(pipeline1)
print("Pipeline is submitted for execution")

RunDetails(pipeline_run1).show()

pipeline_run1.wait_for_completion(show_output=True)

# Get Steps
for step in pipeline_run1.get_steps():
    print("Outputs of step " + step.name)

    # Get a dictionary of StepRunOutputs with the output name as the key
    output_dict = step.get_outputs()

    for name, output in output_dict.items():
        output_reference = output.get_port_data_reference()  # Get output port data reference
        print("\tname: " + name)
        print("\tdatastore: " + output_reference.datastore_name)
        print("\tpath on datastore: " + output_reference.path_on_datastore)

# Retrieve the step runs by name 'train.py'
train_step = pipeline_run1.find_step_run("train.py")
if train_step:
    train_step_obj = train_step[0]  # since we have only one step by name 'train.py'
    train_step_obj.get_output_data("processed_data1").download(
        "./outputs"
    )  # download the output to current directory

print("Data_dependency_sample run:", pipeline_run1.id)
