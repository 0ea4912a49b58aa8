import argparse
import os

print("In extract.py")

parser = argparse.ArgumentParser("extract")
parser.add_argument("--input_extract", type=str, help="input_extract data")
parser.add_argument("--output_extract", type=str, help="output_extract directory")
args = parser.parse_args()

print("Argument 1: %s" % args.input_extract)
print("Argument 2: %s" % args.output_extract)

with open(os.path.join(args.input_extract, "train.csv")) as f:
    header, *rows = f.read().splitlines()
survivors = [r for r in rows if r.split(",")[1] == "1"]

if args.output_extract is not None:
    os.makedirs(args.output_extract, exist_ok=True)
    print("%s created" % args.output_extract)
    with open(os.path.join(args.output_extract, "survivors.csv"), "w") as f:
        f.write("\n".join([header, *survivors]) + "\n")
print("extract kept %d of %d rows" % (len(survivors), len(rows)))
