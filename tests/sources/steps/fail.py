import sys

print("about to fail: boom")
print("the reason is on this line", file=sys.stderr)
sys.exit(3)
