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
from keras_gen.latent import normal_from_seeds
from keras_gen.networks import conv_decoder, conv_encoder
from keras_gen.training import GenerativeModel, first_element, register_family
from keras_gen.training.arguments import image_shape_of, size, sizes
from keras_gen.training.recipe import PresetSpec, Recipe
from keras_gen.training.conditioning import LabelConditioned

LIKELIHOODS = ("bernoulli", "gaussian")


@register_family("vae")
class VAE(GenerativeModel):
    """Convolutional VAE with analytic KL and a Bernoulli or Gaussian decoder.

    Args:
        image_shape: `(height, width, channels)` of the images, values in [0, 1].
        latent_dim: size of z.
        beta: weight of the KL term (1 is the plain VAE, > 1 a beta-VAE).
        likelihood: `"bernoulli"` (decoder outputs logits) or `"gaussian"` (decoder outputs
            means through a sigmoid, with one learned log standard deviation).
        filters: filters of the conv encoder's stages (the decoder mirrors them).
        dense_units: width of the encoder's dense layer (the decoder mirrors it).
        encoder: an optional network to use instead of the built one, mapping images to
            `[mean, log_var]`.
        decoder: an optional network mapping z to logits of image shape.

    Examples:
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

    benchmark_config = dict(latent_dim=16)
    benchmark_reference = "vae"
    preset = PresetSpec(
        "vae_mnist",
        "A convolutional VAE (16-d latent, Bernoulli decoder) for 28x28 digits.",
        "test_loss")
    recipe = Recipe(epochs=30, model_args={"latent_dim": 16})

    loss_names = ("loss", "reconstruction_loss", "kl_loss")
    default_signature = "decode"
    smoke_config = dict(latent_dim=2, filters=(4, 8), dense_units=8)

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
        self.image_shape = image_shape_of(image_shape)
        self.latent_dim = size("latent_dim", latent_dim)
        self.beta = float(beta)
        self.likelihood = likelihood
        self.filters = sizes("filters", filters)
        self.dense_units = size("dense_units", dense_units)
        self.seed = seed
        self._custom_networks = encoder is not None or decoder is not None
        with self.network_policy():
            encoder = encoder or self.build_encoder()
            decoder = decoder or self.build_decoder()
        self.encoder, self.decoder = encoder, decoder
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

    def build_encoder(self):
        """The default encoder: images -> [mean, log_var]."""
        return conv_encoder(self.image_shape, self.latent_dim, filters=self.filters,
                            dense_units=self.dense_units)

    def build_decoder(self):
        """The default decoder: z -> pixel logits."""
        return conv_decoder(self.image_shape, self.latent_dim, filters=self.filters[::-1],
                            dense_units=self.dense_units)

    # ------------------------------------------------------------------ the model
    def split_batch(self, data):
        """`(images, labels)` of a batch; labels are ignored (None) by the unconditional VAE."""
        return first_element(data), None

    def encoder_inputs(self, images, labels):
        return images

    def decoder_inputs(self, z, labels):
        return z

    def encode(self, images, labels=None, training=False):
        """Mean and log-variance of q(z|x), each `(batch, latent_dim)` float32."""
        mean, log_var = self.encoder(self.encoder_inputs(images, labels), training=training)
        return mean, log_var

    def reparameterize(self, mean, log_var):
        """A differentiable sample `mean + exp(log_var / 2) * eps`, eps ~ N(0, I)."""
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator, dtype="float32")
        return mean + ops.exp(0.5 * log_var) * eps

    def decode_logits(self, z, labels=None, training=False):
        """Raw float32 decoder outputs (logits) for codes `z`."""
        return ops.cast(self.decoder(self.decoder_inputs(z, labels), training=training), "float32")

    def decode(self, z, labels=None, training=False):
        """Images in [0, 1] for latent codes `z` (the Bernoulli or Gaussian means)."""
        return ops.sigmoid(self.decode_logits(z, labels, training=training))

    def reconstruct(self, images, labels=None):
        """Decode the posterior mean of each image."""
        mean, _ = self.encode(images, labels)
        return self.decode(mean, labels)

    def generate_from(self, z, labels=None):
        """Images in [0, 1] decoded from latent codes `z` (`decode`, in the shared vocabulary)."""
        return self.decode(ops.convert_to_tensor(z, "float32"), labels)

    def sample(self, num_images, seed=0, labels=None):
        """`num_images` images (NumPy, in [0, 1]) decoded from prior draws of NumPy seed `seed`."""
        z = np.random.default_rng(seed).standard_normal((int(num_images), self.latent_dim))
        return ops.convert_to_numpy(self.generate_from(z, labels))

    def sample_from_seeds(self, seeds, labels=None):
        """One image per integer seed (stateless prior draws; the exported `sample`)."""
        return self.generate_from(normal_from_seeds(seeds, self.latent_dim), labels)

    def call(self, images, training=False):
        mean, log_var = self.encode(images, training=training)
        z = self.reparameterize(mean, log_var) if training else mean
        return self.decode(z, training=training)

    def reconstruction_loss(self, images, logits):
        """-log p(x|z) per image in nats, from decoder logits."""
        if self.likelihood == "bernoulli":
            return L.bernoulli_reconstruction_loss(images, logits)
        return L.gaussian_reconstruction_loss(images, ops.sigmoid(logits), self.log_scale)

    def compute_losses(self, data, training=False):
        images, labels = self.split_batch(data)
        mean, log_var = self.encode(images, labels, training=training)
        z = self.reparameterize(mean, log_var)
        logits = self.decode_logits(z, labels, training=training)
        reconstruction = self.reconstruction_loss(images, logits)
        kl = L.kl_divergence_standard_normal(mean, log_var)
        return {
            "loss": reconstruction + self.beta * kl,
            "reconstruction_loss": reconstruction,
            "kl_loss": kl,
        }

    def elbo(self, images, labels=None):
        """Single-sample ELBO per image (nats, beta = 1): a lower bound on log p(x)."""
        mean, log_var = self.encode(images, labels)
        logits = self.decode_logits(self.reparameterize(mean, log_var), labels)
        return -(self.reconstruction_loss(images, logits)
                 + L.kl_divergence_standard_normal(mean, log_var))

    def log_likelihood(self, images, labels=None, num_samples=100, chunk_size=4096):
        """Importance-sampled estimate of log p(x) per image, in nats (the IWAE bound).

        `log p(x) ~ logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K` with
        z_k ~ q(z|x). It is >= the ELBO in expectation and tightens as K grows.
        """
        images = ops.convert_to_tensor(images, "float32")
        batch = int(ops.shape(images)[0])
        mean, log_var = self.encode(images, labels)
        per_chunk = max(1, int(chunk_size) // max(batch, 1))
        log_weights = []
        done = 0
        while done < num_samples:
            k = min(per_chunk, num_samples - done)
            tile = lambda t: ops.reshape(  # noqa: E731  (k, batch, ...) -> (k * batch, ...)
                ops.broadcast_to(t[None], (k, *ops.shape(t))), (k * batch, *ops.shape(t)[1:]))
            m, lv = tile(mean), tile(log_var)
            z = self.reparameterize(m, lv)
            tiled_labels = None if labels is None else tile(ops.convert_to_tensor(labels))
            log_px = -self.reconstruction_loss(tile(images), self.decode_logits(z, tiled_labels))
            log_q = L.gaussian_log_density(z, m, lv)
            log_p = L.gaussian_log_density(z, ops.zeros_like(z), ops.zeros_like(z))
            log_weights.append(ops.reshape(log_px + log_p - log_q, (k, batch)))
            done += k
        log_weights = ops.concatenate(log_weights, axis=0)
        return ops.logsumexp(log_weights, axis=0) - float(np.log(num_samples))

    def negative_elbo(self, dataset, num_batches=None):
        """Mean negative ELBO (nats per image, beta=1) over a dataset of batches."""
        total, count = 0.0, 0
        for i, batch in enumerate(dataset):
            if num_batches is not None and i >= num_batches:
                break
            images, labels = self.split_batch(batch)
            total += float(-ops.sum(self.elbo(images, labels)))
            count += int(ops.shape(images)[0])
        return total / max(count, 1)

    # ------------------------------------------------------------------ export
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

        seeds_spec = tf.TensorSpec((None,), tf.int32, name="seeds")
        return {
            "decode": (sample, [z_spec]),
            "sample": (lambda seeds: {"images": self.sample_from_seeds(seeds)}, [seeds_spec]),
            "encode": (encode, [images_spec]),
            "reconstruct": (reconstruct, [images_spec]),
        }

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


@register_family("beta_vae")
class BetaVAE(VAE):
    """A VAE whose KL term weighs `beta` (default 4) > 1: more disentangled, blurrier codes.

    Examples:
        >>> BetaVAE(latent_dim=8).beta
        4.0
    """

    benchmark_config = dict(latent_dim=16, beta=4.0)
    benchmark_reference = "vae"
    preset = PresetSpec(
        "beta_vae_mnist",
        "A convolutional beta-VAE (beta 4, 16-d latent) for 28x28 digits: smoother, more "
        "disentangled latent traversals than the VAE's.",
        "test_loss")
    recipe = Recipe(epochs=30, model_args={"latent_dim": 16, "beta": 4.0})

    smoke_config = dict(latent_dim=2, filters=(4, 8), dense_units=8, beta=4.0)

    def __init__(self, beta=4.0, **kwargs):
        super().__init__(beta=beta, **kwargs)


@register_family("cvae")
class ConditionalVAE(LabelConditioned, VAE):
    """VAE conditioned on a class label: its one-hot vector joins encoder and decoder inputs.

    The encoder sees the image with the one-hot label as extra constant channels; the decoder
    sees `[z, one_hot]`. Batches are `(images, labels)` with integer labels.

    Examples:
        >>> import numpy as np
        >>> cvae = ConditionalVAE(latent_dim=2, num_classes=10)
        >>> tuple(cvae.sample(3, labels=np.array([0, 1, 2])).shape)
        (3, 28, 28, 1)
    """

    benchmark_config = dict(latent_dim=16, num_classes=10)
    benchmark_reference = "vae"
    preset = PresetSpec(
        "cvae_mnist",
        "A conditional VAE (16-d latent, one-hot digit label joined to the encoder and "
        "decoder inputs) for 28x28 digits.",
        "class_consistency")
    recipe = Recipe(epochs=30, model_args={"latent_dim": 16})

    smoke_config = dict(latent_dim=2, filters=(4, 8), dense_units=8, num_classes=3)

    def __init__(self, num_classes=10, **kwargs):
        self.num_classes = size("num_classes", num_classes, least=2)
        super().__init__(**kwargs)

    def build_encoder(self):
        return conv_encoder(self.image_shape, self.latent_dim, filters=self.filters,
                            dense_units=self.dense_units, condition_dim=self.num_classes)

    def build_decoder(self):
        return conv_decoder(self.image_shape, self.latent_dim, filters=self.filters[::-1],
                            dense_units=self.dense_units, condition_dim=self.num_classes)

    def build(self, input_shape=None):
        self.encoder.build([(None, *self.image_shape), (None, self.num_classes)])
        self.decoder.build([(None, self.latent_dim), (None, self.num_classes)])
        self.built = True

    def encoder_inputs(self, images, labels):
        return [ops.convert_to_tensor(images, "float32"), self.one_hot(labels)]

    def decoder_inputs(self, z, labels):
        return [ops.convert_to_tensor(z, "float32"), self.one_hot(labels)]

    def call(self, inputs, training=False):
        images, labels = inputs
        mean, log_var = self.encode(images, labels, training=training)
        z = self.reparameterize(mean, log_var) if training else mean
        return self.decode(z, labels, training=training)

    def sample(self, num_images, seed=0, labels=None):
        """Samples of the requested classes, one per label; without labels the classes
        0, 1, ..., num_classes - 1 are cycled (row by row)."""
        return super().sample(num_images, seed=seed, labels=self.sample_labels(num_images, labels))

    def serving_endpoints(self):
        images_spec = tf.TensorSpec((None, *self.image_shape), tf.float32, name="images")
        z_spec = tf.TensorSpec((None, self.latent_dim), tf.float32, name="z")
        labels_spec = tf.TensorSpec((None,), tf.int32, name="labels")

        def sample(z, labels):
            return {"images": self.decode(z, labels)}

        def encode(images, labels):
            mean, log_var = self.encode(images, labels)
            return {"mean": mean, "log_var": log_var}

        def reconstruct(images, labels):
            return {"images": self.reconstruct(images, labels)}

        seeds_spec = tf.TensorSpec((None,), tf.int32, name="seeds")
        return {
            "decode": (sample, [z_spec, labels_spec]),
            "sample": (lambda seeds, labels: {"images": self.sample_from_seeds(seeds, labels)},
                       [seeds_spec, labels_spec]),
            "encode": (encode, [images_spec, labels_spec]),
            "reconstruct": (reconstruct, [images_spec, labels_spec]),
        }

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config
