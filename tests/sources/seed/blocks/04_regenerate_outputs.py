pipeline_run = experiment.submit(train_pipeline, regenerate_outputs=True)
