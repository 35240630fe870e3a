"""PixelCNN: an autoregressive image model with an exact likelihood.

Each of the `levels` (256) intensity values of each pixel gets a softmax probability given
every earlier pixel (masked convolutions, `keras_gen.networks.masked`). Training minimises the
exact negative log-likelihood; `log_prob` reports it in bits per dimension
(`nats / (h * w * c * ln 2)`, 8 for a uniform model). Sampling runs one network pass per pixel
inside a `tf.function` loop, vectorised over the batch, with Gumbel-max noise drawn from a
seed per image (the same seed gives the same image anywhere, the SavedModel included).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen.networks.masked import gated_pixelcnn_network, pixelcnn_network
from keras_gen.training import GenerativeModel, first_element, register_family


@register_family("pixelcnn")
class PixelCNN(GenerativeModel):
    """PixelCNN on images in [0, 1], quantised to `levels` values; `gated=True` uses the gated
    PixelCNN (vertical and horizontal stacks, no blind spot). The default 15 blocks give 18 rows
    of context above a pixel; keras.io's 5 give 8 and draw strokes, not digits
    (`benchmarks/results/pixelcnn_diffusion.md`).

    Example:
    >>> import numpy as np
    >>> model = PixelCNN(image_shape=(8, 8, 1), filters=8, num_blocks=1)
    >>> model.compile(optimizer="adam")
    >>> x = np.random.rand(4, 8, 8, 1).astype("float32")
    >>> sorted(model.fit(x, epochs=1, verbose=0).history)
    ['bits_per_dim', 'loss']
    """

    loss_names = ("loss", "bits_per_dim")
    default_signature = "log_prob"
    smoke_config = dict(filters=4, num_blocks=1)

    def __init__(self, image_shape=(28, 28, 1), filters=64, num_blocks=15, levels=256, gated=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.filters, self.num_blocks, self.levels = int(filters), int(num_blocks), int(levels)
        self.gated = bool(gated)
        self.num_dims = int(np.prod(self.image_shape))
        build = gated_pixelcnn_network if self.gated else pixelcnn_network
        with self.network_policy():
            self.network = build(self.image_shape, filters=self.filters,
                                 num_blocks=self.num_blocks, levels=self.levels)
        self.built = True

    def to_levels(self, images):
        """Images in [0, 1] -> integer levels 0 .. levels - 1."""
        levels = ops.round(ops.clip(ops.cast(images, "float32"), 0.0, 1.0) * (self.levels - 1))
        return ops.cast(levels, "int32")

    def network_input(self, levels):
        return ops.cast(levels, "float32") / (self.levels - 1) * 2.0 - 1.0

    def negative_log_likelihood(self, images, training=False):
        """Exact -log p(x) per image in nats."""
        levels = self.to_levels(images)
        logits = ops.cast(self.network(self.network_input(levels), training=training), "float32")
        per_value = ops.sparse_categorical_crossentropy(levels, logits, from_logits=True)
        return ops.sum(ops.reshape(per_value, (ops.shape(per_value)[0], -1)), axis=-1)

    def log_prob(self, images):
        """Negative log-likelihood per image in bits per dimension (lower is better)."""
        return self.negative_log_likelihood(images) / (self.num_dims * math.log(2.0))

    def compute_losses(self, data, training=False):
        nll = self.negative_log_likelihood(first_element(data), training=training)
        return {"loss": nll, "bits_per_dim": nll / (self.num_dims * math.log(2.0))}

    def call(self, images, training=False):
        return self.network(self.network_input(self.to_levels(images)), training=training)

    # ------------------------------------------------------------------ sampling
    def gumbel_noise(self, seeds):
        """Gumbel noise `(batch, h, w, c, levels)`, one stateless stream per integer seed."""
        seeds = tf.cast(seeds, tf.int64)
        shape = (*self.image_shape, self.levels)
        uniform = tf.map_fn(
            lambda s: tf.random.stateless_uniform(shape, tf.stack([s, 0]), minval=1e-6, maxval=1.0),
            seeds, fn_output_signature=tf.float32)
        return -tf.math.log(-tf.math.log(uniform))

    def _complete(self, levels, seeds, start):
        """Sample pixel positions `start..` of `levels` (raster order), all channels together."""
        noise = self.gumbel_noise(seeds)
        h, w, _ = self.image_shape
        levels = tf.cast(levels, tf.int32)

        def body(position, levels):
            row, col = position // w, position % w
            logits = tf.cast(self.network(self.network_input(levels), training=False), tf.float32)
            choice = tf.argmax(logits[:, row, col] + noise[:, row, col], axis=-1, output_type=tf.int32)
            one_hot = tf.one_hot(row * w + col, h * w, dtype=tf.int32)
            mask = tf.reshape(one_hot, (1, h, w, 1))
            levels = levels * (1 - mask) + choice[:, tf.newaxis, tf.newaxis, :] * mask
            return position + 1, levels

        _, levels = tf.while_loop(lambda p, _: p < h * w, body, (tf.constant(start), levels))
        return tf.cast(levels, tf.float32) / (self.levels - 1)

    @tf.function(reduce_retracing=True)
    def sample_from_seeds(self, seeds):
        """One image in [0, 1] per integer seed."""
        seeds = tf.cast(seeds, tf.int32)
        start = tf.zeros((tf.shape(seeds)[0], *self.image_shape), tf.int32)
        return self._complete(start, seeds, 0)

    def sample(self, num_images, seed=0):
        """`num_images` samples in [0, 1] (NumPy) from seeds `seed, seed + 1, ...`."""
        seeds = np.arange(seed, seed + int(num_images), dtype=np.int32)
        return ops.convert_to_numpy(self.sample_from_seeds(seeds))

    def inpaint(self, images, known_rows=None, seed=0):
        """Keep the top `known_rows` rows (default: half) of each image and sample the rest."""
        images = np.asarray(images, np.float32)
        known_rows = self.image_shape[0] // 2 if known_rows is None else int(known_rows)
        seeds = np.arange(seed, seed + len(images), dtype=np.int32)
        levels = self.to_levels(images)
        return self._complete(levels, seeds, known_rows * self.image_shape[1])

    def serving_endpoints(self):
        images_spec = tf.TensorSpec((None, *self.image_shape), tf.float32, name="images")
        seeds_spec = tf.TensorSpec((None,), tf.int32, name="seeds")
        return {
            "log_prob": (lambda images: {"bits_per_dim": self.log_prob(images)}, [images_spec]),
            "sample": (lambda seeds: {"images": self._complete(
                tf.zeros((tf.shape(seeds)[0], *self.image_shape), tf.int32), seeds, 0)}, [seeds_spec]),
        }

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=list(self.image_shape), filters=self.filters,
                      num_blocks=self.num_blocks, levels=self.levels, gated=self.gated)
        return config
