"""Read the tabular input 'raw' as a DataFrame and write a summary CSV into --out."""

import argparse
import os

from studio.sdk.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--raw", dest="raw_id")
parser.add_argument("--out")
args = parser.parse_args()

frame = Run.get_context().input_datasets["raw"].to_pandas_dataframe()
frame = frame.sort_values("id").reset_index(drop=True)
frame["total"] = frame["a"] + frame["b"]
os.makedirs(args.out, exist_ok=True)
frame.to_csv(os.path.join(args.out, "prepped.csv"), index=False)
print(f"prepped {len(frame)} rows, total sum {int(frame['total'].sum())}")
