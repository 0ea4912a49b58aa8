"""Write a file into the --out folder, then fail: nothing may be published."""

import argparse
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--out")
args = parser.parse_args()

os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "partial.txt"), "w") as fh:
    fh.write("half-written result\n")
print("wrote partial output, now failing", flush=True)
sys.exit(1)
