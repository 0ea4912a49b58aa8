"""How to Publish a Pipeline and Invoke the REST endpoint, with the import prefix changed."""

import os

import studio.sdk.core
from studio.sdk.core import Dataset, Datastore, Experiment, Workspace
from studio.sdk.core.compute import AmlCompute, ComputeTarget
from studio.sdk.data import OutputFileDatasetConfig

# Check core SDK version number
print("SDK version:", studio.sdk.core.VERSION)

from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep

print("Pipeline SDK-specific imports completed")

ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")

# Default datastore (Azure blob storage)
# def_blob_store = ws.get_default_datastore()
def_blob_store = Datastore(ws, "workspaceblobstore")
print(f"Blobstore's name: {def_blob_store.name}")

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

# Specify a public dataset path
data_path = os.environ["DATA_URL"]

blob_input_data = Dataset.File.from_files(data_path).as_named_input("test_data")
print("Dataset created")

processed_data1 = OutputFileDatasetConfig(name="processed_data1")
print("Output dataset object created")

source_directory = "publish_run_train"

trainStep = PythonScriptStep(
    script_name="train.py",
    arguments=["--input_data", blob_input_data.as_mount(), "--output_train", processed_data1],
    compute_target=aml_compute,
    source_directory=source_directory,
)
print("trainStep created")

processed_data2 = OutputFileDatasetConfig(name="processed_data2")
source_directory = "publish_run_extract"

extractStep = PythonScriptStep(
    script_name="extract.py",
    arguments=["--input_extract", processed_data1.as_input(), "--output_extract", processed_data2],
    compute_target=aml_compute,
    source_directory=source_directory,
)
print("extractStep created")

pipeline_param = PipelineParameter(name="pipeline_arg", default_value=10)
print("pipeline parameter created")

processed_data3 = OutputFileDatasetConfig(name="processed_data3")

# You can register the output as dataset after job completion
processed_data3 = processed_data3.register_on_complete("compare_result")

source_directory = "publish_run_compare"

compareStep = PythonScriptStep(
    script_name="compare.py",
    arguments=[
        "--compare_data1",
        processed_data1.as_input(),
        "--compare_data2",
        processed_data2.as_input(),
        "--output_compare",
        processed_data3,
        "--pipeline_param",
        pipeline_param,
    ],
    compute_target=aml_compute,
    source_directory=source_directory,
)
print("compareStep created")

pipeline1 = Pipeline(workspace=ws, steps=[compareStep])
print("Pipeline is built")

published_pipeline1 = pipeline1.publish(
    name="My_New_Pipeline",
    description="My Published Pipeline Description",
    continue_on_step_failure=True,
)
print(published_pipeline1)

# submit a pipeline run
pipeline_run1 = Experiment(ws, "Pipeline_experiment_sample").submit(pipeline1)
# publish a pipeline from the submitted pipeline run
published_pipeline2 = pipeline_run1.publish_pipeline(
    name="My_New_Pipeline2",
    description="My Published Pipeline Description",
    version="0.1",
    continue_on_step_failure=True,
)
print(published_pipeline2)

from studio.sdk.pipeline.core import PublishedPipeline

pipeline_id = published_pipeline1.id  # use your published pipeline id
published_pipeline = PublishedPipeline.get(ws, pipeline_id)
print(published_pipeline)

import requests

from studio.sdk.core.authentication import InteractiveLoginAuthentication

auth = InteractiveLoginAuthentication()
aad_token = auth.get_authentication_header()

rest_endpoint1 = published_pipeline.endpoint

print(f"You can perform HTTP POST on URL {rest_endpoint1} to trigger this pipeline")

# specify the param when running the pipeline
response = requests.post(
    rest_endpoint1,
    headers=aad_token,
    json={
        "ExperimentName": "My_Pipeline1",
        "RunSource": "SDK",
        "ParameterAssignments": {"pipeline_arg": 45},
    },
)

try:
    response.raise_for_status()
except Exception as ex:
    raise Exception(
        f"Received bad response from the endpoint: {rest_endpoint1}\n"
        f"Response Code: {response.status_code}\n"
        f"Headers: {response.headers}\n"
        f"Content: {response.content}"
    ) from ex

run_id = response.json().get("Id")
print("Submitted pipeline run: ", run_id)

# Follow both runs to their end, as the studio would show them
from studio.sdk.pipeline.core import PipelineRun

pipeline_run1.wait_for_completion(show_output=False)
rest_run = PipelineRun(ws.experiments["My_Pipeline1"], run_id)
print("REST run status:", rest_run.wait_for_completion(show_output=False))
print("REST run metrics:", rest_run.get_metrics())
print("Sample run:", pipeline_run1.id)
print("Published from a run:", published_pipeline2.id)
