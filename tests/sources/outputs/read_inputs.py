"""Print what each input given as `--in NAME PATH` holds: a file's text, or a folder's files."""

import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--in", dest="inputs", nargs=2, action="append", default=[])
args = parser.parse_args()

for name, path in args.inputs:
    if os.path.isfile(path):
        with open(path) as fh:
            print(f"{name}: file {fh.read().strip()}")
        continue
    found = []
    for folder, _, files in os.walk(path):
        for file in files:
            full = os.path.join(folder, file)
            with open(full) as fh:
                found.append(f"{os.path.relpath(full, path)}={fh.read().strip()}")
    print(f"{name}: folder [{'; '.join(sorted(found))}]")
