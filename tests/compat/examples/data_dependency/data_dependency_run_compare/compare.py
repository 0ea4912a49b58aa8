import argparse
import os

print("In compare.py")
print("As a data scientist, this is where I use my compare code.")

parser = argparse.ArgumentParser("compare")
parser.add_argument("--compare_data1", type=str, help="compare_data1 data")
parser.add_argument("--compare_data2", type=str, help="compare_data2 data")
parser.add_argument("--output_compare", type=str, help="output_compare directory")
args = parser.parse_args()

print("Argument 1: %s" % args.compare_data1)
print("Argument 2: %s" % args.compare_data2)
print("Argument 3: %s" % args.output_compare)

with open(args.compare_data1) as f:
    everyone = len(f.read().splitlines()) - 1
with open(os.path.join(args.compare_data2, "survivors.csv")) as f:
    survivors = len(f.read().splitlines()) - 1

if args.output_compare is not None:
    os.makedirs(args.output_compare, exist_ok=True)
    print("%s created" % args.output_compare)
    with open(os.path.join(args.output_compare, "summary.txt"), "w") as f:
        f.write("%d of %d survived\n" % (survivors, everyone))
print("compare: %d of %d survived" % (survivors, everyone))
