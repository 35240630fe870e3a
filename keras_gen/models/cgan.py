"""Conditional GAN (Mirza & Osindero, 2014): the class label steers generator and discriminator.

The label's one-hot vector is joined to z at the generator's input and to the discriminator's
input (as constant extra channels for convolutional networks, concatenated to the flattened
image for MLPs), so D judges whether an image is a real example *of that class*.
"""

from __future__ import annotations

from keras_gen.models.gan import GAN
from keras_gen.training import register_family
from keras_gen.training.recipe import ADVERSARIAL_RUN_ARGS, PresetSpec, Recipe
from keras_gen.training.conditioning import ConditionalPair


@register_family("cgan")
class ConditionalGAN(ConditionalPair, GAN):
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
        self.init_conditioning(True, num_classes)
        super().__init__(**kwargs)

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config
