"""Azure Machine Learning Pipelines: Getting Started, with the import prefix changed."""

import os
import tempfile

import requests

import studio.sdk.core
from studio.sdk.core import Datastore, Experiment, Workspace
from studio.sdk.widgets import RunDetails

# Check core SDK version number
print("SDK version:", studio.sdk.core.VERSION)

from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep

print("Pipeline SDK-specific imports completed")

ws = Workspace.from_config()
print(ws.name, ws.resource_group, ws.location, ws.subscription_id, sep="\n")

# Default datastore
def_blob_store = ws.get_default_datastore()
# The following call GETS the Azure Blob Store associated with your workspace.
def_blob_store = Datastore(ws, "workspaceblobstore")
print(f"Blobstore's name: {def_blob_store.name}")

# download data file from remote
response = requests.get(os.environ["DATA_URL"])
titanic_file = os.path.join(tempfile.mkdtemp(), "Titanic.csv")
with open(titanic_file, "w") as f:
    f.write(response.content.decode("utf-8"))
def_blob_store.upload_files([titanic_file], target_path="titanic", overwrite=True)
print("Upload call completed")

cts = ws.compute_targets
for ct in cts:
    print(ct)

from studio.sdk.core.compute import AmlCompute, ComputeTarget
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

print("Azure Machine Learning Compute attached")
print(aml_compute.get_status().serialize())

source_directory = "./train"
print(f"Source directory for the step is {os.path.realpath(source_directory)}.")
step1 = PythonScriptStep(
    name="train_step",
    script_name="train.py",
    compute_target=aml_compute,
    source_directory=source_directory,
    allow_reuse=True,
)
print("Step1 created")

source_directory = "./compare"
step2 = PythonScriptStep(
    name="compare_step",
    script_name="compare.py",
    compute_target=aml_compute,
    source_directory=source_directory,
)

from studio.sdk.core.conda_dependencies import CondaDependencies
from studio.sdk.core.runconfig import DEFAULT_CPU_IMAGE, RunConfiguration

run_config = RunConfiguration()
run_config.environment.docker.enabled = True
run_config.environment.docker.base_image = DEFAULT_CPU_IMAGE
run_config.environment.python.user_managed_dependencies = False
run_config.environment.python.conda_dependencies = CondaDependencies.create(
    conda_packages=["scikit-learn"]
)

source_directory = "./extract"
step3 = PythonScriptStep(
    name="extract_step",
    script_name="extract.py",
    compute_target=aml_compute,
    source_directory=source_directory,
    runconfig=run_config,
)

steps = [step1, step2, step3]
print("Step lists created")

pipeline1 = Pipeline(workspace=ws, steps=steps)
print("Pipeline is built")

pipeline1.validate()
print("Pipeline validation complete")

pipeline_run1 = Experiment(ws, "Hello_World1").submit(pipeline1, regenerate_outputs=False)
print("Pipeline is submitted for execution")

RunDetails(pipeline_run1).show()

step_runs = pipeline_run1.get_children()
for step_run in step_runs:
    status = step_run.get_status()
    print("Script:", step_run.name, "status:", status)

    # Change this if you want to see details even if the Step has succeeded.
    if status == "Failed":
        joblog = step_run.get_job_log()
        print("job log:", joblog)

pipeline_run1.wait_for_completion()
for step_run in pipeline_run1.get_children():
    print(f"{step_run.name}: {step_run.get_metrics()}")

step2.run_after(step1)
step3.run_after(step2)

pipeline2 = Pipeline(workspace=ws, steps=[step3])
print("Pipeline is built")

pipeline2.validate()
print("Simple validation complete")

pipeline_run2 = Experiment(ws, "Hello_World2").submit(pipeline2)
print("Pipeline is submitted for execution")

RunDetails(pipeline_run2).show()
print("Hello_World2 run:", pipeline_run2.id)
