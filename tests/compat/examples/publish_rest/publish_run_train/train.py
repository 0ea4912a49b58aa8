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

# A FileDataset of one file, mounted: the argument is the file's own path.
print("input is a file:", os.path.isfile(args.input_data))
os.makedirs(args.output_train, exist_ok=True)
shutil.copy(args.input_data, os.path.join(args.output_train, "train.csv"))
