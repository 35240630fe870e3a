"""keras_gen: classic deep generative models for Keras 3 (TensorFlow backend).

Every model trains with `model.fit`, exports a TF Serving SavedModel with
`keras_gen.export.export`, and round-trips through `.keras` files.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from keras_gen import data, losses, training  # noqa: E402
from keras_gen import callbacks, export, models, plots, presets, serving  # noqa: E402

__all__ = ["callbacks", "data", "export", "losses", "models", "plots", "presets", "serving",
           "training"]
