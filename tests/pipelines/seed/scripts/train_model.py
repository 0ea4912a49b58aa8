import argparse
import os

import pandas as pd

from studio.sdk.core import Run

run = Run.get_context()
parser = argparse.ArgumentParser()
parser.add_argument("--training-data", type=str, dest="training_data")
args = parser.parse_args()

df = pd.read_csv(os.path.join(args.training_data, "prepped_data.csv"))
print(f"training on {len(df)} rows with columns {list(df.columns)}")
mean = float(df["col1"].mean())
run.log("col1_mean", mean)
print(f"parent run: {run.parent.id}")
print("training complete")
