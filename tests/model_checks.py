"""Checks every keras_gen model must pass the same way: config, `.keras` and SavedModel round trips.

A family's tests call these with a tiny model and a batch of inputs.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np

# Runs in a fresh interpreter where importing keras (or keras_gen) is made impossible, so the
# SavedModel is shown to need nothing but TensorFlow.
TF_ONLY_RUNNER = r"""
import json, sys
sys.modules["keras"] = None
sys.modules["tf_keras"] = None
sys.modules["keras_gen"] = None
import numpy as np
import tensorflow as tf
path, inputs_file, out_file = sys.argv[1:4]
loaded = tf.saved_model.load(path)
inputs = dict(np.load(inputs_file, allow_pickle=True))  # our own file; bytes inputs are objects
calls = {}
for key in sorted(inputs):
    signature, arg = key.split("__", 1)
    calls.setdefault(signature, {})[arg] = tf.constant(inputs[key])
results = {}
for signature, kwargs in calls.items():
    for name, value in loaded.signatures[signature](**kwargs).items():
        results[f"{signature}__{name}"] = value.numpy()
np.savez(out_file, **results)
print(json.dumps(sorted(loaded.signatures.keys())))
"""


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


def run_saved_model_without_keras(path, inputs, tmp_path):
    """Call signatures of a SavedModel in a TensorFlow-only subprocess.

    `inputs` maps `"<signature>__<input name>"` to arrays (each signature is called once with
    all its inputs); returns
    (`{"<signature>__<output name>": array}`, list of signature names).
    """
    inputs_file = os.path.join(str(tmp_path), "inputs.npz")
    out_file = os.path.join(str(tmp_path), "outputs.npz")
    np.savez(inputs_file, **inputs)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", TF_ONLY_RUNNER, path, inputs_file, out_file],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    signatures = json.loads(proc.stdout.strip().splitlines()[-1])
    return dict(np.load(out_file, allow_pickle=True)), signatures
