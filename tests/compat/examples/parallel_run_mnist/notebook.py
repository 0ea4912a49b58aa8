"""Using Azure Machine Learning Pipelines for Batch Inference (file-dataset-image-inference-mnist),
with the import prefix changed.

Azure's public containers are not here, and tensorflow is not among the wheels the step
environments install from, so three things are made here instead (each change is commented):
- the "sampledata" container's mnist/ folder: 50 MNIST-like 28x28 grayscale PNGs of printed
  digits (image N.png shows the digit N % 10), uploaded to the default datastore under mnist/;
- the pretrained TensorFlow model of the "mnist-model" container: the smallest honest
  substitute, a linear classifier (784 pixels -> 10 digit scores, what the TF graph's
  "network/output/MatMul" gives) fitted with numpy on other images of the same kind and saved
  as mnist-np.model.npz in models/;
- Code/digit_identification.py scores with numpy matrix arithmetic instead of a TF session;
  reading each PNG with PIL, the mini-batch loop and the result lines are Microsoft's.
"""

# Added: what the code made here in place of Azure's containers needs.
import os
import struct
import zlib

import numpy as np

# Check core SDK version number
import studio.sdk.core

print("SDK version:", studio.sdk.core.VERSION)

from studio.sdk.core import Workspace

ws = Workspace.from_config()
print('Workspace name: ' + ws.name, 
      'Azure region: ' + ws.location, 
      'Subscription id: ' + ws.subscription_id, 
      'Resource group: ' + ws.resource_group, sep = '\n')

import os
from studio.sdk.core.compute import AmlCompute, ComputeTarget

# choose a name for your cluster
compute_name = os.environ.get("AML_COMPUTE_CLUSTER_NAME", "cpu-cluster")
compute_min_nodes = os.environ.get("AML_COMPUTE_CLUSTER_MIN_NODES", 0)
compute_max_nodes = os.environ.get("AML_COMPUTE_CLUSTER_MAX_NODES", 4)

# This example uses CPU VM. For using GPU VM, set SKU to Standard_NC6s_v3
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

from studio.sdk.core.datastore import Datastore

# Changed: the example registers Azure's public blob container "sampledata" of account
# "pipelinedata" as "mnist_datastore"; it is not reachable here, so its mnist/ folder is made
# below and uploaded to the default datastore, which stands for that container.
# account_name = "pipelinedata"
# datastore_name = "mnist_datastore"
# container_name = "sampledata"
#
# mnist_data = Datastore.register_azure_blob_container(ws,
#                       datastore_name=datastore_name,
#                       container_name=container_name,
#                       account_name=account_name,
#                       overwrite=True)

# Added: MNIST-like digits (white strokes on black, 28x28, 8-bit grayscale PNG as in
# myleott/mnist_png): a 5x7 printed glyph scaled to 21x15, shifted, dimmed and speckled.
FONT = {
    0: ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    1: ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    2: ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    3: ["11111", "00010", "00100", "00010", "00001", "10001", "01110"],
    4: ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    5: ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    6: ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    7: ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    8: ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    9: ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
}


