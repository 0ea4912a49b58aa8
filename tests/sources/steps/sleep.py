"""Print a tick every 0.2 s for --seconds, then write an optional output."""

import argparse
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=1.0)
parser.add_argument("--out", default=None)
args = parser.parse_args()
print(f"pid {os.getpid()}", flush=True)
end = time.monotonic() + args.seconds
tick = 0
while time.monotonic() < end:
    print(f"tick {tick}", flush=True)
    tick += 1
    time.sleep(0.2)
if args.out:
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "done.txt"), "w") as fh:
        fh.write("done\n")
print("slept", flush=True)
