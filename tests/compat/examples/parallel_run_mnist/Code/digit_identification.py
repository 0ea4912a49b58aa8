
# Copyright (c) Microsoft. All rights reserved.
# Licensed under the MIT license.

import os
import numpy as np
# import tensorflow as tf  # changed: tensorflow is not here; the model is numpy arrays
from PIL import Image
from studio.sdk.core import Model


def init():
    global g_model  # changed: the model's arrays, where the example keeps a TF session

    # Disable eager execution
    # tf.compat.v1.disable_eager_execution()  # changed: no tensorflow

    # pull down model from workspace
    model_path = Model.get_model_path("mnist-prs")

    # contruct graph to execute
    # changed: the example restores the TF graph mnist-tf.model here; this model is a linear
    # classifier, its weights and bias saved by numpy.
    g_model = np.load(os.path.join(model_path, 'mnist-np.model.npz'))


def run(mini_batch):
    print(f'run method start: {__file__}, run({mini_batch})')
    resultList = []
    # changed: the weights and bias stand for the graph's input and "network/output/MatMul"
    weights, bias = g_model["weights"], g_model["bias"]

    for image in mini_batch:
        # prepare each image
        data = Image.open(image)
        np_im = np.array(data).reshape((1, 784))
        # perform inference
        inference_result = np_im @ weights + bias  # changed: g_tf_sess.run(output, ...)
        # find best probability, and add to result list
        best_result = np.argmax(inference_result)
        resultList.append("{}: {}".format(os.path.basename(image), best_result))

    return resultList
