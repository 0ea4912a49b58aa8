"""Write each output given as `--dir NAME PATH` (a folder with two files), `--file NAME PATH`
(one file at PATH) or `--empty NAME PATH` (nothing); with --fail, exit 1 after writing."""

import argparse
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--dir", nargs=2, action="append", default=[])
parser.add_argument("--file", nargs=2, action="append", default=[])
parser.add_argument("--empty", nargs=2, action="append", default=[])
parser.add_argument("--fail", action="store_true")
args = parser.parse_args()

for name, path in args.dir:
    os.makedirs(os.path.join(path, "sub"), exist_ok=True)
    with open(os.path.join(path, "data.txt"), "w") as fh:
        fh.write(f"{name} data\n")
    with open(os.path.join(path, "sub", "more.txt"), "w") as fh:
        fh.write(f"{name} more\n")
for name, path in args.file:
    with open(path, "w") as fh:
        fh.write(f"{name} file\n")
for name, path in args.empty:
    os.makedirs(path, exist_ok=True)
print("wrote", ", ".join(name for name, _ in args.dir + args.file + args.empty), flush=True)
if args.fail:
    sys.exit(1)
