"""pix2pix (Isola et al., 2017): paired image-to-image translation with a conditional GAN.

A U-Net generator G maps an input image x to an output; a PatchGAN discriminator D sees the
pair (x, y) concatenated on channels and judges each patch. With one generator pass per step
(`compute_losses`; the core steps D, then G):

    D minimises  BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)
    G minimises  BCE(D(x, G(x)), 1) + lambda_l1 * |y - G(x)|_1

Batches are `(inputs, targets)` in [-1, 1]; `translate` and the exports take and return
images in [0, 1].
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from keras_gen import losses as L
from keras_gen.augment import diff_augment_pair, parse_policy
from keras_gen.networks.patchgan import patchgan_discriminator
from keras_gen.networks.unet import unet_generator
from keras_gen.training import GenerativeModel, Update, register_family
from keras_gen.training.arguments import image_shape_of, size
from keras_gen.training.optimizers import OptimizerSpec
from keras_gen.training.recipe import PresetSpec, Recipe


def to_model_range(images):
    return ops.convert_to_tensor(images, "float32") * 2.0 - 1.0


def to_unit_range(images):
    return ops.clip((ops.cast(images, "float32") + 1.0) / 2.0, 0.0, 1.0)


@register_family("pix2pix")
class Pix2Pix(GenerativeModel):
    """U-Net + PatchGAN translator trained on aligned pairs.

    Args:
        image_shape: shape of the input images; `output_channels` defaults to its channels.
        lambda_l1: weight of the L1 term (100 in the paper).
        augment: DiffAugment policy (`keras_gen.augment`) for the pairs D judges in training;
            both images of a pair get the same draw.

    Examples:
        >>> import numpy as np
        >>> model = Pix2Pix(image_shape=(28, 28, 1), base_filters=8)
        >>> model.compile(optimizer="adam")
        >>> x = np.random.uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
        >>> sorted(model.fit(x, x, epochs=1, verbose=0).history)
        ['d_loss', 'g_adversarial', 'g_loss', 'l1_loss']
    """

    deterministic_training = True
    benchmark_config = dict(base_filters=32)
    benchmark_reference = "pix2pix"
    preset = PresetSpec(
        "pix2pix_edges_mnist",
        "pix2pix (U-Net, PatchGAN on (input, output) pairs, L1 weight 100) from Sobel "
        "edge maps to 28x28 digits.",
        "test_l1_loss")
    recipe = Recipe(epochs=1000, minutes=3, model_args={"base_filters": 32})

    optimizer_names = ("generator", "discriminator")
    optimizer_spec = OptimizerSpec(2e-4, beta_1=0.5)  # the paper's
    loss_names = ("d_loss", "g_loss", "g_adversarial", "l1_loss")
    value_range = (-1.0, 1.0)
    batch_layout = "paired"
    preview = "translate"
    default_signature = "translate"
    smoke_config = dict(base_filters=4, discriminator_layers=2, dropout=0.0)

    def __init__(self, image_shape=(256, 256, 3), output_channels=None, lambda_l1=100.0,
                 base_filters=64, discriminator_layers=3, dropout=0.5, augment="", **kwargs):
        super().__init__(**kwargs)
        self.augment = ",".join(parse_policy(augment))
        if self.augment:
            self.seed_generator = keras.random.SeedGenerator()
        self.image_shape = image_shape_of(image_shape)
        self.output_channels = size("output_channels", output_channels or self.image_shape[-1])
        self.lambda_l1 = float(lambda_l1)
        self.base_filters = size("base_filters", base_filters)
        self.discriminator_layers = size("discriminator_layers", discriminator_layers)
        self.dropout = float(dropout)
        output_shape = (*self.image_shape[:2], self.output_channels)
        with self.network_policy():
            self.generator = unet_generator(self.image_shape, self.output_channels,
                                            base_filters=self.base_filters, dropout=self.dropout)
            self.discriminator = patchgan_discriminator(
                output_shape, condition_channels=self.image_shape[-1],
                base_filters=self.base_filters, num_layers=self.discriminator_layers)
        self.built = True

    def variables_for(self, slot):
        network = self.generator if slot == "generator" else self.discriminator
        return network.trainable_variables

    def updates(self):
        return (Update("discriminator", "d_loss"), Update("generator", "g_loss"))

    def compute_losses(self, data, training=False):
        inputs, targets = data[0], data[1]
        # the generator keeps its dropout on in evaluation too: the paper's noise source
        fake = ops.cast(self.generator(inputs, training=True), "float32")
        real_pair, fake_pair = (inputs, targets), (inputs, fake)
        if training and self.augment:  # each pair shifted / cut out as one
            real_pair = diff_augment_pair(*real_pair, self.augment, seed=self.seed_generator)
            fake_pair = diff_augment_pair(*fake_pair, self.augment, seed=self.seed_generator)
        real_logits = self.discriminator(list(real_pair), training=training)
        fake_logits = self.discriminator(list(fake_pair), training=training)
        adversarial = L.generator_loss("non_saturating", fake_logits)
        l1 = L.mean_absolute_error(targets, fake)
        return {"d_loss": L.discriminator_loss("non_saturating", real_logits, fake_logits),
                "g_loss": adversarial + self.lambda_l1 * l1,
                "g_adversarial": adversarial, "l1_loss": l1}

    def translate(self, images):
        """Translate images in [0, 1] to outputs in [0, 1]."""
        return to_unit_range(self.generator(to_model_range(images), training=False))

    def call(self, images, training=False):
        return self.translate(images)

    def serving_endpoints(self):
        spec = tf.TensorSpec((None, *self.image_shape), tf.float32, name="images")
        return {"translate": (lambda images: {"images": self.translate(images)}, [spec])}

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=list(self.image_shape), output_channels=self.output_channels,
                      lambda_l1=self.lambda_l1, base_filters=self.base_filters,
                      discriminator_layers=self.discriminator_layers, dropout=self.dropout,
                      augment=self.augment)
        return config
