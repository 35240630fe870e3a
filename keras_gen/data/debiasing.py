"""The data side of DB-VAE: debiasing weights and the sampler that resamples batches by them.

Each epoch, `DebiasingSampler` encodes the positive training images with the model, estimates
the density of their latent means with one histogram per dimension (`debiasing_weights`), and
samples positives with probability inversely proportional to it (smoothed by `alpha`): rare
kinds of positives are seen more often, and the classifier stops ignoring them.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_gen.data.biased import biased_digit_task, biased_face_task
from keras_gen.data.datasets import COLOUR_SOURCES, DIGIT_SOURCES
from keras_gen.data.pipelines import from_arrays, without_autotuner


def debiasing_weights(latent_means, bins=10, alpha=0.001):
    """Sampling probabilities of examples from their latent means (sums to 1).

    For each latent dimension: a histogram density of the means, smoothed by `alpha` and
    normalised, gives each example the weight 1 / density of its bin; an example's weight is the
    largest over dimensions (it is rare if it is rare along any dimension).

    Examples:
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



class DebiasingSampler(keras.callbacks.Callback):
    """Balanced training batches whose positives are resampled by DB-VAE's latent rarity.

    `sampler.dataset` yields endless `(images, labels)` batches: half positives drawn with the
    current probabilities, half negatives drawn uniformly. As a callback, at the start of each
    epoch it re-encodes the positives with the model and updates the probabilities with
    `debiasing_weights` (`debias=False` keeps them uniform: the baseline).

    Examples:
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


def biased_task_training(source="mnist_5k", batch_size=64, seed=0, debias=True, image_size=None,
                         **task_kwargs):
    """What DB-VAE trains on: the biased "is it a 7?" task of real digits (a digit source) or
    the biased "is it a face?" task of colour emoji (an openmoji source).

    Returns `{"train": endless dataset, "validation": test dataset, "callbacks": [sampler],
    "steps_per_epoch": int, "task": arrays}` (see `keras_gen.data.biased`).
    """
    if source in DIGIT_SOURCES:
        if image_size is not None:
            raise ValueError(f"the 'is it a 7?' task of {source!r} is 28x28; an image size "
                             f"applies to the openmoji sources only")
        task = biased_digit_task(source=source, seed=seed, **task_kwargs)
    elif source in COLOUR_SOURCES:
        task = biased_face_task(source=source, seed=seed, image_size=image_size, **task_kwargs)
    else:
        raise ValueError(f"dbvae builds its biased task from a digit source {DIGIT_SOURCES} "
                         f"('is it a 7?') or an openmoji source {COLOUR_SOURCES} "
                         f"('is it a face?'), not {source!r}")
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
