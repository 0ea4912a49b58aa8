"""Log every kind of metric, tags and properties, and write artifacts."""
import os
import time

from studio.sdk.core import Run
from studio.sdk.exceptions import UserErrorException

run = Run.get_context()
for epoch in range(5):
    run.log("loss", 1.0 / (epoch + 1), description="training loss")
    print(f"epoch {epoch} loss {1.0 / (epoch + 1):.3f}", flush=True)
    time.sleep(0.3)
run.log("accuracy", 0.93)
run.log_list("lrs", [0.1, 0.01, 0.001])
run.log_row("roc", fpr=0.0, tpr=0.0)
run.log_row("roc", fpr=0.5, tpr=0.9)
run.log_table("confusion", {"predicted": ["a", "b"], "count": [10, 3]})
run.log_image("sample", path="plot.png")
try:
    run.log("bad", [1, 2])
except UserErrorException as exc:
    print("refused:", exc)
run.tag("stage", "train")
run.set_tags({"owner": "ds-team"})
run.add_properties({"framework": "none"})
try:
    run.add_properties({"framework": "other"})
except UserErrorException as exc:
    print("property refused:", exc)
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.txt", "w") as fh:
    fh.write("weights\n")
os.makedirs("logs", exist_ok=True)
with open("logs/extra.log", "w") as fh:
    fh.write("extra log\n")
run.upload_file("uploaded/notes.txt", "plot.png")
print("tags", run.get_tags())
