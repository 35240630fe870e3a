"""Debiasing VAE (DB-VAE; Amini et al., 2019, as taught in MIT 6.S191).

A binary classifier whose encoder also parameterises a VAE. The classifier loss applies to
every image; the VAE loss only to positive images, so the latent space learns the variety of
the positive class. Each epoch, `DebiasingSampler` encodes the positive training images,
estimates the density of their latent means with one histogram per dimension, and samples
positives with probability inversely proportional to it (smoothed by `alpha`): rare kinds of
positives are seen more often, and the classifier stops ignoring them.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen import losses as L
from keras_gen.data.pipelines import without_autotuner
from keras_gen.models.vae import VAE
from keras_gen.networks import conv_classifier_encoder


def debiasing_weights(latent_means, bins=10, alpha=0.001):
    """Sampling probabilities of examples from their latent means (sums to 1).

    For each latent dimension: a histogram density of the means, smoothed by `alpha` and
    normalised, gives each example the weight 1 / density of its bin; an example's weight is the
    largest over dimensions (it is rare if it is rare along any dimension).

    Example:
    >>> mu = np.concatenate([np.zeros((99, 1)), np.full((1, 1), 5.0)])
    >>> p = debiasing_weights(mu, bins=5)
    >>> bool(p[-1] > 50 * p[0])
    True
    """
    latent_means = np.asarray(latent_means, np.float64)
    if latent_means.ndim != 2 or len(latent_means) == 0:
        raise ValueError(f"latent_means must be (n, latent_dim), got {latent_means.shape}")
    weights = np.zeros(len(latent_means))
    for column in latent_means.T:
        density, edges = np.histogram(column, bins=bins, density=True)
        edges[0], edges[-1] = -np.inf, np.inf
        which = np.clip(np.digitize(column, edges) - 1, 0, bins - 1)
        smoothed = density + alpha
        smoothed = smoothed / smoothed.sum()
        dim_weights = 1.0 / smoothed[which]
        weights = np.maximum(weights, dim_weights / dim_weights.sum())
    return weights / weights.sum()


@keras.saving.register_keras_serializable(package="keras_gen")
class DBVAE(VAE):
    """Classifier + VAE sharing an encoder; batches are `(images, labels)` with labels 0 / 1.

    `loss = classification_loss + vae_weight * [label == 1] * (reconstruction + beta * kl)`,
    `vae_weight` defaulting to 1 / (number of pixels) so the per-image negative ELBO counts
    like a per-pixel loss beside the classifier's cross-entropy. With `vae_weight=0` it is a
    plain classifier with the same network (the baseline).

    Example:
    >>> import numpy as np
    >>> model = DBVAE(latent_dim=4)
    >>> model.compile(optimizer="adam")
    >>> x = np.random.rand(8, 28, 28, 1).astype("float32")
    >>> history = model.fit(x, np.array([0, 1] * 4), epochs=1, verbose=0)
    >>> tuple(model.classify(x).shape)
    (8,)
    """

    needs_labels = True
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

    @classmethod
    def task_data(cls, dataset, batch_size, seed=0, image_size=None):
        """Training data for `apps/train.py dbvae` (see `biased_task_training`)."""
        return {**biased_task_training(dataset, batch_size=batch_size, seed=seed), "model_args": {}}

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


class DebiasingSampler(keras.callbacks.Callback):
    """Balanced training batches whose positives are resampled by DB-VAE's latent rarity.

    `sampler.dataset` yields endless `(images, labels)` batches: half positives drawn with the
    current probabilities, half negatives drawn uniformly. As a callback, at the start of each
    epoch it re-encodes the positives with the model and updates the probabilities with
    `debiasing_weights` (`debias=False` keeps them uniform: the baseline).

    Example:
    >>> x = np.random.rand(20, 28, 28, 1).astype("float32")
    >>> sampler = DebiasingSampler(x, np.array([0, 1] * 10), batch_size=8)
    >>> [tuple(t.shape) for t in next(iter(sampler.dataset))]
    [(8, 28, 28, 1), (8,)]
    """

    def __init__(self, images, labels, batch_size=64, bins=10, alpha=0.001, debias=True, seed=0):
        super().__init__()
        images = np.asarray(images, np.float32)
        labels = np.asarray(labels).reshape(-1)
        if set(np.unique(labels)) - {0, 1}:
            raise ValueError("DebiasingSampler needs labels 0 or 1")
        self.positives = images[labels == 1]
        self.negatives = images[labels == 0]
        if len(self.positives) == 0 or len(self.negatives) == 0:
            raise ValueError("DebiasingSampler needs both positive and negative examples")
        self.batch_size = int(batch_size)
        self.bins, self.alpha, self.debias, self.seed = int(bins), float(alpha), debias, int(seed)
        n = len(self.positives)
        self.probabilities = np.full(n, 1.0 / n)
        self._log_probabilities = tf.Variable(np.log(self.probabilities), dtype=tf.float32,
                                              trainable=False)
        self.history = []
        self.dataset = self._make_dataset()

    def _make_dataset(self):
        positives = tf.constant(self.positives)
        negatives = tf.constant(self.negatives)
        n_pos = self.batch_size // 2
        n_neg = self.batch_size - n_pos
        log_p = self._log_probabilities
        seed = self.seed

        @tf.autograph.experimental.do_not_convert  # straight-line code: nothing to convert
        def draw(step):
            seeds = tf.stack([tf.cast(seed, tf.int64), step])
            pos_idx = tf.random.stateless_categorical(log_p[tf.newaxis], n_pos, seed=seeds)[0]
            neg_idx = tf.random.stateless_uniform((n_neg,), seeds + 1, 0,
                                                  tf.shape(negatives, tf.int64)[0], tf.int64)
            images = tf.concat([tf.gather(positives, pos_idx), tf.gather(negatives, neg_idx)], 0)
            labels = tf.concat([tf.ones(n_pos, tf.int32), tf.zeros(n_neg, tf.int32)], 0)
            return images, labels

        # no prefetch: a batch drawn ahead would use the previous epoch's probabilities
        return without_autotuner(tf.data.Dataset.counter().map(draw))

    def update(self, model):
        """Recompute the positives' sampling probabilities from `model`'s latent means."""
        if self.debias:
            self.probabilities = debiasing_weights(model.latent_means(self.positives),
                                                   self.bins, self.alpha)
            self._log_probabilities.assign(np.log(self.probabilities).astype(np.float32))
        self.history.append(self.probabilities.copy())
        return self.probabilities

    def on_epoch_begin(self, epoch, logs=None):
        self.update(self.model)


def biased_task_training(source="mnist_5k", batch_size=64, seed=0, debias=True, **task_kwargs):
    """What `apps/train.py dbvae` trains on: the biased "is it a 7?" task of real digits.

    Returns `{"train": endless dataset, "validation": test dataset, "callbacks": [sampler],
    "steps_per_epoch": int, "task": arrays}` (see `keras_gen.data.biased`).
    """
    from keras_gen.data import OFFLINE_SOURCES, from_arrays
    from keras_gen.data.biased import biased_digit_task

    if source not in OFFLINE_SOURCES:
        raise ValueError(f"dbvae builds its biased 'is it a 7?' task from an offline digit "
                         f"source {OFFLINE_SOURCES}, not {source!r}")
    task = biased_digit_task(source=source, seed=seed, **task_kwargs)
    x, y, _ = task["train"]
    sampler = DebiasingSampler(x, y, batch_size=batch_size, debias=debias, seed=seed)
    x_test, y_test, _ = task["test"]
    return {
        "train": sampler.dataset,
        "validation": from_arrays(x_test, y_test, batch_size=256, shuffle=False),
        "callbacks": [sampler],
        "steps_per_epoch": max(1, len(x) // batch_size),
        "task": task,
    }
