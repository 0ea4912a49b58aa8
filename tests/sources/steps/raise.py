"""Fail with a Python exception (a traceback in the log)."""


def load(path):
    raise ValueError(f"cannot parse {path}: expected 3 columns, found 2")


load("data/train.csv")
