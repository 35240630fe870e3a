"""Variational autoencoder (Kingma & Welling, 2014) on the shared training core.

The encoder maps an image to the mean and log-variance of a diagonal Gaussian q(z|x); a
sample `z = mean + exp(log_var / 2) * eps` (the reparameterization trick) is decoded to the
parameters of p(x|z). The loss is the negative ELBO per image, in nats:

    loss = reconstruction_loss + beta * kl_loss
    reconstruction_loss = -log p(x|z)            (Bernoulli on logits, or Gaussian)
    kl_loss = KL(q(z|x) || N(0, I))              (analytic)

`beta > 1` gives a beta-VAE. Images are expected in [0, 1].
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen import losses as L
from keras_gen.networks import conv_decoder, conv_encoder
from keras_gen.training import GenerativeModel, first_element

LIKELIHOODS = ("bernoulli", "gaussian")


@keras.saving.register_keras_serializable(package="keras_gen")
class VAE(GenerativeModel):
    """Convolutional VAE with analytic KL and a Bernoulli or Gaussian decoder.

    Args:
        image_shape: `(height, width, channels)` of the images, values in [0, 1].
        latent_dim: size of z.
        beta: weight of the KL term (1 is the plain VAE, > 1 a beta-VAE).
        likelihood: `"bernoulli"` (decoder outputs logits) or `"gaussian"` (decoder outputs
            means through a sigmoid, with one learned log standard deviation).
        filters, dense_units: sizes of the conv encoder (the decoder mirrors them).
        encoder, decoder: optional networks to use instead of the built ones; the encoder maps
            images to `[mean, log_var]`, the decoder maps z to logits of image shape.

    Example:
    >>> import keras_gen
    >>> vae = VAE(image_shape=(28, 28, 1), latent_dim=2)
    >>> vae.compile(optimizer="adam")
    >>> data = keras_gen.data.load("mnist_5k", batch_size=64)
    >>> history = vae.fit(data.take(2), epochs=1, verbose=0)
    >>> sorted(history.history)
    ['kl_loss', 'loss', 'reconstruction_loss']
    >>> tuple(vae.sample(3).shape)
    (3, 28, 28, 1)
    """

    loss_names = ("loss", "reconstruction_loss", "kl_loss")

    def __init__(
        self,
        image_shape=(28, 28, 1),
        latent_dim=16,
        beta=1.0,
        likelihood="bernoulli",
        filters=(32, 64),
        dense_units=128,
        encoder=None,
        decoder=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if float(beta) < 0:
            raise ValueError(f"beta must be >= 0, got {beta!r}")
        self.image_shape = tuple(int(d) for d in image_shape)
        self.latent_dim = int(latent_dim)
        self.beta = float(beta)
        self.likelihood = likelihood
        self.filters = tuple(int(f) for f in filters)
        self.dense_units = int(dense_units)
        self.seed = seed
        self._custom_networks = encoder is not None or decoder is not None
        self.encoder = encoder or conv_encoder(
            self.image_shape, self.latent_dim, filters=self.filters, dense_units=self.dense_units
        )
        self.decoder = decoder or conv_decoder(
            self.image_shape,
            self.latent_dim,
            filters=self.filters[::-1],
            dense_units=self.dense_units,
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        if likelihood == "gaussian":
            self.log_scale = self.add_weight(
                shape=(), initializer="zeros", name="log_scale", dtype="float32"
            )
        self.build()

    def build(self, input_shape=None):
        self.encoder.build((None, *self.image_shape))
        self.decoder.build((None, self.latent_dim))
        self.built = True

    # ------------------------------------------------------------------ the model
    def encode(self, images, training=False):
        """Mean and log-variance of q(z|x), each `(batch, latent_dim)` float32."""
        mean, log_var = self.encoder(images, training=training)
        return mean, log_var

    def reparameterize(self, mean, log_var):
        """A differentiable sample `mean + exp(log_var / 2) * eps`, eps ~ N(0, I)."""
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator, dtype="float32")
        return mean + ops.exp(0.5 * log_var) * eps

    def decoder_output_to_images(self, outputs):
        """Decoder outputs (logits) -> images in [0, 1] (Bernoulli means or Gaussian means)."""
        return ops.sigmoid(ops.cast(outputs, "float32"))

    def decode(self, z, training=False):
        """Images in [0, 1] for latent codes `z`."""
        return self.decoder_output_to_images(self.decoder(z, training=training))

    def reconstruct(self, images):
        """Decode the posterior mean of each image."""
        mean, _ = self.encode(images)
        return self.decode(mean)

    def sample(self, num_samples=None, z=None, seed=None):
        """Images decoded from prior samples: pass a count (and an int `seed`) or codes `z`."""
        if z is None:
            z = np.random.default_rng(seed).standard_normal((int(num_samples), self.latent_dim))
        return self.decode(ops.convert_to_tensor(z, "float32"))

    def call(self, images, training=False):
        mean, log_var = self.encode(images, training=training)
        z = self.reparameterize(mean, log_var) if training else mean
        return self.decode(z, training=training)

    def reconstruction_loss(self, images, decoder_outputs):
        """-log p(x|z) per image in nats."""
        if self.likelihood == "bernoulli":
            return L.bernoulli_reconstruction_loss(images, decoder_outputs)
        means = ops.sigmoid(ops.cast(decoder_outputs, "float32"))
        return L.gaussian_reconstruction_loss(images, means, self.log_scale)

    def compute_losses(self, data, training=False):
        images = first_element(data)
        mean, log_var = self.encode(images, training=training)
        z = self.reparameterize(mean, log_var)
        outputs = self.decoder(z, training=training)
        reconstruction = self.reconstruction_loss(images, outputs)
        kl = L.kl_divergence_standard_normal(mean, log_var)
        return {
            "loss": reconstruction + self.beta * kl,
            "reconstruction_loss": reconstruction,
            "kl_loss": kl,
        }

    def negative_elbo(self, dataset, num_batches=None):
        """Mean negative ELBO (nats per image, beta=1) over a dataset of image batches."""
        total, count = 0.0, 0
        for i, batch in enumerate(dataset):
            if num_batches is not None and i >= num_batches:
                break
            images = first_element(batch)
            mean, log_var = self.encode(images)
            outputs = self.decoder(self.reparameterize(mean, log_var))
            nelbo = self.reconstruction_loss(images, outputs) + L.kl_divergence_standard_normal(
                mean, log_var
            )
            total += float(ops.sum(nelbo))
            count += int(ops.shape(images)[0])
        return total / max(count, 1)

    # ------------------------------------------------------------------ generation / export
    def generate(self, num_images, seed=0):
        return ops.convert_to_numpy(self.sample(num_images, seed=seed))

    def serving_endpoints(self):
        images_spec = tf.TensorSpec((None, *self.image_shape), tf.float32, name="images")
        z_spec = tf.TensorSpec((None, self.latent_dim), tf.float32, name="z")

        def sample(z):
            return {"images": self.decode(z)}

        def encode(images):
            mean, log_var = self.encode(images)
            return {"mean": mean, "log_var": log_var}

        def reconstruct(images):
            return {"images": self.reconstruct(images)}

        return {
            "serving_default": (sample, [z_spec]),
            "decode": (sample, [z_spec]),
            "encode": (encode, [images_spec]),
            "reconstruct": (reconstruct, [images_spec]),
        }

    def export_metadata(self):
        meta = super().export_metadata()
        meta.update(
            inputs={"z": [None, self.latent_dim], "images": [None, *self.image_shape]},
            latent_dim=self.latent_dim,
            image_shape=list(self.image_shape),
            output_range=[0.0, 1.0],
        )
        return meta

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=list(self.image_shape),
            latent_dim=self.latent_dim,
            beta=self.beta,
            likelihood=self.likelihood,
            filters=list(self.filters),
            dense_units=self.dense_units,
            seed=self.seed,
        )
        if self._custom_networks:
            config.update(
                encoder=keras.saving.serialize_keras_object(self.encoder),
                decoder=keras.saving.serialize_keras_object(self.decoder),
            )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "decoder"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
