"""Print the path a DataPath parameter gave this step, and the files under it."""
import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--path")
args = parser.parse_args()
print("path", args.path)
if os.path.isdir(args.path):
    for folder, _, files in os.walk(args.path):
        for name in sorted(files):
            print("file", os.path.relpath(os.path.join(folder, name), args.path))
else:
    print("file", os.path.basename(args.path))
