"""PixelCNN: an autoregressive image model with an exact likelihood; the shared base of the
autoregressive families (PixelCNN here, PixelRNN in `keras_gen.models.pixelrnn`).

Each of the `levels` (256) intensity values of each pixel gets a probability given every
earlier pixel (masked convolutions, `keras_gen.networks.masked`; or LSTMs,
`keras_gen.networks.pixelrnn`): a softmax per channel (`likelihood="categorical"`), or
PixelCNN++'s discretised logistic mixture, whose colour channels are drawn R, then G, then B
within a pixel (`"logistic_mixture"`, `keras_gen.likelihoods`). Training minimises the exact
negative log-likelihood; `log_prob` reports it in bits per dimension
(`nats / (h * w * c * ln 2)`, 8 for a uniform model). Sampling draws one pixel at a time
inside a `tf.function` loop, vectorised over the batch, with noise from a seed per image (the
same seed gives the same image anywhere, the SavedModel included).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen import likelihoods
from keras_gen.networks.incremental import CachedPixelNetwork
from keras_gen.networks.masked import gated_pixelcnn_network, pixelcnn_network
from keras_gen.networks.shifted import shifted_pixelcnn_network
from keras_gen.training import GenerativeModel, first_element, register_family
from keras_gen.training.arguments import image_shape_of, size
from keras_gen.training.recipe import PresetSpec, Recipe


class AutoregressiveImageModel(GenerativeModel):
    """What every autoregressive image family shares: images in [0, 1] quantised to `levels`
    values; a network (`build_network`) from images in [-1, 1] to `head` values per pixel
    (`(channels, levels)` logits, or the `likelihood`'s parameters) that see only earlier
    pixels; the exact likelihood; seeded sampling and inpainting in raster order; and the
    `log_prob` / `sample` / `inpaint` exports."""

    loss_names = ("loss", "bits_per_dim")
    default_signature = "log_prob"
    #: drawn pixel by pixel: 16 images keep the end-of-epoch grid a small share of a short run
    grid_images = 16

    def __init__(self, image_shape=(28, 28, 1), levels=256, likelihood="categorical",
                 mixtures=5, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = image_shape_of(image_shape)
        self.levels = size("levels", levels, least=2)
        self.likelihood, self.mixtures = likelihood, int(mixtures)
        self.head = likelihoods.head_shape(likelihood, self.image_shape[-1], self.levels,
                                           self.mixtures)
        self.num_dims = int(np.prod(self.image_shape))
        with self.network_policy():
            self.network = self.build_network()
        self.cached_network = self.build_cached_network()
        self.built = True

    def build_network(self):
        """The causal network (subclasses)."""
        raise NotImplementedError

    def build_cached_network(self):
        """A pixel-at-a-time evaluator of the network for fast exact sampling, or None
        (sampling then runs the whole network per pixel)."""
        return None

    def to_levels(self, images):
        """Images in [0, 1] -> integer levels 0 .. levels - 1."""
        levels = ops.round(ops.clip(ops.cast(images, "float32"), 0.0, 1.0) * (self.levels - 1))
        return ops.cast(levels, "int32")

    def network_input(self, levels):
        return ops.cast(levels, "float32") / (self.levels - 1) * 2.0 - 1.0

    def negative_log_likelihood(self, images, training=False):
        """Exact -log p(x) per image in nats."""
        levels = self.to_levels(images)
        outputs = ops.cast(self.network(self.network_input(levels), training=training), "float32")
        if self.likelihood == "categorical":
            per_value = ops.sparse_categorical_crossentropy(levels, outputs, from_logits=True)
        else:
            per_value = likelihoods.logistic_mixture_nll(levels, outputs[..., 0, :], self.levels,
                                                         self.mixtures)
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
    def pixel_noise(self, seeds):
        """Uniform noise in (0, 1) `(batch, h, w, units)`, what drawing each pixel needs
        (`keras_gen.likelihoods.noise_units`), one stateless stream per integer seed."""
        seeds = tf.cast(seeds, tf.int64)
        units = likelihoods.noise_units(self.likelihood, self.image_shape[-1], self.levels,
                                        self.mixtures)
        shape = (*self.image_shape[:2], units)
        return tf.map_fn(
            lambda s: tf.random.stateless_uniform(shape, tf.stack([s, 0]), minval=1e-6,
                                                  maxval=1.0 - 1e-6),
            seeds, fn_output_signature=tf.float32)

    def draw(self, outputs, uniform):
        """Integer levels `(b, c)` of one pixel from the network's `outputs` there
        `(b, groups, size)` and that pixel's `uniform` noise `(b, units)`."""
        if self.likelihood == "categorical":
            return likelihoods.draw_categorical(outputs, uniform)
        return likelihoods.draw_logistic_mixture(outputs[:, 0], uniform, self.levels,
                                                 self.mixtures, self.image_shape[-1])

    def _complete(self, levels, seeds, known_rows, cached=None):
        """Draw in raster order every pixel of `levels` (integer levels `(b, h, w, c)`) below
        each image's `known_rows` (one count per image), all channels of a pixel together.

        `cached` (default: whenever the model has a cached network) computes only the
        activations at each new pixel (`keras_gen.networks.incremental`); otherwise the whole
        network runs once per pixel. Both make the same draws from the same noise: the logits
        agree up to float rounding.
        """
        cached = (self.cached_network is not None) if cached is None else bool(cached)
        noise = self.pixel_noise(seeds)
        h, w, _ = self.image_shape
        levels = tf.cast(levels, tf.int32)
        known = tf.clip_by_value(tf.cast(known_rows, tf.int32), 0, h) * w  # known positions
        start = tf.reduce_min(tf.concat([known, [h * w]], axis=0))
        network = self.cached_network
        if cached and network.replays_known:  # LSTM states: known pixels are replayed
            start = tf.constant(0)
        caches = network.start_caches(self.network_input(levels), start) if cached else ()

        def body(position, levels, caches):
            row, col = position // w, position % w
            if cached:
                outputs, caches = network.logits_at(caches, position)
            else:
                outputs = tf.cast(self.network(self.network_input(levels), training=False),
                                  tf.float32)[:, row, col]
            choice = self.draw(outputs, noise[:, row, col])
            choice = tf.where((position < known)[:, tf.newaxis], levels[:, row, col], choice)
            if cached:
                caches = network.write_pixel(caches, position, self.network_input(choice))
            mask = tf.reshape(tf.one_hot(position, h * w, dtype=tf.int32), (1, h, w, 1))
            levels = levels * (1 - mask) + choice[:, tf.newaxis, tf.newaxis, :] * mask
            return position + 1, levels, caches

        _, levels, _ = tf.while_loop(lambda p, *_: p < h * w, body, (start, levels, caches))
        return tf.cast(levels, tf.float32) / (self.levels - 1)

    @tf.function(reduce_retracing=True)
    def sample_from_seeds(self, seeds, cached=None):
        """One image in [0, 1] per integer seed (`cached=False`: the naive sampler)."""
        seeds = tf.cast(seeds, tf.int32)
        batch = tf.shape(seeds)[0]
        return self._complete(tf.zeros((batch, *self.image_shape), tf.int32), seeds,
                              tf.zeros((batch,), tf.int32), cached)

    @tf.function(reduce_retracing=True)
    def inpaint_from_seeds(self, images, known_rows, seeds):
        """Keep the top `known_rows[i]` rows of image i (in [0, 1]) and draw the rest from
        seed `seeds[i]`."""
        return self._complete(self.to_levels(images), tf.cast(seeds, tf.int32), known_rows)

    def sample(self, num_images, seed=0):
        """`num_images` samples in [0, 1] (NumPy) from seeds `seed, seed + 1, ...`."""
        seeds = np.arange(seed, seed + int(num_images), dtype=np.int32)
        return ops.convert_to_numpy(self.sample_from_seeds(seeds))

    def inpaint(self, images, known_rows=None, seed=0):
        """Keep the top `known_rows` rows (default: half; or one count per image) of each
        image and sample the rest from seeds `seed, seed + 1, ...`."""
        images = np.asarray(images, np.float32)
        known_rows = self.image_shape[0] // 2 if known_rows is None else known_rows
        known_rows = np.broadcast_to(np.asarray(known_rows, np.int32), (len(images),))
        seeds = np.arange(seed, seed + len(images), dtype=np.int32)
        return ops.convert_to_numpy(self.inpaint_from_seeds(images, known_rows, seeds))

    def serving_endpoints(self):
        images_spec = tf.TensorSpec((None, *self.image_shape), tf.float32, name="images")
        seeds_spec = tf.TensorSpec((None,), tf.int32, name="seeds")
        rows_spec = tf.TensorSpec((None,), tf.int32, name="known_rows")
        return {
            "log_prob": (lambda images: {"bits_per_dim": self.log_prob(images)}, [images_spec]),
            "sample": (lambda seeds: {"images": self.sample_from_seeds(seeds)}, [seeds_spec]),
            "inpaint": (lambda images, known_rows, seeds: {
                "images": self.inpaint_from_seeds(images, known_rows, seeds)},
                [images_spec, rows_spec, seeds_spec]),
        }

    def input_ranges(self):
        return {**super().input_ranges(), "known_rows": (0, self.image_shape[0])}

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=list(self.image_shape), levels=self.levels,
                      likelihood=self.likelihood, mixtures=self.mixtures)
        return config


