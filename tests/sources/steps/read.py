"""Print the files of each --in folder."""

import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--in", dest="inputs", action="append", default=[])
args = parser.parse_args()
for folder in args.inputs:
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as fh:
            print(f"{name}: {fh.read().strip()}")
