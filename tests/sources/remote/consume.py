"""Read prepped.csv from the --inp folder produced by the previous step."""

import argparse
import os

import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("--inp")
args = parser.parse_args()

print("input files", sorted(os.listdir(args.inp)))
frame = pd.read_csv(os.path.join(args.inp, "prepped.csv"))
print(f"consumed {len(frame)} rows, total sum {int(frame['total'].sum())}")
