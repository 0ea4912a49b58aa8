# The script the seed's parameter block implies: its step 'train model' runs data_prep.py with
# '--in_folder' and '--reg', while the first block's step 'prepare data' runs the same
# script with '--raw-ds' and '--out_folder'. It does what each step asks.
import argparse
import os

import pandas as pd

from studio.sdk.core import Run

run = Run.get_context()
parser = argparse.ArgumentParser()
parser.add_argument("--raw-ds", type=str, dest="raw_dataset_id")
parser.add_argument("--out_folder", type=str, dest="folder")
parser.add_argument("--in_folder", type=str, dest="in_folder")
parser.add_argument("--reg", type=float, dest="reg")
args = parser.parse_args()

if args.in_folder is None:  # prepare data
    raw_df = run.input_datasets["raw_data"].to_pandas_dataframe()
    os.makedirs(args.folder, exist_ok=True)
    raw_df[["col1", "col2", "col3"]].to_csv(os.path.join(args.folder, "prepped_data.csv"))
    print(f"prepped {len(raw_df)} rows")
else:  # train model with the regularization rate
    df = pd.read_csv(os.path.join(args.in_folder, "prepped_data.csv"), index_col=0)
    print(f"training on {len(df)} rows with reg_rate={args.reg}")
    run.log("reg_rate", args.reg)