def digit_image(digit, rng):
    glyph = np.array([[int(c) for c in row] for row in FONT[digit]], dtype=np.uint8)
    strokes = np.kron(glyph, np.ones((3, 3), dtype=np.uint8))
    image = np.zeros((28, 28))
    top, left = 3 + rng.integers(-2, 3), 6 + rng.integers(-3, 4)
    image[top : top + 21, left : left + 15] = strokes * rng.integers(170, 256)
    image += rng.integers(0, 60, (28, 28)) * (rng.random((28, 28)) < 0.1)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_png(path, pixels):
    """An 8-bit grayscale PNG, written with zlib (PIL is the step environment's, not ours)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], 8, 0, 0, 0, 0)
    with open(path, "wb") as png:
        png.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


os.makedirs("sampledata/mnist", exist_ok=True)
sample_rng = np.random.default_rng(2020)
for n in range(50):
    write_png(f"sampledata/mnist/{n}.png", digit_image(n % 10, sample_rng))
mnist_data = ws.get_default_datastore()
mnist_data.upload("sampledata", overwrite=True)

def_data_store = ws.get_default_datastore()

from studio.sdk.core.dataset import Dataset

mnist_ds_name = 'mnist_sample_data'

path_on_datastore = mnist_data.path('mnist')
input_mnist_ds = Dataset.File.from_files(path=path_on_datastore, validate=False)

from studio.sdk.data.dataset_consumption_config import DatasetConsumptionConfig
from studio.sdk.pipeline.core import PipelineParameter

pipeline_param = PipelineParameter(name="mnist_param", default_value=input_mnist_ds)
input_mnist_ds_consumption = DatasetConsumptionConfig("minist_param_config", pipeline_param).as_mount()

from studio.sdk.pipeline.core import Pipeline, PipelineData

output_dir = PipelineData(name="inferences", datastore=def_data_store)

import tarfile
import urllib.request

# create directory for model
model_dir = 'models'
if not os.path.isdir(model_dir):
    os.mkdir(model_dir)

# Changed: the example downloads a TensorFlow model (mnist-tf.tar.gz from Azure's public
# "mnist-model" container) and extracts it here. Neither Azure nor tensorflow is available, so
# a linear classifier is fitted instead (ridge least squares on 1000 other images of the same
# kind, raw 0-255 pixels as the entry script feeds them) and saved in models/.
# url="https://pipelinedata.blob.core.windows.net/mnist-model/mnist-tf.tar.gz"
# response = urllib.request.urlretrieve(url, "model.tar.gz")
# tar = tarfile.open("model.tar.gz", "r:gz")
# tar.extractall(model_dir)
train_rng = np.random.default_rng(0)
train_x = np.array([digit_image(n % 10, train_rng).reshape(784) for n in range(1000)], dtype=float)
train_x = np.hstack([train_x, np.ones((1000, 1))])
train_y = np.eye(10)[np.arange(1000) % 10]
fitted = np.linalg.solve(train_x.T @ train_x + 1e4 * np.eye(785), train_x.T @ train_y)
np.savez(os.path.join(model_dir, "mnist-np.model.npz"), weights=fitted[:784], bias=fitted[784])

print(os.listdir(model_dir))  # printed: a script shows no cell's value

from studio.sdk.core.model import Model

# register downloaded model 
model = Model.register(model_path="models/",
                       model_name="mnist-prs", # this is the name the model is registered as
                       tags={'pretrained': "mnist"},
                       description="Mnist trained tensorflow model",
                       workspace=ws)

scripts_folder = "Code"
script_file = "digit_identification.py"

# peek at contents
with open(os.path.join(scripts_folder, script_file)) as inference_file:
    print(inference_file.read())

from studio.sdk.core import Environment
from studio.sdk.core.runconfig import CondaDependencies, DEFAULT_CPU_IMAGE

# Changed: no tensorflow (and so no protobuf pin for it); numpy scores the images instead.
batch_conda_deps = CondaDependencies.create(python_version="3.8",
                                            conda_packages=['pip==20.2.4'],
                                            pip_packages=["numpy", "pillow",
                                                          "azureml-core", "azureml-dataset-runtime[fuse]"])
batch_env = Environment(name="batch_environment")
batch_env.python.conda_dependencies = batch_conda_deps
batch_env.docker.base_image = DEFAULT_CPU_IMAGE

from studio.sdk.pipeline.steps import ParallelRunStep, ParallelRunConfig

parallel_run_config = ParallelRunConfig(
    source_directory=scripts_folder,
    entry_script=script_file,
    mini_batch_size=PipelineParameter(name="batch_size_param", default_value="5"),
    error_threshold=10,
    output_action="append_row",
    append_row_file_name="mnist_outputs.txt",
    environment=batch_env,
    compute_target=compute_target,
    process_count_per_node=PipelineParameter(name="process_count_param", default_value=2),
    node_count=2
)

parallelrun_step = ParallelRunStep(
    name="predict-digits-mnist",
    parallel_run_config=parallel_run_config,
    inputs=[ input_mnist_ds_consumption ],
    output=output_dir,
    allow_reuse=False
)

from studio.sdk.core import Experiment

pipeline = Pipeline(workspace=ws, steps=[parallelrun_step])
experiment = Experiment(ws, 'digit_identification')
pipeline_run = experiment.submit(pipeline)

# This will output information of the pipeline run, including the link to the details page of portal.
pipeline_run
print("Digit identification run:", pipeline_run.id)  # added: the test reads the run's id

# Wait the run for completion and show output log to console
pipeline_run.wait_for_completion(show_output=True)

import pandas as pd
import tempfile

batch_run = pipeline_run.find_step_run(parallelrun_step.name)[0]
batch_output = batch_run.get_output_data(output_dir.name)

target_dir = tempfile.mkdtemp()
batch_output.download(local_path=target_dir)
result_file = os.path.join(target_dir, batch_output.path_on_datastore, parallel_run_config.append_row_file_name)

df = pd.read_csv(result_file, delimiter=":", header=None)
df.columns = ["Filename", "Prediction"]
print("Prediction has ", df.shape[0], " rows")
print(df.head(10))  # printed: a script shows no cell's value
# Added: every prediction, for the test to check against the digit each image shows.
print("Predictions:", {name: int(digit) for name, digit in zip(df["Filename"], df["Prediction"])})

path_on_datastore = mnist_data.path('mnist/0.png')
single_image_ds = Dataset.File.from_files(path=path_on_datastore, validate=False)

pipeline_run_2 = experiment.submit(pipeline, 
                                   pipeline_parameters={"mnist_param": single_image_ds, 
                                                        "batch_size_param": "1",
                                                        "process_count_param": 1}
)

# This will output information of the pipeline run, including the link to the details page of portal.
pipeline_run_2
print("Single image run:", pipeline_run_2.id)  # added: the test reads the run's id

# Wait the run for completion and show output log to console
pipeline_run_2.wait_for_completion(show_output=True)

# uncomment below and run if compute resources are no longer needed 
# compute_target.delete() 
