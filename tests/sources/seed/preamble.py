# What the seed's prose assumes before its code runs: a workspace (ws), the Dataset class, a
# run configuration (run_config), a registered tabular dataset 'raw_dataset' with columns
# col1..col4, and the compute cluster 'aml-cluster'.
from studio.sdk.core import Dataset, RunConfiguration, Workspace
from studio.sdk.core.compute import AmlCompute, ComputeTarget, ComputeTargetException

ws = Workspace.from_config()
try:
    ComputeTarget(workspace=ws, name="aml-cluster")
except ComputeTargetException:
    ComputeTarget.create(
        ws, "aml-cluster", AmlCompute.provisioning_configuration(max_nodes=2)
    ).wait_for_completion()
if "raw_dataset" not in ws.datasets:
    store = ws.get_default_datastore()
    store.upload_files(["data/raw_data.csv"], target_path="raw", overwrite=True, show_progress=False)
    Dataset.Tabular.from_delimited_files(path=(store, "raw/*.csv")).register(ws, "raw_dataset")
run_config = RunConfiguration()
