"""The example's ./train/train.py: reads the uploaded 20 newsgroups sample, writes the
processed data the notebook step reads."""

import argparse
import os
import pickle

parser = argparse.ArgumentParser("train")
parser.add_argument("--input_data", type=str, help="input data")
args = parser.parse_args()

with open(args.input_data, "rb") as f:
    posts = pickle.load(f)
print("train read %d posts" % len(posts))

output = os.environ["AZUREML_DATAREFERENCE_processed_data"]
os.makedirs(output, exist_ok=True)
with open(os.path.join(output, "posts.txt"), "w") as f:
    f.write("\n".join(post.lower() for post in posts))
print("processed data written to %s" % output)
