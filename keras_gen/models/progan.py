"""Progressive growing of GANs (ProGAN; Karras et al., 2018) in one `model.fit`.

G and D are built once at the target size (`keras_gen.networks.progan`) and take the growth
position `p` as an input: `p = k + alpha` shows resolution level k with level k+1 faded in
by alpha. The schedule is a function of the number of training images seen:

    level 0 stable | fade to level 1 | level 1 stable | fade to level 2 | ... | last level

each phase `images_per_phase` images long, alpha rising linearly through each fade. Both the
image count and `p` are model variables, so `BackupAndRestore` (or any checkpoint) brings a
run killed mid-fade back at the same phase and alpha; nothing is rebuilt or recompiled when a
resolution is added. Real images are shown to D with the same mix of resolutions as G's
output (ProGAN fades the reals too).

The loss is WGAN-GP (n_critic 1, lambda 10) with the drift term `0.001 * D(x)^2` that keeps
the critic's scores near 0; Adam(1e-3, beta_1=0, beta_2=0.99) for both networks; an EMA
generator for sampling and export. Sample grids during training show the current resolution
upsampled to the target size; the export always returns images of the target size.
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from keras_gen import losses as L
from keras_gen.models.wgan import WGAN_GP
from keras_gen.networks.progan import (
    blend_resolutions,
    growth_levels,
    progressive_discriminator,
    progressive_generator,
)
from keras_gen.training import first_element, register_family
from keras_gen.training.arguments import size
from keras_gen.training.optimizers import OptimizerSpec
from keras_gen.training.recipe import ADVERSARIAL_RUN_ARGS, PresetSpec, Recipe


def growth_schedule(images_seen, images_per_phase, levels):
    """The growth position `p` after `images_seen` training images: level 0 for one phase,
    then per further level a fade (p rises by 1) and a stable phase, capped at `levels - 1`.

    Examples:
        >>> [float(growth_schedule(n, 10, 3)) for n in (0, 9, 10, 15, 20, 35, 99)]
        [0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0]
    """
    phase = ops.cast(images_seen, "float32") / float(images_per_phase)
    whole = ops.floor(phase)
    fading = ops.equal(ops.mod(whole, 2.0), 1.0)
    growth = ops.where(fading, (whole - 1.0) / 2.0 + (phase - whole), whole / 2.0)
    return ops.minimum(growth, float(levels - 1))


@register_family("progan")
class ProGAN(WGAN_GP):
    """Progressively grown GAN: equalised learning rate, pixel norm in G, minibatch stddev in
    D, WGAN-GP with drift, resolution fade-ins driven by the images seen.

    Args:
        image_shape: target `(height, width, channels)`; growth starts at the smallest side
            that halving allows (4 for 32 px, 7 for 28 px).
        latent_dim: size of z.
        base_filters: filters at the target resolution (doubling per smaller level).
        max_filters: cap on any level's filters.
        images_per_phase: training images per fade and per stable phase (the default,
            12,000, reaches 32 px after 84,000 images, about 7 minutes at batch 64 on 2 CPU
            cores; the paper used 600,000 to 800,000 on GPUs).
        drift_weight: weight of `D(x)^2`.
        output_activation: G's last activation, `"linear"` (the paper's, the default) or
            `"tanh"` (StyleGAN's fix; it does not help ProGAN at equal time:
            `benchmarks/results/progan_output.md`).
        **kwargs: as `WGAN_GP` / `GAN` (gradient_penalty_weight, ema_decay, augment, ...).

    Examples:
        >>> gan = ProGAN(image_shape=(16, 16, 3), latent_dim=8, base_filters=4, images_per_phase=64)
        >>> gan.levels, float(gan.growth)
        (3, 0.0)
        >>> gan.sample(2).shape  # 4x4 images, upsampled, until the model grows
        (2, 16, 16, 3)
    """

    benchmark_config = {}
    benchmark_reference = "progan"
    preset = PresetSpec(
        "progan_openmoji",
        "A ProGAN grown 4x4 -> 32x32 inside one fit (6,000 images per phase, at most 64 "
        "filters, equalised learning rate, pixel norm, minibatch stddev, WGAN-GP) for "
        "colour emoji.",
        "fid")
    recipe = Recipe(dataset="openmoji", epochs=1000, minutes=3,
                    model_args={"images_per_phase": 6_000, "max_filters": 64}, image_size=(32, 32), run_args=ADVERSARIAL_RUN_ARGS)

    architectures = ("progressive",)
    optimizer_spec = OptimizerSpec(1e-3, beta_1=0.0, beta_2=0.99, epsilon=1e-8)  # the paper's
    smoke_config = dict(latent_dim=4, base_filters=2, max_filters=4, images_per_phase=16,
                        ema_decay=0.9)

    def __init__(self, image_shape=(32, 32, 3), latent_dim=128, base_filters=16, max_filters=128,
                 images_per_phase=12_000, drift_weight=1e-3, n_critic=1, ema_decay=0.999,
                 output_activation="linear", **kwargs):
        kwargs.pop("architecture", None)
        self.max_filters = size("max_filters", max_filters)
        self.images_per_phase = size("images_per_phase", images_per_phase)
        if self.images_per_phase < 1:
            raise ValueError(f"images_per_phase must be >= 1, got {images_per_phase!r}")
        self.drift_weight = float(drift_weight)
        self.output_activation = str(output_activation)
        self.levels = len(growth_levels(image_shape))
        super().__init__(image_shape=image_shape, latent_dim=latent_dim, base_filters=base_filters,
                         n_critic=n_critic, ema_decay=ema_decay, architecture="progressive",
                         **kwargs)

    def build(self, input_shape=None):
        # the step assigns these on every replica alike (the first replica's value is kept)
        self.images_seen = self.add_weight(shape=(), initializer="zeros", dtype="float32",
                                           trainable=False, name="images_seen",
                                           aggregation="only_first_replica")
        self.growth = self.add_weight(shape=(), initializer="zeros", dtype="float32",
                                      trainable=False, name="growth",
                                      aggregation="only_first_replica")
        super().build(input_shape)

    def build_networks(self):
        sizes = dict(base_filters=self.base_filters, max_filters=self.max_filters)
        return (progressive_generator(self.latent_dim, self.image_shape,
                                      output_activation=self.output_activation, **sizes),
                progressive_discriminator(self.image_shape, **sizes))

    # ------------------------------------------------------------------ growth
    @property
    def resolution(self):
        """The side of the newest resolution in place (or fading in) now."""
        return growth_levels(self.image_shape)[int(ops.ceil(ops.convert_to_numpy(self.growth)))]

    def growth_column(self, reference):
        """`p` repeated for each example of `reference` (shape `(batch, 1)`)."""
        return ops.ones((ops.shape(reference)[0], 1), "float32") * self.growth

    def before_step(self, data):
        """Set `p` from the images seen so far, then count this (global) batch."""
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        self.growth.assign(growth_schedule(self.images_seen, self.images_per_phase, self.levels))
        batch = ops.shape(first_element(data))[0] * replicas
        self.images_seen.assign_add(ops.cast(batch, "float32"))

    # ------------------------------------------------------------------ GAN hooks
    def split_batch(self, data):
        """Real images with the current mix of resolutions."""
        images, labels = super().split_batch(data)
        return blend_resolutions(ops.cast(images, "float32"), self.growth, self.levels), labels

    def generator_inputs(self, z, labels):
        return [z, self.growth_column(z)]

    def discriminator_inputs(self, images, labels):
        return [images, self.growth_column(images)]

    def compute_losses(self, data, training=False):
        """WGAN-GP's losses plus, in training, the drift term on the real scores."""
        losses = super().compute_losses(data, training=training)
        if training and self.drift_weight:
            losses["d_total"] = losses["d_total"] + self.drift_weight * L.drift_penalty(
                losses["real_output"])
        return losses

    def get_config(self):
        config = super().get_config()
        config.pop("architecture", None)
        config.update(max_filters=self.max_filters, images_per_phase=self.images_per_phase,
                      drift_weight=self.drift_weight, output_activation=self.output_activation)
        return config
