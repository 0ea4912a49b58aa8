"""Log one metric value: --name, --value (a float)."""

import argparse

from studio.sdk.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--name")
parser.add_argument("--value", type=float)
args = parser.parse_args()
Run.get_context().log(args.name, args.value)
