"""Write --value into <out>/value.txt, and the AML_PARAMETER_ variables into <out>/env.txt."""

import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--value", default="")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "value.txt"), "w") as fh:
    fh.write(args.value)
with open(os.path.join(args.out, "env.txt"), "w") as fh:
    for key in sorted(os.environ):
        if key.startswith(("AML_PARAMETER_", "AZUREML_DATAREFERENCE_")):
            fh.write(f"{key}={os.environ[key]}\n")
print("wrote", args.value)
