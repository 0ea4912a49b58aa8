"""The seed's "Publish pipelines" and "Use pipeline parameters" sections, import prefix changed."""

import sys

import requests

from studio.sdk.core import Experiment, Workspace
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.core.graph import PipelineParameter
from studio.sdk.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
auth_header = ws.auth.get_authentication_header()

prepped_data = OutputFileDatasetConfig("prepped")
model = OutputFileDatasetConfig("model")
reg_param = PipelineParameter(name="reg_rate", default_value=0.01)

step1 = PythonScriptStep(
    name="prepare data",
    source_directory="scripts",
    script_name="data_prep.py",
    compute_target="aml-cluster",
    arguments=["--out_folder", prepped_data],
)

step2 = PythonScriptStep(
    name="train model",
    source_directory="scripts",
    script_name="train_model.py",
    compute_target="aml-cluster",
    # Pass parameter as script argument
    arguments=["--in_folder", prepped_data, "--reg", reg_param, "--model", model],
    inputs=[prepped_data],
)

pipeline = Pipeline(workspace=ws, steps=[step1, step2])

published_pipeline = pipeline.publish(
    name="training_pipeline", description="Model training pipeline", version="1.0"
)
print(f"published {published_pipeline.id}")

# A run of the pipeline, then publishing from it, as the seed does
Experiment(ws, "training-pipeline").submit(pipeline).wait_for_completion(show_output=False)

# Get the most recent run of the pipeline
pipeline_experiment = ws.experiments.get("training-pipeline")
run = list(pipeline_experiment.get_runs())[0]

# Publish the pipeline from the run
published_pipeline = run.publish_pipeline(
    name="training_pipeline", description="Model training pipeline", version="1.0"
)

rest_endpoint = published_pipeline.endpoint
print(rest_endpoint)

response = requests.post(
    rest_endpoint, headers=auth_header, json={"ExperimentName": "run_training_pipeline"}
)
run_id = response.json()["Id"]
print(run_id)

response = requests.post(
    rest_endpoint,
    headers=auth_header,
    json={"ExperimentName": "run_training_pipeline", "ParameterAssignments": {"reg_rate": 0.1}},
)
print(response.json()["Id"])
sys.stdout.flush()
