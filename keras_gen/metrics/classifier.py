"""The project's own digit classifier: the feature extractor for FID / KID and the judge of
class consistency and mode coverage.

It is trained by `apps/train_digit_classifier.py` on mnist_5k's training split (never
downloaded) and its weights ship in the package (`weights/digit_classifier.weights.h5`).
Images in [0, 1]; any size or channel count is resized to 28x28 grey first.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf
from keras import layers

WEIGHTS_PATH = os.path.join(os.path.dirname(__file__), "weights", "digit_classifier.weights.h5")
FEATURE_LAYER = "features"


def digit_classifier(num_classes=10, feature_dim=64):
    """A small CNN `28x28x1 -> num_classes` logits whose `features` layer is `feature_dim` wide.

    Example:
    >>> model = digit_classifier()
    >>> tuple(model.get_layer("features").output.shape)
    (None, 64)
    """
    images = keras.Input((28, 28, 1), name="images")
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(images)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    features = layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER)(x)
    logits = layers.Dense(num_classes, name="logits", dtype="float32")(layers.Dropout(0.3)(features))
    return keras.Model(images, logits, name="digit_classifier")


def to_classifier_input(images):
    """Any `(n, h, w, c)` images in [0, 1] -> `(n, 28, 28, 1)` float32 grey."""
    images = tf.convert_to_tensor(np.asarray(images, np.float32))
    if images.shape.rank == 3:
        images = images[..., tf.newaxis]
    if images.shape[-1] == 3:
        images = tf.image.rgb_to_grayscale(images)
    if tuple(images.shape[1:3]) != (28, 28):
        images = tf.image.resize(images, (28, 28), antialias=True)
    return tf.clip_by_value(images, 0.0, 1.0)


class DigitFeatures:
    """Features and class predictions of the shipped digit classifier, computed in batches.

    Example:
    >>> extractor = DigitFeatures()
    >>> extractor.features(np.zeros((2, 28, 28, 1))).shape
    (2, 64)
    """

    def __init__(self, weights_path=WEIGHTS_PATH, batch_size=500):
        if not os.path.exists(weights_path):
            raise FileNotFoundError(
                f"{weights_path} is missing; train it with `python apps/train_digit_classifier.py`")
        self.classifier = digit_classifier()
        self.classifier.load_weights(weights_path)
        self.extractor = keras.Model(self.classifier.input,
                                     [self.classifier.get_layer(FEATURE_LAYER).output,
                                      self.classifier.output])
        self.batch_size = int(batch_size)

    def _run(self, images):
        images = to_classifier_input(images)
        features, logits = [], []
        for start in range(0, int(images.shape[0]), self.batch_size):
            f, lg = self.extractor(images[start : start + self.batch_size], training=False)
            features.append(np.asarray(f, np.float64))
            logits.append(np.asarray(lg, np.float64))
        return np.concatenate(features), np.concatenate(logits)

    def features(self, images):
        """`(n, 64)` float64 features of the penultimate layer."""
        return self._run(images)[0]

    def predict(self, images):
        """Predicted class per image."""
        return np.argmax(self._run(images)[1], axis=-1)

    def features_and_predictions(self, images):
        features, logits = self._run(images)
        return features, np.argmax(logits, axis=-1)

    def features_and_probabilities(self, images):
        """Features and `(n, 10)` class probabilities (softmax of the logits), in one pass."""
        features, logits = self._run(images)
        exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return features, exp / exp.sum(axis=-1, keepdims=True)

    def probabilities(self, images):
        """`(n, 10)` class probabilities."""
        return self.features_and_probabilities(images)[1]
