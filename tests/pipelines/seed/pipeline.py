"""The seed's first example with the import prefix changed: prep data, then train."""

from studio.sdk.core import Experiment, Workspace
from studio.sdk.core.compute import AmlCompute, ComputeTarget, ComputeTargetException
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()

try:
    cluster = ComputeTarget(workspace=ws, name="aml-cluster")
except ComputeTargetException:
    cluster = ComputeTarget.create(
        ws, "aml-cluster", AmlCompute.provisioning_configuration(max_nodes=2)
    )
cluster.wait_for_completion()

# Define a PipelineData object to pass data between steps
data_store = ws.get_default_datastore()
prepped_data = OutputFileDatasetConfig("prepped")

# Step to run a Python script
step1 = PythonScriptStep(
    name="prepare data",
    source_directory="scripts",
    script_name="data_prep.py",
    compute_target="aml-cluster",
    # Script arguments include PipelineData
    arguments=["--out_folder", prepped_data],
)

# Step to run an estimator
step2 = PythonScriptStep(
    name="train model",
    source_directory="scripts",
    script_name="train_model.py",
    compute_target="aml-cluster",
    # Pass as script argument
    arguments=["--training-data", prepped_data.as_input()],
)

pipeline = Pipeline(workspace=ws, steps=[step1, step2])
experiment = Experiment(workspace=ws, name="training-pipeline")
pipeline_run = experiment.submit(pipeline)
pipeline_run.wait_for_completion(show_output=True)
