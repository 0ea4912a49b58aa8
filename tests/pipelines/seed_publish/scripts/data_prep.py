# code in data_prep.py (the seed's, reading its raw CSV from the source directory)
import argparse
import os

import pandas as pd

from studio.sdk.core import Run

# Get the experiment run context
run = Run.get_context()

# Get arguments
parser = argparse.ArgumentParser()
parser.add_argument("--out_folder", type=str, dest="folder")
args = parser.parse_args()
output_folder = args.folder

# Get input data as a dataframe
raw_df = pd.read_csv("raw_data.csv")
print(f"read {len(raw_df)} rows")

# code to prep data (in this case, just select specific columns)
prepped_df = raw_df[["col1", "col2", "col3"]]
run.log("prepped_rows", len(prepped_df))

# Save prepped data to the PipelineData location
os.makedirs(output_folder, exist_ok=True)
output_path = os.path.join(output_folder, "prepped_data.csv")
prepped_df.to_csv(output_path)
