"""Conditional GAN (Mirza & Osindero, 2014): the class label steers generator and discriminator.

The label's one-hot vector is joined to z at the generator's input and to the discriminator's
input (as constant extra channels for convolutional networks, concatenated to the flattened
image for MLPs), so D judges whether an image is a real example *of that class*.
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from keras_gen.models.gan import GAN
from keras_gen.training import register_family
from keras_gen.training.arguments import size
from keras_gen.training.recipe import ADVERSARIAL_RUN_ARGS, PresetSpec, Recipe
from keras_gen.training.conditioning import LabelConditioned


@register_family("cgan")
class ConditionalGAN(LabelConditioned, GAN):
    """GAN conditioned on integer labels; batches are `(images, labels)`.

    Examples:
        >>> cgan = ConditionalGAN(num_classes=10, latent_dim=8, units=(32,))
        >>> cgan.sample(3, labels=[3, 3, 7]).shape
        (3, 28, 28, 1)
    """

    # the keras.io-style reference has no EMA generator: timed without it
    benchmark_config = dict(architecture="dcgan", latent_dim=100, num_classes=10, ema_decay=None)
    benchmark_reference = "cgan"
    preset = PresetSpec(
        "cgan_mnist",
        "A conditional DCGAN (64-d noise, one-hot digit label joined to z and to the "
        "discriminator input, no dropout in D, EMA generator, 120 epochs) for 28x28 "
        "digits.",
        "class_consistency")
    recipe = Recipe(epochs=120, model_args={"architecture": "dcgan", "latent_dim": 64,
                                            "base_filters": 32, "discriminator_dropout": 0.0},
                    run_args=ADVERSARIAL_RUN_ARGS)

    smoke_config = dict(latent_dim=4, units=(8,), num_classes=3)

    def __init__(self, num_classes=10, **kwargs):
        self.num_classes = size("num_classes", num_classes)
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes!r}")
        self.condition_dim = self.num_classes
        super().__init__(**kwargs)

    def condition_vector(self, labels):
        return self.one_hot(labels)

    def generator_inputs(self, z, labels):
        return [ops.convert_to_tensor(z, "float32"), self.condition_vector(labels)]

    def discriminator_inputs(self, images, labels):
        return [images, self.condition_vector(labels)]

    def sample(self, num_images, seed=0, labels=None):
        """Samples of the requested classes, one per label; without labels the classes
        0, 1, ..., num_classes - 1 are cycled (row by row)."""
        return super().sample(num_images, seed=seed, labels=self.sample_labels(num_images, labels))

    def call(self, inputs, training=False):
        z, labels = inputs
        return self.generate_from(z, labels)

    def serving_endpoints(self):
        z_spec = tf.TensorSpec((None, self.latent_dim), tf.float32, name="z")
        labels_spec = tf.TensorSpec((None,), tf.int32, name="labels")
        seeds_spec = tf.TensorSpec((None,), tf.int32, name="seeds")
        return {
            "generate": (lambda z, labels: {"images": self.generate_from(z, labels)},
                         [z_spec, labels_spec]),
            "sample": (lambda seeds, labels: {"images": self.sample_from_seeds(seeds, labels)},
                       [seeds_spec, labels_spec]),
        }

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config
