"""The project's own classifiers: feature extractors for FID / KID and judges of class
consistency and mode coverage, one for grey digits and one for colour images.

There are no Inception weights offline, so each evaluator is a small CNN trained by
`apps/train_classifier.py` on an offline source's training split (never downloaded); the
weights ship in the package (`weights/`):

| evaluator | trained on | input | classes |
| --- | --- | --- | --- |
| `digits` | mnist_5k train | 28x28 grey | the 10 digits |
| `openmoji` | openmoji train (32x32 RGB) | 32x32 RGB | the 10 emoji groups |

Images in [0, 1] of any size are resized to the evaluator's input first (and converted to grey
or to RGB). An FID in one evaluator's feature space is comparable only with FIDs in the same
space, on images of the same kind: not with Inception FIDs from papers.
"""

from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf
from keras import layers

WEIGHTS_DIR = os.path.join(os.path.dirname(__file__), "weights")
WEIGHTS_PATH = os.path.join(WEIGHTS_DIR, "digit_classifier.weights.h5")
FEATURE_LAYER = "features"


def digit_classifier(num_classes=10, feature_dim=64):
    """A small CNN `28x28x1 -> num_classes` logits whose `features` layer is `feature_dim` wide.

    Examples:
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


def colour_classifier(num_classes=10, feature_dim=128, image_shape=(32, 32, 3)):
    """A small CNN `32x32x3 -> num_classes` logits (three conv blocks with batch norm) whose
    `features` layer is `feature_dim` wide.

    Examples:
        >>> model = colour_classifier()
        >>> tuple(model.get_layer("features").output.shape)
        (None, 128)
    """
    images = keras.Input(image_shape, name="images")
    x = images
    for filters in (32, 64, 128):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.Activation("relu")(layers.BatchNormalization()(x))
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    features = layers.Dense(feature_dim, activation="relu", name=FEATURE_LAYER)(x)
    logits = layers.Dense(num_classes, name="logits", dtype="float32")(layers.Dropout(0.3)(features))
    return keras.Model(images, logits, name="colour_classifier")


@dataclasses.dataclass(frozen=True)
class Evaluator:
    """What an evaluator is: its network, input, classes, training source and weights file."""

    name: str
    build: object
    input_shape: tuple
    num_classes: int
    dataset: str
    weights_file: str

    @property
    def weights_path(self):
        return os.path.join(WEIGHTS_DIR, self.weights_file)


EVALUATORS = {
    "digits": Evaluator("digits", digit_classifier, (28, 28, 1), 10, "mnist_5k",
                        "digit_classifier.weights.h5"),
    "openmoji": Evaluator("openmoji", colour_classifier, (32, 32, 3), 10, "openmoji",
                          "openmoji_classifier.weights.h5"),
}


def evaluator_for(dataset=None, channels=None):
    """The evaluator that judges images like `dataset`'s (or with `channels` channels).

    openmoji sources and colour images get `openmoji`; digits and grey images get `digits`.

    Examples:
        >>> evaluator_for("openmoji_faces"), evaluator_for("mnist_5k"), evaluator_for(channels=3)
        ('openmoji', 'digits', 'openmoji')
    """
    from keras_gen.data.datasets import COLOUR_SOURCES, DIGIT_SOURCES

    if dataset in COLOUR_SOURCES:
        return "openmoji"
    if dataset in DIGIT_SOURCES:
        return "digits"
    return "openmoji" if channels == 3 else "digits"


def to_classifier_input(images, input_shape=(28, 28, 1)):
    """Any `(n, h, w, c)` images in [0, 1] -> float32 `(n, *input_shape)` (resized, grey or RGB)."""
    images = tf.convert_to_tensor(np.asarray(images, np.float32))
    if images.shape.rank == 3:
        images = images[..., tf.newaxis]
    height, width, channels = input_shape
    if images.shape[-1] == 3 and channels == 1:
        images = tf.image.rgb_to_grayscale(images)
    elif images.shape[-1] == 1 and channels == 3:
        images = tf.image.grayscale_to_rgb(images)
    if tuple(images.shape[1:3]) != (height, width):
        images = tf.image.resize(images, (height, width), antialias=True)
    return tf.clip_by_value(images, 0.0, 1.0)


class ClassifierFeatures:
    """Features and class predictions of a shipped evaluator (`EVALUATORS`), in batches.

    Examples:
        >>> extractor = ClassifierFeatures("openmoji")
        >>> extractor.features(np.zeros((2, 64, 64, 3))).shape
        (2, 128)
    """

    def __init__(self, evaluator="digits", weights_path=None, batch_size=500):
        if evaluator not in EVALUATORS:
            raise ValueError(f"unknown evaluator {evaluator!r}; expected one of {sorted(EVALUATORS)}")
        self.spec = EVALUATORS[evaluator]
        weights_path = weights_path or self.spec.weights_path
        if not os.path.exists(weights_path):
            raise FileNotFoundError(f"{weights_path} is missing; train it with "
                                    f"`python apps/train_classifier.py {evaluator}`")
        self.classifier = self.spec.build(num_classes=self.spec.num_classes)
        self.classifier.load_weights(weights_path)
        self.extractor = keras.Model(self.classifier.input,
                                     [self.classifier.get_layer(FEATURE_LAYER).output,
                                      self.classifier.output])
        self.batch_size = int(batch_size)

    @property
    def num_classes(self):
        return self.spec.num_classes

    def _run(self, images):
        images = to_classifier_input(images, self.spec.input_shape)
        features, logits = [], []
        for start in range(0, int(images.shape[0]), self.batch_size):
            f, lg = self.extractor(images[start : start + self.batch_size], training=False)
            features.append(np.asarray(f, np.float64))
            logits.append(np.asarray(lg, np.float64))
        return np.concatenate(features), np.concatenate(logits)

    def features(self, images):
        """`(n, feature_dim)` float64 features of the penultimate layer."""
        return self._run(images)[0]

    def predict(self, images):
        """Predicted class per image."""
        return np.argmax(self._run(images)[1], axis=-1)

    def features_and_predictions(self, images):
        features, logits = self._run(images)
        return features, np.argmax(logits, axis=-1)

    def features_and_probabilities(self, images):
        """Features and `(n, num_classes)` class probabilities (softmax of the logits), in one pass."""
        features, logits = self._run(images)
        exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return features, exp / exp.sum(axis=-1, keepdims=True)

    def probabilities(self, images):
        """`(n, num_classes)` class probabilities."""
        return self.features_and_probabilities(images)[1]


class DigitFeatures(ClassifierFeatures):
    """The digit evaluator (`ClassifierFeatures("digits")`): 64 features, 10 digit classes.

    Examples:
        >>> extractor = DigitFeatures()
        >>> extractor.features(np.zeros((2, 28, 28, 1))).shape
        (2, 64)
    """

    def __init__(self, weights_path=WEIGHTS_PATH, batch_size=500):
        super().__init__("digits", weights_path, batch_size)


def evaluator_features(dataset=None, channels=None):
    """The `ClassifierFeatures` that judges `dataset` (see `evaluator_for`)."""
    return ClassifierFeatures(evaluator_for(dataset, channels))
