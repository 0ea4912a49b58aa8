# The seed's second step ("train model"), which the seed shows only as a step: it reads the
# prepped data its first step wrote.
import argparse
import os

import pandas as pd

from studio.sdk.core import Run

run = Run.get_context()
parser = argparse.ArgumentParser()
parser.add_argument("--training-data", type=str, dest="training_data")
args = parser.parse_args()

df = pd.read_csv(os.path.join(args.training_data, "prepped_data.csv"), index_col=0)
print(f"training on {len(df)} rows with columns {list(df.columns)}")
run.log("col1_mean", float(df["col1"].mean()))
print(f"parent run: {run.parent.id}")
print("training complete")
