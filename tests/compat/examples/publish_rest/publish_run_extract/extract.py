import argparse
import os

print("In extract.py")

parser = argparse.ArgumentParser("extract")
parser.add_argument("--input_extract", type=str, help="input_extract data")
parser.add_argument("--output_extract", type=str, help="output_extract directory")
args = parser.parse_args()

with open(os.path.join(args.input_extract, "train.csv")) as f:
    rows = f.read().splitlines()
os.makedirs(args.output_extract, exist_ok=True)
with open(os.path.join(args.output_extract, "count.txt"), "w") as f:
    f.write(str(len(rows) - 1))
print("extract counted %d passengers" % (len(rows) - 1))
