"""Using Azure Machine Learning Pipelines for Batch Inference for CSV Files
(tabular-dataset-inference-iris), with the import prefix changed.

Azure's public containers are not here: the iris rows come from IRIS_URL (uploaded to the
default datastore as the example's "sampledata" container holds them, features only), and the
pretrained model is made by a training step first (the example downloads it from its
"iris-model" container)."""

import os
import urllib.request

import pandas as pd

from studio.sdk.core import Workspace

ws = Workspace.from_config()
print('Workspace name: ' + ws.name,
      'Azure region: ' + ws.location,
      'Subscription id: ' + ws.subscription_id,
      'Resource group: ' + ws.resource_group, sep = '\n')

from studio.sdk.core.compute import AmlCompute, ComputeTarget

# choose a name for your cluster
compute_name = os.environ.get("AML_COMPUTE_CLUSTER_NAME", "cpu-cluster")
compute_min_nodes = os.environ.get("AML_COMPUTE_CLUSTER_MIN_NODES", 0)
compute_max_nodes = os.environ.get("AML_COMPUTE_CLUSTER_MAX_NODES", 4)

# This example uses CPU VM. For using GPU VM, set SKU to STANDARD_NC6
vm_size = os.environ.get("AML_COMPUTE_CLUSTER_SKU", "STANDARD_D2_V2")


if compute_name in ws.compute_targets:
    compute_target = ws.compute_targets[compute_name]
    if compute_target and type(compute_target) is AmlCompute:
        print('found compute target. just use it. ' + compute_name)
else:
    print('creating a new compute target...')
    provisioning_config = AmlCompute.provisioning_configuration(vm_size = vm_size,
                                                                min_nodes = compute_min_nodes,
                                                                max_nodes = compute_max_nodes)

    # create the cluster
    compute_target = ComputeTarget.create(ws, compute_name, provisioning_config)

    # can poll for a minimum number of nodes and for a specific timeout.
    # if no min node count is provided it will use the scale settings for the cluster
    compute_target.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)

     # For a more detailed view of current AmlCompute status, use get_status()
    print(compute_target.get_status().serialize())

# The example's public "sampledata" container: the iris features under iris/.
os.makedirs("sampledata/iris", exist_ok=True)
urllib.request.urlretrieve(os.environ["IRIS_URL"], "iris_labelled.csv")
pd.read_csv("iris_labelled.csv").drop(columns=["species"]).to_csv(
    "sampledata/iris/iris.csv", index=False
)
iris_data = ws.get_default_datastore()
iris_data.upload("sampledata", overwrite=True)

from studio.sdk.core.dataset import Dataset

iris_ds_name = 'iris_data'

path_on_datastore = iris_data.path('iris/')
input_iris_ds = Dataset.Tabular.from_delimited_files(path=path_on_datastore, validate=False)
registered_iris_ds = input_iris_ds.register(ws, iris_ds_name, create_new_version=True)
named_iris_ds = registered_iris_ds.as_named_input(iris_ds_name)

from studio.sdk.pipeline.core import PipelineData

datastore = ws.get_default_datastore()
output_folder = PipelineData(name='inferences', datastore=datastore)

from studio.sdk.core import Environment
from studio.sdk.core.runconfig import CondaDependencies

# scikit-learn unpinned: the example's 0.20.3 has no wheel for today's Python.
predict_conda_deps = CondaDependencies.create(pip_packages=["scikit-learn",
                                                            "azureml-core", "azureml-dataprep[pandas,fuse]"])

predict_env = Environment(name="predict_environment")
predict_env.python.conda_dependencies = predict_conda_deps
predict_env.docker.enabled = True

# The pretrained model, made by a training step, then downloaded and registered as the
# example registers the one it downloads.
from studio.sdk.core import Experiment
from studio.sdk.core.runconfig import RunConfiguration
from studio.sdk.data import OutputFileDatasetConfig
from studio.sdk.pipeline.core import Pipeline
from studio.sdk.pipeline.steps import PythonScriptStep

labelled = Dataset.File.from_files(path=os.environ["IRIS_URL"])
train_config = RunConfiguration()
train_config.environment = predict_env
model_dir = OutputFileDatasetConfig(name="iris_model", destination=(datastore, "iris-model"))
train_step = PythonScriptStep(
    name="train iris",
    script_name="train_iris.py",
    source_directory="train",
    arguments=["--data", labelled.as_named_input("labelled").as_download(), "--model_dir", model_dir],
    compute_target=compute_target,
    runconfig=train_config,
)
train_run = Experiment(ws, 'iris-train').submit(Pipeline(workspace=ws, steps=[train_step]))
train_run.wait_for_completion(show_output=False)

from studio.sdk.core.model import Model

model_datastore = ws.get_default_datastore()
model_datastore.download('iris_model.pkl', prefix='iris-model')

# register downloaded model
model = Model.register(model_path = "iris_model.pkl/iris-model/iris_model.pkl",
                       model_name = "iris-prs", # this is the name the model is registered as
                       tags = {'pretrained': "iris"},
                       workspace = ws)

scripts_folder = "Code"
script_file = "iris_score.py"

# peek at contents
with open(os.path.join(scripts_folder, script_file)) as inference_file:
    print(inference_file.read())

from studio.sdk.pipeline.steps import ParallelRunStep, ParallelRunConfig

# In a real-world scenario, you'll want to shape your process per node and nodes to fit your problem domain.
parallel_run_config = ParallelRunConfig(
    source_directory=scripts_folder,
    entry_script=script_file,  # the user script to run against each input
    mini_batch_size='5MB',
    error_threshold=5,
    output_action='append_row',
    append_row_file_name="iris_outputs.txt",
    environment=predict_env,
    compute_target=compute_target,
    node_count=3,
    run_invocation_timeout=600
)

distributed_csv_iris_step = ParallelRunStep(
    name='example-iris',
    inputs=[named_iris_ds],
    output=output_folder,
    parallel_run_config=parallel_run_config,
    arguments=['--model_name', 'iris-prs'],
    allow_reuse=True
)

pipeline = Pipeline(workspace=ws, steps=[distributed_csv_iris_step])

pipeline_run = Experiment(ws, 'iris-prs').submit(pipeline)
print("Iris run:", pipeline_run.id)

# Console logs
pipeline_run.wait_for_completion(show_output=True)

import shutil

shutil.rmtree("iris_results", ignore_errors=True)

prediction_run = next(pipeline_run.get_children())
prediction_output = prediction_run.get_output_data("inferences")
prediction_output.download(local_path="iris_results")


for root, dirs, files in os.walk("iris_results"):
    for file in files:
        if file.endswith('iris_outputs.txt'):
            result_file = os.path.join(root,file)

# cleanup output format
df = pd.read_csv(result_file, delimiter=" ", header=None)
df.columns = ["sepal.length", "sepal.width", "petal.length", "petal.width", "variety"]
print("Prediction has ", df.shape[0], " rows")

random_subset = df.sample(n=20)
print(random_subset.head(20))
print("Varieties:", sorted(set(df["variety"].tolist())))
