"""A small StyleGAN2 (Karras et al., 2019, 2020) on the GAN family's training.

The generator is a mapping network z -> w and a synthesis network driven by one w per layer
(`keras_gen.networks.stylegan`). Training adds to GAN's step only what StyleGAN needs:

- style mixing: with probability `style_mixing` (0.9) an example's layers from a random
  crossover on read the w of a second z, so neighbouring layers do not learn to rely on each
  other's styles;
- the non-saturating logistic loss, and lazy R1: `r1_gamma / 2 * ||grad_x D(x)||^2` on real
  images, computed and applied only every `r1_interval` (16) steps and scaled by the interval,
  as a second discriminator `Update` of the shared core;
- a tracked mean `w_avg` (an EMA of the mapped w over training) for the truncation trick in
  w space, `w' = w_avg + psi * (w - w_avg)` (`psi = 1`: none; 0: the mean image);
- an EMA generator for sampling and export.

Exported signatures: `generate(z)`, `sample(seeds, truncation)`, `mapping(z) -> w`,
`synthesis(w) -> images` (the same w for every layer) and `style_mix(seeds_a, seeds_b,
crossover)` (layers below `crossover` take A's w: the coarse styles; the rest B's: the fine
ones), plus `*_bytes` twins of those returning images.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from keras_gen import losses as L
from keras_gen.latent import normal_from_seeds, truncate_w
from keras_gen.models.gan import AdversarialModel
from keras_gen.networks.stylegan import (
    mapping_network,
    num_ws,
    style_discriminator,
    synthesis_network,
)
from keras_gen.training import Update, first_element, register_family
from keras_gen.training.arguments import size
from keras_gen.training.optimizers import OptimizerSpec
from keras_gen.training.recipe import ADVERSARIAL_RUN_ARGS, PresetSpec, Recipe

@keras.saving.register_keras_serializable(package="keras_gen")
class StyleMix(layers.Layer):
    """`[w_a, w_b, crossover]` -> `ws` of shape `(batch, num_ws, w_dim)`: layer i reads w_a
    where `i < crossover` (one value per example, shape `(batch, 1)`), w_b from there on.

    Examples:
        >>> import numpy as np
        >>> ws = StyleMix(4)([np.zeros((1, 2), "float32"), np.ones((1, 2), "float32"),
        ...                  np.array([[1.0]], "float32")])
        >>> np.asarray(ws)[0, :, 0].tolist()
        [0.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, num_ws, **kwargs):
        super().__init__(**kwargs)
        self.num_ws = int(num_ws)

    def call(self, inputs):
        w_a, w_b, crossover = inputs
        layer = ops.arange(self.num_ws, dtype="float32")[None, :, None]
        from_a = ops.cast(layer < ops.cast(crossover, "float32")[:, :, None], w_a.dtype)
        return from_a * w_a[:, None, :] + (1.0 - from_a) * w_b[:, None, :]

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], self.num_ws, input_shapes[0][-1])

    def get_config(self):
        return {**super().get_config(), "num_ws": self.num_ws}


