from studio.sdk.core import Run
import argparse
import os

import pandas as pd

run = Run.get_context()
parser = argparse.ArgumentParser()
parser.add_argument("--in_folder", type=str)
parser.add_argument("--reg", type=float)
parser.add_argument("--model", type=str)
args = parser.parse_args()

df = pd.read_csv(os.path.join(args.in_folder, "prepped_data.csv"))
print(f"training on {len(df)} rows with reg_rate={args.reg}")
run.log("reg_rate", args.reg)
os.makedirs(args.model, exist_ok=True)
with open(os.path.join(args.model, "model.txt"), "w") as fh:
    fh.write(f"reg_rate={args.reg}\n")
