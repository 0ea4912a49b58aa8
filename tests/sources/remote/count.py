"""Print the row count of the tabular input 'raw'."""

from studio.sdk.core import Run

frame = Run.get_context().input_datasets["raw"].to_pandas_dataframe()
print(f"counted {len(frame)} rows")
