"""Generative adversarial networks on the shared training core: GAN and DCGAN.

A generator G maps noise z to images; a discriminator D scores images as real or fake.
`compute_losses` runs G once and scores the real and the generated batch; the core's training
step updates both networks from that single forward pass (D every step, G every `n_critic`
steps, as `updates()` says):

    D minimises  discriminator_loss(D(x), D(G(z)))   (+ gradient_penalty_weight * GP)
    G minimises  generator_loss(D(G(z)))

with the adversarial losses of `keras_gen.losses` (minimax `log(1 - D(G(z)))`,
non-saturating, least squares, hinge, Wasserstein). Stabilisers, all options: one-sided
label smoothing, instance noise annealed to zero, differentiable augmentation of everything D
sees (`augment`, `keras_gen.augment`), spectral normalization in D, separate
learning rates (compile with `{"generator": ..., "discriminator": ...}`), and an EMA copy of G
used for sampling and export. Images are in [-1, 1] (tanh); exports return [0, 1].
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen import losses as L
from keras_gen.augment import diff_augment, parse_policy
from keras_gen.latent import normal_from_seeds, truncate_normal
from keras_gen.networks import mlp_discriminator, mlp_generator
from keras_gen.networks.dcgan import dcgan_discriminator, dcgan_generator
from keras_gen.training import (
    GenerativeModel,
    Update,
    first_element,
    register_family,
    start_average,
    update_moving_average,
    warmed_up_decay,
)
from keras_gen.training.arguments import image_shape_of, size, sizes
from keras_gen.training.optimizers import OptimizerSpec
from keras_gen.training.recipe import ADVERSARIAL_RUN_ARGS, PresetSpec, Recipe

ARCHITECTURES = ("mlp", "dcgan")


class AdversarialModel(GenerativeModel):
    """The adversarial training every GAN family shares: G and D updated in turn (`n_critic`
    D steps per G step), one generator pass for both players' losses, the stabilisers below,
    an EMA copy of G for sampling and export, sampling from seeds, and the export contract.
    A family chooses its networks: it sets its own network arguments, then calls this
    `__init__`, which builds them with the family's `build_networks()`; class conditioning is
    the shared `ConditionalPair` a family opts into.

    Args:
        image_shape: `(height, width, channels)`; data in [-1, 1] (`value_range`).
        latent_dim: size of z ~ N(0, I).
        loss: one of `keras_gen.losses.ADVERSARIAL_LOSSES`.
        label_smoothing: one-sided: real targets become `1 - label_smoothing`.
        instance_noise: stddev of Gaussian noise added to D's inputs, annealed linearly to 0
            over `instance_noise_steps` discriminator steps.
        instance_noise_steps: the discriminator steps the instance noise anneals over.
        augment: DiffAugment policy applied, in training, to the real and the generated
            images before D scores them, e.g. `"color,translation,cutout"` (`""`: none).
        ema_decay: keep an exponential moving average of G's weights with this decay (0.999)
            and use it in `sample`, `generate_from` and export; `None`: sample G itself.
        n_critic: discriminator steps per generator step.
        gradient_penalty_weight: WGAN-GP penalty weight (0 for none).
        seed: seed of the noise drawn in training.
    """

    optimizer_names = ("generator", "discriminator")
    optimizer_spec = OptimizerSpec(2e-4, beta_1=0.5)  # the DCGAN paper's, for each network
    loss_names = ("d_loss", "g_loss", "real_output", "fake_output")
    value_range = (-1.0, 1.0)
    default_signature = "generate"
    condition_dim = 0
    #: Batches carry class labels that steer G and D (`ConditionalPair` families).
    conditional = False
    #: `sample` and the exported `sample` take a truncation (of z here; StyleGAN: psi in w).
    takes_truncation = False
    #: The `architecture` values a family's `build_networks` knows.
    architectures = ()
    #: Score real and generated images in one discriminator call (D without batch norm).
    joint_discriminator_pass = False

    def __init__(self, image_shape=(28, 28, 1), latent_dim=64, loss="non_saturating",
                 label_smoothing=0.0, instance_noise=0.0, instance_noise_steps=2000, augment="",
                 ema_decay=0.999, n_critic=1, gradient_penalty_weight=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if loss not in L.ADVERSARIAL_LOSSES:
            raise ValueError(f"loss must be one of {L.ADVERSARIAL_LOSSES}, got {loss!r}")
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay!r}")
        self.image_shape = image_shape_of(image_shape)
        self.latent_dim = size("latent_dim", latent_dim)
        self.loss_kind = loss
        self.label_smoothing = float(label_smoothing)
        self.instance_noise = float(instance_noise)
        self.instance_noise_steps = size("instance_noise_steps", instance_noise_steps)
        self.augment = ",".join(parse_policy(augment))
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.n_critic = size("n_critic", n_critic)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        if self.gradient_penalty_weight:
            self.loss_names = (*type(self).loss_names, "gradient_penalty")
            self.trackers["gradient_penalty"] = keras.metrics.Mean(name="gradient_penalty")
        with self.network_policy():
            self.generator, self.discriminator = self.build_networks()
            self.ema_generator = None
            if self.ema_decay is not None:
                self.ema_generator = self.build_networks()[0]
                start_average(self.ema_generator, self.generator)
        self.build()

    def checked_architecture(self, architecture):
        """`architecture` when the family's `build_networks` knows it, else a `ValueError`."""
        if architecture not in self.architectures:
            raise ValueError(f"architecture must be one of {self.architectures}, got {architecture!r}")
        return architecture

    def build_networks(self):
        """Return `(generator, discriminator)`: each family builds its own."""
        raise NotImplementedError

    def build(self, input_shape=None):
        self.built = True

    def variables_for(self, slot):
        network = self.generator if slot == "generator" else self.discriminator
        return network.trainable_variables

    # ------------------------------------------------------------------ conditioning hooks
    # (unconditional; class conditioning is the shared `ConditionalPair` a family opts into)
    def split_batch(self, data):
        """`(images, labels)`; the unconditional GAN ignores labels."""
        return first_element(data), None

    def generator_inputs(self, z, labels):
        return z

    def discriminator_inputs(self, images, labels):
        return images

    def sampling_labels(self, num_images, labels=None):
        return None

    # ------------------------------------------------------------------ training
    def discriminator_steps(self):
        """How many discriminator updates have been applied (drives annealing and n_critic)."""
        return self.get_optimizer("discriminator").iterations

    def instance_noise_stddev(self):
        if not self.instance_noise:
            return 0.0
        progress = ops.cast(self.discriminator_steps(), "float32") / float(self.instance_noise_steps)
        return self.instance_noise * ops.maximum(0.0, 1.0 - progress)

    def add_instance_noise(self, images, stddev, training=True):
        if not self.instance_noise or not training:
            return images
        return images + stddev * keras.random.normal(ops.shape(images), seed=self.seed_generator)

    def updates(self):
        """D on every step; G on every `n_critic`-th, counted in D steps."""
        return (Update("discriminator", "d_total"),
                Update("generator", "g_loss", every=self.n_critic))

    def compute_losses(self, data, training=False):
        """Both players' losses from one generator pass. Augmentation, label smoothing,
        instance noise and the gradient penalty apply in training only (`d_total` is what D
        minimises); the penalty is taken on the augmented images D saw."""
        real, labels = self.split_batch(data)
        real = ops.cast(real, "float32")
        batch = ops.shape(real)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        stddev = self.instance_noise_stddev() if training else 0.0
        fake = ops.cast(self.generator(self.generator_inputs(z, labels), training=training), "float32")
        if training and self.augment:
            real = diff_augment(real, self.augment, seed=self.seed_generator)
            fake = diff_augment(fake, self.augment, seed=self.seed_generator)
        real_out, fake_out = self.score_real_and_fake(
            self.add_instance_noise(real, stddev, training),
            self.add_instance_noise(fake, stddev, training), labels, training)
        real_label = 1.0 - self.label_smoothing if training else 1.0
        d_loss = L.discriminator_loss(self.loss_kind, real_out, fake_out, real_label=real_label)
        losses = {"d_loss": d_loss, "d_total": d_loss, "real_output": real_out,
                  "fake_output": fake_out}
        if training and self.gradient_penalty_weight:
            penalty = L.gradient_penalty(
                lambda images: self.discriminator(
                    self.discriminator_inputs(images, labels), training=True),
                real, tf.stop_gradient(fake),
                keras.random.uniform((batch,), seed=self.seed_generator))
            losses["gradient_penalty"] = penalty
            losses["d_total"] = d_loss + self.gradient_penalty_weight * penalty
        losses["g_loss"] = L.generator_loss(self.loss_kind, fake_out)
        return losses

    def score_real_and_fake(self, real, fake, labels, training):
        """D's logits for the real and the generated batch: in one call on both when
        `joint_discriminator_pass` (one pass, one spectral-norm power iteration), in two calls
        when D has batch norm (each batch normalised on its own, as DCGAN does)."""
        if not self.joint_discriminator_pass:
            return (self.discriminator(self.discriminator_inputs(real, labels), training=training),
                    self.discriminator(self.discriminator_inputs(fake, labels), training=training))
        both_labels = None if labels is None else ops.concatenate([labels, labels], axis=0)
        scores = self.discriminator(
            self.discriminator_inputs(ops.concatenate([real, fake], axis=0), both_labels),
            training=training)
        batch = ops.shape(real)[0]
        return scores[:batch], scores[batch:]

    def after_update(self, slot):
        if slot == "generator":
            self.update_ema()

    def update_ema(self):
        """Move the EMA generator's weights towards the generator's."""
        if self.ema_generator is None:
            return
        update_moving_average(self.ema_generator, self.generator,
                              warmed_up_decay(self.ema_decay, self.get_optimizer("generator").iterations))

    # ------------------------------------------------------------------ sampling and export
    @property
    def sampling_generator(self):
        """The EMA generator when enabled, else the generator."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def generate_from(self, z, labels=None):
        """Images in [0, 1] from noise `z` (and labels, for conditional models)."""
        z = ops.convert_to_tensor(z, "float32")
        images = self.sampling_generator(self.generator_inputs(z, labels), training=False)
        return ops.clip((ops.cast(images, "float32") + 1.0) / 2.0, 0.0, 1.0)

    def sample(self, num_images, seed=0, labels=None, truncation=None):
        """`num_images` images in [0, 1] (NumPy) from noise drawn with NumPy seed `seed`;
        conditional models cycle the classes unless `labels` are given; `truncation` > 0
        (families with `takes_truncation`) truncates z to `[-truncation, truncation]`."""
        z = np.random.default_rng(seed).standard_normal((int(num_images), self.latent_dim))
        z = self._truncated(z.astype("float32"), truncation)
        return ops.convert_to_numpy(self.generate_from(
            z, self.sampling_labels(num_images, labels)))

    def sample_from_seeds(self, seeds, labels=None, truncation=None):
        """One image per integer seed (stateless: the same seed gives the same image anywhere);
        `truncation` (a scalar or one value per seed, <= 0 for none) as in `sample`."""
        z = self._truncated(normal_from_seeds(seeds, self.latent_dim), truncation)
        return self.generate_from(z, labels)

    def _truncated(self, z, truncation):
        if truncation is None:
            return z
        if not self.takes_truncation:
            raise ValueError(f"{type(self).__name__} takes no truncation")
        return truncate_normal(z, truncation)

    def call(self, z, training=False):
        return self.generate_from(z)

    def serving_endpoints(self):
        """`generate` (z, and labels when conditional) and `sample` (seeds, labels when
        conditional, a truncation per seed when the family `takes_truncation`)."""
        specs = {"z": tf.TensorSpec((None, self.latent_dim), tf.float32, name="z"),
                 "seeds": tf.TensorSpec((None,), tf.int32, name="seeds"),
                 "labels": tf.TensorSpec((None,), tf.int32, name="labels"),
                 "truncation": tf.TensorSpec((None,), tf.float32, name="truncation")}
        labels = ["labels"] if self.conditional else []

        def endpoint(method, names):
            """`method` called with the named inputs, as `(function, specs)`."""
            return (lambda *args: {"images": method(**dict(zip(names, args)))},
                    [specs[name] for name in names])

        return {"generate": endpoint(self.generate_from, ["z", *labels]),
                "sample": endpoint(self.sample_from_seeds, ["seeds", *labels, *(
                    ["truncation"] if self.takes_truncation else [])])}

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=list(self.image_shape),
            latent_dim=self.latent_dim,
            loss=self.loss_kind,
            label_smoothing=self.label_smoothing,
            instance_noise=self.instance_noise,
            instance_noise_steps=self.instance_noise_steps,
            augment=self.augment,
            ema_decay=self.ema_decay,
            n_critic=self.n_critic,
            gradient_penalty_weight=self.gradient_penalty_weight,
            seed=self.seed,
        )
        return config


@register_family("gan")
class GAN(AdversarialModel):
    """GAN with MLP (default) or DCGAN networks and optional stabilisers.

    Args:
        image_shape: `(height, width, channels)`; data in [-1, 1] (`value_range`).
        latent_dim: size of z ~ N(0, I).
        architecture: `"mlp"` or `"dcgan"`.
        units: the MLP's hidden widths (G's; D's are the reverse).
        base_filters: the DCGAN networks' width.
        spectral_norm: spectral normalization on D's layers.
        discriminator_batch_norm: batch norm in the DCGAN discriminator.
        discriminator_dropout: dropout in D.
        **kwargs: the training's (`AdversarialModel`: loss, label_smoothing, instance_noise,
            augment, ema_decay, n_critic, gradient_penalty_weight, seed).

    Examples:
        >>> import numpy as np
        >>> gan = GAN(latent_dim=8, units=(32,))
        >>> gan.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
        >>> x = np.random.uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
        >>> sorted(gan.fit(x, batch_size=8, epochs=1, verbose=0).history)
        ['d_loss', 'fake_output', 'g_loss', 'real_output']
    """

    # the keras.io-style reference has no EMA generator: timed without it
    benchmark_config = dict(latent_dim=64, units=(256, 512), ema_decay=None)
    benchmark_reference = "dcgan"
    preset = PresetSpec(
        "gan_mnist",
        "An MLP GAN (128 and 256 units, non-saturating loss, 64-d noise, EMA generator) "
        "for 28x28 digits.",
        "fid")
    recipe = Recipe(epochs=1000, minutes=3, model_args={"latent_dim": 64, "units": (128, 256)},
                    run_args=ADVERSARIAL_RUN_ARGS)

    smoke_config = dict(latent_dim=4, units=(8,), ema_decay=0.9)
    architectures = ARCHITECTURES

    def __init__(self, image_shape=(28, 28, 1), latent_dim=64, architecture="mlp",
                 units=(256, 512), base_filters=64, spectral_norm=False,
                 discriminator_batch_norm=True, discriminator_dropout=0.3, **kwargs):
        self.architecture = self.checked_architecture(architecture)
        self.units = sizes("units", units)
        self.base_filters = size("base_filters", base_filters)
        self.spectral_norm = bool(spectral_norm)
        self.discriminator_batch_norm = bool(discriminator_batch_norm)
        self.discriminator_dropout = float(discriminator_dropout)
        super().__init__(image_shape=image_shape, latent_dim=latent_dim, **kwargs)

    def build_networks(self):
        """Return `(generator, discriminator)` for the chosen architecture."""
        if self.architecture == "dcgan":
            return (
                dcgan_generator(self.latent_dim, self.image_shape, base_filters=self.base_filters,
                                condition_dim=self.condition_dim),
                dcgan_discriminator(self.image_shape, base_filters=self.base_filters,
                                    condition_dim=self.condition_dim,
                                    batch_norm=self.discriminator_batch_norm,
                                    spectral_norm=self.spectral_norm,
                                    dropout=self.discriminator_dropout),
            )
        return (
            mlp_generator(self.latent_dim, self.image_shape, units=self.units,
                          condition_dim=self.condition_dim),
            mlp_discriminator(self.image_shape, units=self.units[::-1],
                              condition_dim=self.condition_dim, spectral_norm=self.spectral_norm,
                              dropout=self.discriminator_dropout),
        )

    def get_config(self):
        config = super().get_config()
        config.update(architecture=self.architecture, units=list(self.units),
                      base_filters=self.base_filters, spectral_norm=self.spectral_norm,
                      discriminator_batch_norm=self.discriminator_batch_norm,
                      discriminator_dropout=self.discriminator_dropout)
        return config


@register_family("dcgan")
class DCGAN(GAN):
    """GAN with DCGAN networks (strided convolutions, batch norm, LeakyReLU in D, tanh out).

    Examples:
        >>> DCGAN(image_shape=(32, 32, 3), latent_dim=16).generator.output.shape
        (None, 32, 32, 3)
    """

    # the keras.io-style reference has no EMA generator: timed without it
    benchmark_config = dict(latent_dim=100, ema_decay=None)
    benchmark_reference = "dcgan"
    preset = PresetSpec(
        "dcgan_mnist",
        "A DCGAN (100-d noise, 64 base filters, EMA generator) for 28x28 digits.",
        "fid")
    recipe = Recipe(epochs=1000, minutes=3, model_args={"base_filters": 32},
                    run_args=ADVERSARIAL_RUN_ARGS)
    preset_recipe = Recipe(epochs=90, model_args={"base_filters": 64},
                           run_args={**ADVERSARIAL_RUN_ARGS, "steps_per_epoch": 500})

    smoke_config = dict(latent_dim=4, base_filters=4)

    def __init__(self, latent_dim=100, discriminator_dropout=0.0, **kwargs):
        kwargs["architecture"] = "dcgan"
        super().__init__(latent_dim=latent_dim, discriminator_dropout=discriminator_dropout, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("architecture")
        return config
