"""Upload the raw CSV to the default datastore and register it as the dataset 'raw_dataset'."""

from studio.sdk.core import Dataset, Workspace

ws = Workspace.from_config()
data_store = ws.get_default_datastore()
data_store.upload_files(
    ["data/raw_data.csv"], target_path="raw", overwrite=True, show_progress=False
)
raw = Dataset.Tabular.from_delimited_files(path=(data_store, "raw/*.csv"))
raw = raw.register(ws, "raw_dataset", description="raw training data", create_new_version=True)
print(f"registered {raw.name} version {raw.version}")
