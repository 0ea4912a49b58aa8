import argparse
import os
import shutil

print("In train.py")

parser = argparse.ArgumentParser("train")
parser.add_argument("--input_data", type=str, help="input data")
parser.add_argument("--output_train", type=str, help="output_train directory")
args = parser.parse_args()

print("Argument 1: %s" % args.input_data)
print("Argument 2: %s" % args.output_train)

with open(args.input_data) as f:
    rows = f.read().splitlines()
print("train read %d lines" % len(rows))

if args.output_train is not None:
    os.makedirs(args.output_train, exist_ok=True)
    print("%s created" % args.output_train)
    shutil.copy(args.input_data, os.path.join(args.output_train, "train.csv"))
