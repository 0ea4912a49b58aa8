"""Log a short series under each name given on the command line (each becomes a chart)."""
import sys

from studio.sdk.core import Run

run = Run.get_context()
for name in sys.argv[1:]:
    for value in (3.0, 2.0, 1.0):
        run.log(name, value)
