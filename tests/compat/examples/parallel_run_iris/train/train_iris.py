# The pretrained model the example downloads from Azure's "iris-model" container, made here:
# a logistic regression on the labelled iris data, pickled into the step's output.
import argparse
import os
import pickle

import pandas as pd
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--model_dir")
args = parser.parse_args()

labelled = pd.read_csv(args.data)
features = labelled.drop(columns=["species"])
# Numbered classes (0, 1, 2): iris_score.py sets a column from the (rows, 1) array predict()
# returns, which pandas takes for numbers.
classes = labelled["species"].astype("category").cat.codes
model = LogisticRegression(max_iter=1000).fit(features.values, classes)
os.makedirs(args.model_dir, exist_ok=True)
with open(os.path.join(args.model_dir, "iris_model.pkl"), "wb") as f:
    pickle.dump(model, f)
print("trained on", len(labelled), "rows")
