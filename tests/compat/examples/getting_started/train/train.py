# A one-line "training" script, as the example's train.py.
from studio.sdk.core import Run

print("In train.py")
print("As a data scientist, this is where I use my training code.")
Run.get_context().log("accuracy", 0.91)
