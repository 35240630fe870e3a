"""Class-label conditioning shared by conditional families (ConditionalVAE, ConditionalGAN)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen.training.arguments import size
from keras_gen.training.base import first_element


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


class ConditionalPair(LabelConditioned):
    """Class conditioning that a generator/discriminator pair opts into (the GAN families).

    With `conditional` true the batches are `(images, labels)`, the one-hot label
    (`condition_dim` wide) joins G's inputs after z and D's after the images, and samples cycle
    the classes unless labels are given; how each network uses it (concatenation, conditional
    batch norm, projection) is the network builder's. With it false the model is unconditional:
    batches are images and labels are ignored. A family that is always conditional keeps the
    class default; one where it is an option (SAGAN) calls `init_conditioning` with its
    argument.
    """

    conditional = True

    def init_conditioning(self, conditional, num_classes):
        """Check and set `conditional`, `num_classes`, `condition_dim` and the batch layout
        (before the networks are built); a `ValueError` names a bad combination."""
        self.conditional = bool(conditional)
        name = type(self).__name__
        if self.conditional and num_classes is None:
            raise ValueError(f"a conditional {name} needs num_classes (a whole number >= 2)")
        self.num_classes = None if num_classes is None else size(
            "num_classes", num_classes, least=2 if self.conditional else 1)
        if not self.conditional and self.num_classes is not None:
            raise ValueError(f"num_classes={num_classes!r} given to an unconditional {name}; "
                             "pass conditional=True to use labels")
        self.batch_layout = "labelled" if self.conditional else "images"
        self.condition_dim = self.num_classes if self.conditional else 0

    def split_batch(self, data):
        if self.conditional:
            return LabelConditioned.split_batch(self, data)
        return first_element(data), None

    def condition_vector(self, labels):
        return self.one_hot(labels) if self.conditional else None

    def generator_inputs(self, z, labels):
        if not self.conditional:
            return z
        return [ops.convert_to_tensor(z, "float32"), self.condition_vector(labels)]

    def discriminator_inputs(self, images, labels):
        return [images, self.condition_vector(labels)] if self.conditional else images

    def sampling_labels(self, num_images, labels=None):
        """The labels `sample` draws with: `sample_labels` when conditional, else none."""
        return self.sample_labels(num_images, labels) if self.conditional else None

    def call(self, inputs, training=False):
        if self.conditional:
            z, labels = inputs
            return self.generate_from(z, labels)
        return self.generate_from(inputs)
