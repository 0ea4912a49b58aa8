"""Write a large file output, then say so."""

import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--megabytes", type=int, default=120)
args = parser.parse_args()
os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
block = os.urandom(1 << 20)
with open(args.out, "wb") as fh:
    for _ in range(args.megabytes):
        fh.write(block)
print("written", flush=True)