@register_family("stylegan")
class StyleGAN(AdversarialModel):
    """StyleGAN2-style GAN: mapping network, modulated convolutions, noise inputs, style
    mixing, lazy R1, truncation in w space, EMA generator.

    Args:
        image_shape: `(height, width, channels)`, sides halving down to 4..7 (28, 32, 64).
        latent_dim: size of z; `w_dim` that of w (default: latent_dim).
        mapping_layers: depth of the mapping MLP (its learning rate is 0.01 of the rest).
        base_filters: filters at the image size, doubling per smaller level up to
            `max_filters`.
        max_filters: the cap on filters.
        style_mixing: probability of mixing two ws per training example.
        r1_gamma: the R1 weight.
        r1_interval: how often (in steps) R1 is applied.
        w_avg_decay: decay of the tracked mean w.
        output_activation: the synthesis network's last activation, `"tanh"` (default) or
            `"linear"` (StyleGAN2's).
        **kwargs: the training's (`AdversarialModel`: augment, n_critic, ...).

    Examples:
        >>> gan = StyleGAN(image_shape=(16, 16, 3), latent_dim=8, base_filters=4)
        >>> gan.num_ws, [u.every for u in gan.updates()]
        (6, [1, 16, 1])
        >>> gan.sample(2, truncation=0.7).shape
        (2, 16, 16, 3)
    """

    benchmark_config = {}
    benchmark_reference = "stylegan"
    preset = PresetSpec(
        "stylegan_faces",
        "A small StyleGAN2 (at most 64 filters, mapping network, modulated convolutions, "
        "style mixing, lazy R1, EMA generator, tanh output) for 64x64 emoji faces.",
        "fid")
    recipe = Recipe(dataset="openmoji_faces", epochs=1000, minutes=6,
                    model_args={"max_filters": 64}, image_size=(32, 32), run_args=ADVERSARIAL_RUN_ARGS)
    #: the preset: 64x64 faces (where `openmoji_faces` renders sharp), batch 32, 12 epochs of
    #: 250 steps (82 minutes on 2 cores shared with other work); the quick default draws 32x32
    #: for 6 minutes
    preset_recipe = Recipe(dataset="openmoji_faces", epochs=12, batch_size=32,
                           model_args={"max_filters": 64}, image_size=(64, 64),
                           run_args={**ADVERSARIAL_RUN_ARGS, "steps_per_epoch": 250})

    takes_truncation = True  # psi, in w space (1: none)
    optimizer_spec = OptimizerSpec(2e-3, beta_1=0.0, beta_2=0.99, epsilon=1e-8)  # StyleGAN2's
    smoke_config = dict(latent_dim=4, w_dim=4, mapping_layers=2, base_filters=2, max_filters=4,
                        r1_interval=2, ema_decay=0.9)

    def __init__(self, image_shape=(32, 32, 3), latent_dim=128, w_dim=None, mapping_layers=4,
                 base_filters=32, max_filters=128, style_mixing=0.9, r1_gamma=0.01,
                 r1_interval=16, w_avg_decay=0.995, ema_decay=0.999, loss="non_saturating",
                 output_activation="tanh", **kwargs):
        self.base_filters = size("base_filters", base_filters)
        self.w_dim = size("w_dim", w_dim or latent_dim)
        self.mapping_layers = size("mapping_layers", mapping_layers, least=0)
        self.max_filters = size("max_filters", max_filters)
        self.style_mixing = float(style_mixing)
        if not 0.0 <= self.style_mixing <= 1.0:
            raise ValueError(f"style_mixing must be in [0, 1], got {style_mixing!r}")
        self.r1_gamma = float(r1_gamma)
        self.r1_interval = size("r1_interval", r1_interval)
        if self.r1_interval < 1:
            raise ValueError(f"r1_interval must be >= 1, got {r1_interval!r}")
        self.w_avg_decay = float(w_avg_decay)
        self.output_activation = str(output_activation)
        self.num_ws = num_ws(image_shape)
        super().__init__(image_shape=image_shape, latent_dim=latent_dim, loss=loss,
                         ema_decay=ema_decay, **kwargs)

    def build(self, input_shape=None):
        # assigned in the step on every replica alike (the first replica's value is kept)
        self.w_avg = self.add_weight(shape=(self.w_dim,), initializer="zeros", trainable=False,
                                     name="w_avg", aggregation="only_first_replica")
        super().build(input_shape)

    def build_networks(self):
        """`(generator, discriminator)`; the generator is `[z, z_mix, crossover] -> images`
        around the `mapping` and `synthesis` networks (layers of the same names)."""
        mapping = mapping_network(self.latent_dim, self.w_dim, mapping_layers=self.mapping_layers)
        synthesis = synthesis_network(self.image_shape, self.w_dim, base_filters=self.base_filters,
                                      max_filters=self.max_filters,
                                      output_activation=self.output_activation)
        z = keras.Input((self.latent_dim,), name="z")
        z_mix = keras.Input((self.latent_dim,), name="z_mix")
        crossover = keras.Input((1,), name="crossover")
        ws = StyleMix(self.num_ws, name="style_mix")([mapping(z), mapping(z_mix), crossover])
        generator = keras.Model([z, z_mix, crossover], synthesis(ws), name="generator")
        return generator, style_discriminator(self.image_shape, base_filters=self.base_filters,
                                              max_filters=self.max_filters)

    # ------------------------------------------------------------------ training
    def generator_inputs(self, z, labels):
        """z, a second z, and each example's crossover: a random layer in 1..num_ws-1 with
        probability `style_mixing`, else num_ws (no mixing)."""
        batch = ops.shape(z)[0]
        z_mix = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        cut = keras.random.randint((batch, 1), 1, self.num_ws, seed=self.seed_generator)
        mixing = keras.random.uniform((batch, 1), seed=self.seed_generator) < self.style_mixing
        return [z, z_mix, ops.where(mixing, ops.cast(cut, "float32"), float(self.num_ws))]

    def updates(self):
        """GAN's updates plus lazy R1, a second discriminator loss every `r1_interval` steps."""
        d_step, g_step = super().updates()
        return (d_step, Update("discriminator", "r1_penalty", every=self.r1_interval), g_step)

    def compute_losses(self, data, training=False):
        """GAN's losses plus `r1_penalty`, computed (under `tf.cond`) only on the steps it
        applies, as `r1_gamma / 2 * r1_interval * ||grad_x D(x)||^2` per real image."""
        losses = super().compute_losses(data, training=training)
        real, _ = self.split_batch(data)
        real = ops.cast(real, "float32")
        if training and self.r1_gamma:
            penalty = tf.cond(
                self.is_due(self.r1_interval),
                lambda: L.r1_penalty(lambda x: self.discriminator(x, training=True), real),
                lambda: tf.zeros((tf.shape(real)[0],)))
            losses["r1_penalty"] = 0.5 * self.r1_gamma * self.r1_interval * penalty
        else:
            losses["r1_penalty"] = ops.zeros((ops.shape(real)[0],))
        return losses

    def before_step(self, data):
        """Move the tracked mean w towards the mean of a batch of freshly mapped ws."""
        z = keras.random.normal((ops.shape(first_element(data))[0], self.latent_dim),
                                seed=self.seed_generator)
        w = ops.mean(self.generator.get_layer("mapping")(z, training=True), axis=0)
        self.w_avg.assign(self.w_avg_decay * self.w_avg + (1.0 - self.w_avg_decay) * w)

    # ------------------------------------------------------------------ sampling and export
    def map_to_w(self, z, truncation=None):
        """w of the sampling (EMA) mapping network; `truncation` psi (scalar or one per
        example) pulls it towards the tracked mean w."""
        w = self.sampling_generator.get_layer("mapping")(ops.convert_to_tensor(z, "float32"),
                                                         training=False)
        return w if truncation is None else truncate_w(w, self.w_avg, truncation)

    def synthesize(self, ws):
        """Images in [0, 1] from `ws` `(batch, num_ws, w_dim)` or one w `(batch, w_dim)` for
        every layer."""
        ws = ops.convert_to_tensor(ws, "float32")
        if len(ws.shape) == 2:
            ws = ops.repeat(ws[:, None, :], self.num_ws, axis=1)
        images = self.sampling_generator.get_layer("synthesis")(ws, training=False)
        return ops.clip((ops.cast(images, "float32") + 1.0) / 2.0, 0.0, 1.0)

    def generate_from(self, z, labels=None, truncation=None):
        return self.synthesize(self.map_to_w(z, truncation))

    def sample(self, num_images, seed=0, labels=None, truncation=None):
        """`num_images` images in [0, 1] (NumPy) from NumPy seed `seed`; `truncation` psi."""
        z = np.random.default_rng(seed).standard_normal((int(num_images), self.latent_dim))
        return ops.convert_to_numpy(self.generate_from(z.astype("float32"), truncation=truncation))

    def sample_from_seeds(self, seeds, labels=None, truncation=None):
        return self.generate_from(normal_from_seeds(seeds, self.latent_dim), truncation=truncation)

    def style_mix_from_seeds(self, seeds_a, seeds_b, crossover, truncation=None):
        """Images whose layers below `crossover` (one per pair) take the w of `seeds_a`
        (coarse styles) and the others that of `seeds_b` (fine styles)."""
        w_a = self.map_to_w(normal_from_seeds(seeds_a, self.latent_dim), truncation)
        w_b = self.map_to_w(normal_from_seeds(seeds_b, self.latent_dim), truncation)
        crossover = ops.reshape(ops.cast(crossover, "float32"), (-1, 1))
        return self.synthesize(StyleMix(self.num_ws)([w_a, w_b, crossover]))

    def serving_endpoints(self):
        z_spec = tf.TensorSpec((None, self.latent_dim), tf.float32, name="z")
        w_spec = tf.TensorSpec((None, self.w_dim), tf.float32, name="w")
        seeds_spec = tf.TensorSpec((None,), tf.int32, name="seeds")
        truncation_spec = tf.TensorSpec((None,), tf.float32, name="truncation")
        a_spec = tf.TensorSpec((None,), tf.int32, name="seeds_a")
        b_spec = tf.TensorSpec((None,), tf.int32, name="seeds_b")
        crossover_spec = tf.TensorSpec((None,), tf.int32, name="crossover")
        return {
            "generate": (lambda z: {"images": self.generate_from(z)}, [z_spec]),
            "sample": (lambda seeds, truncation: {
                "images": self.sample_from_seeds(seeds, truncation=truncation)},
                [seeds_spec, truncation_spec]),
            "mapping": (lambda z: {"w": self.map_to_w(z)}, [z_spec]),
            "synthesis": (lambda w: {"images": self.synthesize(w)}, [w_spec]),
            "style_mix": (lambda seeds_a, seeds_b, crossover: {
                "images": self.style_mix_from_seeds(seeds_a, seeds_b, crossover)},
                [a_spec, b_spec, crossover_spec]),
        }

    def input_ranges(self):
        return {**super().input_ranges(), "crossover": (0, self.num_ws)}

    def export_metadata(self):
        return {**super().export_metadata(), "num_ws": self.num_ws,
                "truncation": {"space": "w", "none": 1.0, "min": 0.0, "max": 1.0}}

    @classmethod
    def from_config(cls, config):
        """A config saved before the tanh output (2026-11-30) has no `output_activation`:
        its networks were trained with the linear one."""
        return super().from_config({"output_activation": "linear", **config})

    def get_config(self):
        config = super().get_config()
        config.update(base_filters=self.base_filters, w_dim=self.w_dim, mapping_layers=self.mapping_layers,
                      max_filters=self.max_filters, style_mixing=self.style_mixing,
                      r1_gamma=self.r1_gamma, r1_interval=self.r1_interval,
                      w_avg_decay=self.w_avg_decay, output_activation=self.output_activation)
        return config
