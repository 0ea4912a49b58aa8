"""Log loss and val_loss series, a scalar with a description, and a metric on the pipeline run."""

from studio.sdk.core import Run

run = Run.get_context()
for loss, val_loss in ((0.9, 1.0), (0.5, 0.7), (0.25, 0.6)):
    run.log("loss", loss, description="training loss per epoch")
    run.log("val_loss", val_loss, description="validation loss per epoch")
run.log("lr", 0.01, description="learning rate")
run.parent.log("best_val_loss", 0.6, description="lowest validation loss")
