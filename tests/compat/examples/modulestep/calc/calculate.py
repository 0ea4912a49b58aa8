"""Adds and multiplies two numbers, each given as an argument or read from a file, and writes
the sum and the product to the files named by --output_sum and --output_product."""

import argparse
import os

print("In calculate.py")
parser = argparse.ArgumentParser("calculate")
parser.add_argument("--arg_num1", type=int, help="First number as parameter")
parser.add_argument("--arg_num2", type=int, help="Second number as parameter")
parser.add_argument("--file_num1", type=str, help="First number, read from file")
parser.add_argument("--file_num2", type=str, help="Second number, read from file")
parser.add_argument("--output_sum", type=str, help="output_sum directory")
parser.add_argument("--output_product", type=str, help="output_product directory")
args = parser.parse_args()

for position, value in enumerate(
    [args.arg_num1, args.arg_num2, args.file_num1, args.file_num2, args.output_sum, args.output_product],
    start=1,
):
    print(f"Argument {position}: {value}")


def number(given, path):
    """The number given as an argument, else the one in the file at path (0 without either)."""
    if given is not None:
        return given
    if not path:
        return 0
    with open(path, encoding="utf-8-sig") as handle:
        return int(handle.read())


def write(value, path):
    """Write value to the file at path (in the working folder without one)."""
    target = path or "."
    if target != "." and not os.path.exists(os.path.dirname(target)):
        os.makedirs(os.path.dirname(target))
    with open(target, "w") as handle:
        handle.write(str(value))


first = number(args.arg_num1, args.file_num1)
second = number(args.arg_num2, args.file_num2)
print("results: sum:", first + second, ", product:", first * second)
write(first + second, args.output_sum)
write(first * second, args.output_product)
