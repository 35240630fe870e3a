"""Checks every keras_gen model must pass the same way: config, `.keras` and SavedModel round trips.

A family's tests call these with a tiny model and a batch of inputs.
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf


def check_config_round_trip(model):
    """`from_config(get_config())` rebuilds a model with the same config."""
    config = model.get_config()
    json.dumps(config)  # configs must be JSON
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    return clone


def check_keras_file_round_trip(model, tmp_path, fn):
    """Save to `.keras`, load with `safe_mode=True`, and compare `fn(model)` outputs."""
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fn(loaded)), keras.ops.convert_to_numpy(fn(model)), atol=1e-5
    )
    return loaded


def call_saved_model(path, inputs):
    """Load a SavedModel with `tf.saved_model.load` and call its signatures.

    `inputs` maps `"<signature>__<input name>"` to arrays (each signature is called once with
    all its inputs); returns (`{"<signature>__<output name>": array}`, sorted signature names).
    It runs in this process: that every signature of every family's export runs with
    TensorFlow alone (keras and keras_gen unimportable) is checked on the app's exports
    (`app_family_runs.check_exports_run_with_tensorflow_alone`), and `check_saved_model`
    refuses ops that call back into Python, the one thing an in-process call would hide.
    """
    loaded = tf.saved_model.load(path)
    calls = {}
    for key in sorted(inputs):
        signature, arg = key.split("__", 1)
        calls.setdefault(signature, {})[arg] = tf.constant(inputs[key])
    results = {f"{signature}__{name}": value.numpy()
               for signature, kwargs in calls.items()
               for name, value in loaded.signatures[signature](**kwargs).items()}
    return results, sorted(loaded.signatures.keys())
