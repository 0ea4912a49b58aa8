# The script the seed's reuse block implies: it passes '--folder' (the seed's data_prep.py
# takes '--out_folder' and '--raw-ds') and lists the dataset input 'raw_data'.
import argparse
import os

from studio.sdk.core import Run

run = Run.get_context()
parser = argparse.ArgumentParser()
parser.add_argument("--folder", type=str, dest="folder")
args = parser.parse_args()

raw_df = run.input_datasets["raw_data"].to_pandas_dataframe()
prepped_df = raw_df[["col1", "col2", "col3"]]
os.makedirs(args.folder, exist_ok=True)
prepped_df.to_csv(os.path.join(args.folder, "prepped_data.csv"))
print(f"prepped {len(prepped_df)} rows")
