"""Debiasing VAE (DB-VAE; Amini et al., 2019, as taught in MIT 6.S191).

A binary classifier whose encoder also parameterises a VAE. The classifier loss applies to
every image; the VAE loss only to positive images, so the latent space learns the variety of
the positive class. Each epoch, `keras_gen.data.DebiasingSampler` (the data side) encodes the
positive training images,
estimates the density of their latent means with one histogram per dimension, and samples
positives with probability inversely proportional to it (smoothed by `alpha`): rare kinds of
positives are seen more often, and the classifier stops ignoring them.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen import losses as L
from keras_gen.models.vae import VAE
from keras_gen.networks import conv_classifier_encoder
from keras_gen.training import register_family
from keras_gen.training.recipe import PresetSpec, Recipe


@register_family("dbvae")
class DBVAE(VAE):
    """Classifier + VAE sharing an encoder; batches are `(images, labels)` with labels 0 / 1.

    `loss = classification_loss + vae_weight * [label == 1] * (reconstruction + beta * kl)`,
    `vae_weight` defaulting to 1 / (number of pixels) so the per-image negative ELBO counts
    like a per-pixel loss beside the classifier's cross-entropy. With `vae_weight=0` it is a
    plain classifier with the same network (the baseline).

    Examples:
        >>> import numpy as np
        >>> model = DBVAE(latent_dim=4)
        >>> model.compile(optimizer="adam")
        >>> x = np.random.rand(8, 28, 28, 1).astype("float32")
        >>> history = model.fit(x, np.array([0, 1] * 4), epochs=1, verbose=0)
        >>> tuple(model.classify(x).shape)
        (8,)
    """

    benchmark_config = dict(latent_dim=8)
    benchmark_reference = "dbvae"
    preset = PresetSpec(
        "dbvae_mnist",
        "A debiasing VAE on the biased '7 or not' digit task: a classifier trained "
        "jointly with a VAE whose latent density re-weights the batches towards rare 7s.",
        "test_accuracy", samples=0)
    recipe = Recipe(epochs=15, model_args={"latent_dim": 8})

    batch_layout = "debiasing"
    smoke_config = dict(latent_dim=2, filters=(4, 8), dense_units=8)
    loss_names = ("loss", "classification_loss", "reconstruction_loss", "kl_loss", "accuracy")

    def __init__(self, image_shape=(28, 28, 1), vae_weight=None, **kwargs):
        if kwargs.get("encoder") is not None:
            raise ValueError("DBVAE builds its own classifier encoder; pass filters/dense_units")
        self.vae_weight = (1.0 / float(np.prod(image_shape)) if vae_weight is None
                           else float(vae_weight))
        super().__init__(image_shape=image_shape, **kwargs)

    def build_encoder(self):
        """Images -> [classifier logit, mean, log_var], one shared network."""
        return conv_classifier_encoder(self.image_shape, self.latent_dim, filters=self.filters,
                                       dense_units=self.dense_units)

    def split_batch(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("DBVAE needs batches of (images, labels) with labels 0 or 1")
        return data[0], data[1]

    def encode(self, images, labels=None, training=False):
        _, mean, log_var = self.encoder(images, training=training)
        return mean, log_var

    def classify_logits(self, images, training=False):
        logits, _, _ = self.encoder(images, training=training)
        return ops.cast(logits[:, 0], "float32")

    def classify(self, images):
        """Probability of the positive class per image."""
        return ops.sigmoid(self.classify_logits(images))

    def call(self, images, training=False):
        return self.classify(images)

    def compute_losses(self, data, training=False):
        images, labels = self.split_batch(data)
        labels = ops.cast(ops.reshape(labels, (-1,)), "float32")
        logits, mean, log_var = self.encoder(images, training=training)
        logits = ops.cast(logits[:, 0], "float32")
        classification = ops.softplus(logits) - labels * logits  # sigmoid cross-entropy
        z = self.reparameterize(mean, log_var)
        reconstruction = self.reconstruction_loss(images, self.decode_logits(z, training=training))
        kl = L.kl_divergence_standard_normal(mean, log_var)
        vae = labels * (reconstruction + self.beta * kl)
        accuracy = ops.cast(ops.equal(ops.cast(logits > 0, "float32"), labels), "float32")
        # reconstruction and KL are reported for positives only (the VAE's data)
        positives = ops.maximum(ops.sum(labels), 1.0)
        return {
            "loss": classification + self.vae_weight * vae,
            "classification_loss": classification,
            "reconstruction_loss": ops.sum(labels * reconstruction) / positives,
            "kl_loss": ops.sum(labels * kl) / positives,
            "accuracy": accuracy,
        }

    def latent_means(self, images, batch_size=256):
        """Posterior means of many images, computed in batches (NumPy)."""
        means = [ops.convert_to_numpy(self.encode(images[i : i + batch_size])[0])
                 for i in range(0, len(images), batch_size)]
        return np.concatenate(means, axis=0)

    def serving_endpoints(self):
        endpoints = super().serving_endpoints()
        images_spec = tf.TensorSpec((None, *self.image_shape), tf.float32, name="images")
        endpoints["classify"] = (lambda images: {"probability": self.classify(images)},
                                 [images_spec])
        return endpoints

    def get_config(self):
        config = super().get_config()
        config.pop("encoder", None)  # always the built-in classifier encoder
        config["vae_weight"] = self.vae_weight
        return config
