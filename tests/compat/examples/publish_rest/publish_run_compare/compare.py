import argparse
import os

from studio.sdk.core import Run

print("In compare.py")

parser = argparse.ArgumentParser("compare")
parser.add_argument("--compare_data1", type=str, help="compare_data1 data")
parser.add_argument("--compare_data2", type=str, help="compare_data2 data")
parser.add_argument("--output_compare", type=str, help="output_compare directory")
parser.add_argument("--pipeline_param", type=int, help="pipeline parameter")
args = parser.parse_args()

print("Argument 4: %s" % args.pipeline_param)
with open(os.path.join(args.compare_data2, "count.txt")) as f:
    count = int(f.read())
os.makedirs(args.output_compare, exist_ok=True)
with open(os.path.join(args.output_compare, "result.csv"), "w") as f:
    f.write("passengers,pipeline_arg\n%d,%d\n" % (count, args.pipeline_param))
# A pipeline-level metric, logged on the parent run
Run.get_context().parent.log("pipeline_arg", args.pipeline_param)