@register_family("pixelcnn")
class PixelCNN(AutoregressiveImageModel):
    """PixelCNN on images in [0, 1], quantised to `levels` values. `network="masked"` (the
    default) stacks masked convolutions; `"gated"` (or `gated=True`) is the gated PixelCNN
    (vertical and horizontal stacks, no blind spot); `"pixelcnn++"` is PixelCNN++'s two-stream
    network of shifted convolutions that downsamples twice with skip connections
    (`keras_gen.networks.shifted`; `num_blocks` per stage, 2 to 5 is typical), so every pixel
    sees the whole image above it. The masked default's 15 blocks give 18 rows of context above
    a pixel; keras.io's 5 give 8 and draw strokes, not digits
    (`benchmarks/results/pixelcnn_diffusion.md`). `likelihood="logistic_mixture"` (with
    `mixtures` components) is PixelCNN++'s discretised logistic mixture, R -> G -> B within a
    colour pixel; the default `"categorical"` is a 256-way softmax per channel. `dropout`
    (PixelCNN++'s regulariser) drops features inside each block while training. Sampling and
    inpainting with the masked and gated networks compute only the activations at each new
    pixel (`sample_from_seeds(..., cached=False)` runs the whole network per pixel instead, with
    the same draws); PixelCNN++'s network runs whole per pixel.

    Examples:
        >>> import numpy as np
        >>> model = PixelCNN(image_shape=(8, 8, 1), filters=8, num_blocks=1)
        >>> model.compile(optimizer="adam")
        >>> x = np.random.rand(4, 8, 8, 1).astype("float32")
        >>> sorted(model.fit(x, epochs=1, verbose=0).history)
        ['bits_per_dim', 'loss']
    """

    deterministic_training = True
    benchmark_config = dict(filters=32, num_blocks=5, gated=True)
    benchmark_reference = "pixelcnn"
    preset = PresetSpec(
        "pixelcnn_mnist",
        "A small masked PixelCNN (32 filters, 15 blocks) of binarised 28x28 digits, exact "
        "likelihood, with the cached sampler.",
        "test_bits_per_dim", samples=200)
    recipe = Recipe(epochs=1000, minutes=4, batch_size=16,
                    model_args={"filters": 32, "num_blocks": 15, "levels": 2})

    smoke_config = dict(filters=4, num_blocks=1)

    #: `network` choices and their builders.
    networks = {"masked": pixelcnn_network, "gated": gated_pixelcnn_network,
                "pixelcnn++": shifted_pixelcnn_network}

    def __init__(self, image_shape=(28, 28, 1), filters=64, num_blocks=15, levels=256, gated=False,
                 dropout=0.0, network="masked", **kwargs):
        if network not in self.networks:
            raise ValueError(f"network must be one of {sorted(self.networks)}, got {network!r}")
        if gated and network not in ("masked", "gated"):
            raise ValueError(f"gated=True is network='gated', not {network!r}")
        self.network_kind = "gated" if gated else network
        self.filters, self.num_blocks = size("filters", filters), size("num_blocks", num_blocks)
        self.dropout = float(dropout)
        super().__init__(image_shape=image_shape, levels=levels, **kwargs)

    def build_network(self):
        return self.networks[self.network_kind](
            self.image_shape, filters=self.filters, num_blocks=self.num_blocks, head=self.head,
            dropout=self.dropout)

    def build_cached_network(self):
        """The masked and the gated PixelCNN sample with cached activations (the gated one's
        vertical stack a row at a time); PixelCNN++'s strided network runs whole per pixel."""
        if self.network_kind == "pixelcnn++":
            return None
        return CachedPixelNetwork(self.network, self.image_shape)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, num_blocks=self.num_blocks,
                      network=self.network_kind, dropout=self.dropout)
        return config
