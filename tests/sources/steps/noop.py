import sys

print("noop", *sys.argv[1:])
