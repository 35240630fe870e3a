"""Class-label conditioning shared by conditional families (ConditionalVAE, ConditionalGAN)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import ops


class LabelConditioned:
    """Mixin for models whose batches are `(images, labels)` with integer labels.

    The subclass sets `self.num_classes`; `one_hot` checks eager labels against it, so an
    out-of-range label is an error naming the range rather than an all-zero vector.
    """

    batch_layout = "labelled"

    def split_batch(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError(f"{type(self).__name__} needs batches of (images, labels)")
        return data[0], data[1]

    def sample_labels(self, num_images, labels=None):
        """The labels `sample` uses: `labels` as given, or 0, 1, ..., num_classes - 1 cycled
        (so a grid with num_classes columns shows one class per column)."""
        if labels is None:
            return np.arange(int(num_images)) % self.num_classes
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != int(num_images):
            raise ValueError(f"sample got {len(labels)} labels for {int(num_images)} images")
        return labels

    def one_hot(self, labels):
        """Float32 one-hot vectors `(batch, num_classes)` of integer labels."""
        if labels is None:
            raise ValueError(f"{type(self).__name__} needs labels")
        if not isinstance(labels, tf.Tensor) or tf.executing_eagerly():
            values = np.asarray(labels)
            if values.size and (values.min() < 0 or values.max() >= self.num_classes):
                raise ValueError(f"labels must be in [0, {self.num_classes}), got "
                                 f"{values.min()}..{values.max()}")
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        if isinstance(labels, tf.Tensor) and not tf.executing_eagerly():
            # traced (fit, SavedModel signatures): the same check as a graph assertion
            message = f"labels must be in [0, {self.num_classes})"
            tf.debugging.assert_non_negative(labels, message=message)
            tf.debugging.assert_less(labels, tf.constant(self.num_classes, tf.int32), message=message)
        return ops.one_hot(labels, self.num_classes, dtype="float32")
