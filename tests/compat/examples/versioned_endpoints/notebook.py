"""How to Publish a Pipeline Endpoint with versions, with the import prefix changed."""

from studio.sdk.core import Workspace

ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")

from studio.sdk.core.compute import AmlCompute, ComputeTarget

# Retrieve an already attached Azure Machine Learning Compute
from studio.sdk.core.compute_target import ComputeTargetException
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep

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

# source_directory
source_directory = "publish_run_train"

# define a single step pipeline for demonstration purpose.
trainStep = PythonScriptStep(
    name="Training_Step",
    script_name="train.py",
    compute_target=aml_compute_target,
    source_directory=source_directory,
)
print("TrainStep created")

# build and validate Pipeline
pipeline = Pipeline(workspace=ws, steps=[trainStep])
print("Pipeline is built")

from datetime import datetime

timenow = datetime.now().strftime("%m-%d-%Y-%H-%M")

pipeline_name = timenow + "-Pipeline"
print(pipeline_name)

published_pipeline = pipeline.publish(name=pipeline_name, description=pipeline_name)
print(f"Newly published pipeline id: {published_pipeline.id}")

from studio.sdk.pipeline.core import PipelineEndpoint

pipeline_endpoint = PipelineEndpoint.publish(
    workspace=ws,
    name="PipelineEndpointTest",
    pipeline=pipeline,
    description="Test description Notebook",
)
print(pipeline_endpoint)

pipeline_endpoint_by_name = PipelineEndpoint.get(workspace=ws, name="PipelineEndpointTest")
print(pipeline_endpoint_by_name)

# get the PipelineEndpoint Id
pipeline_endpoint_by_name = PipelineEndpoint.get(workspace=ws, name="PipelineEndpointTest")
endpoint_id = pipeline_endpoint_by_name.id

pipeline_endpoint_by_id = PipelineEndpoint.get(workspace=ws, id=endpoint_id)
print(pipeline_endpoint_by_id)

endpoint_list = PipelineEndpoint.list(workspace=ws, active_only=True)
print(endpoint_list)

default_version = pipeline_endpoint_by_name.get_default_version()
print("Default version:", default_version)

pipeline_endpoint_by_name.set_default_version("0")

pipeline = pipeline_endpoint_by_name.get_pipeline("0")
print(pipeline)

pipeline = pipeline_endpoint_by_name.get_pipeline()
print(pipeline)

pipeline_endpoint_by_name.add(published_pipeline)

# Set Published Pipeline to PipelineEndpoint, if exists
pipeline_endpoint_by_name.set_default(published_pipeline)

versions = pipeline_endpoint_by_name.list_versions()
for ve in versions:
    print(ve.version)
    print(ve.pipeline.id)

pipelines = pipeline_endpoint_by_name.list_pipelines(active_only=True)
print(pipelines)

pipeline_endpoint_by_name.set_name(name="NewName")

pipeline_endpoint_by_name = PipelineEndpoint.get(workspace=ws, name="NewName")

# endpoint with id
rest_endpoint_id = pipeline_endpoint_by_name.endpoint

# for default version pipeline
rest_endpoint_id_without_version_with_id = rest_endpoint_id

# for specific version pipeline just append version info
version = "0"
rest_endpoint_id_with_version = rest_endpoint_id_without_version_with_id + "/" + version
print(rest_endpoint_id_with_version)
print(pipeline_endpoint_by_name)

# endpoint with name
rest_endpoint_name = (
    rest_endpoint_id.split("Id", 1)[0] + "Name?name=" + pipeline_endpoint_by_name.name
)

# for default version pipeline
rest_endpoint_name_without_version = rest_endpoint_name

# for specific version pipeline just append version info
version = "0"
rest_endpoint_name_with_version = rest_endpoint_name_without_version + "&pipelineVersion=" + version
print(rest_endpoint_name_with_version)

import requests

from studio.sdk.core.authentication import InteractiveLoginAuthentication

auth = InteractiveLoginAuthentication()
aad_token = auth.get_authentication_header()

# endpoint = pipeline_endpoint_by_name.url

print(
    f"You can perform HTTP POST on URL {rest_endpoint_name_with_version} to trigger this pipeline"
)

# specify the param when running the pipeline
response = requests.post(
    rest_endpoint_name_with_version,
    headers=aad_token,
    json={
        "ExperimentName": "default_pipeline",
        "RunSource": "SDK",
        "ParameterAssignments": {"1": "united", "2": "city"},
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
print("Warnings:", response.json().get("Warnings"))

# submit pipeline with specific version
run_id = pipeline_endpoint_by_name.submit("NewName", pipeline_version="0")
print(run_id)

# submit pipeline with default version
run_id = pipeline_endpoint_by_name.submit("NewName")
print(run_id)

from studio.sdk.core import Experiment

pipeline_run = Experiment(ws, name="submit_endpoint_sample").submit(
    pipeline_endpoint_by_name, tags={"endpoint_tag": "1"}, pipeline_version="0"
)
print("Tagged run:", pipeline_run.id)
print("Tagged run status:", pipeline_run.wait_for_completion(show_output=False))
