"""The attention GANs of the notes: SAGAN (Zhang et al., 2019) and a small BigGAN (Brock et
al., 2019), on the GAN family's training (`compute_losses` and the core's step; no train_step
of their own).

Both put self-attention on the half-resolution feature maps of G and D (16x16 for 32 px) and
use spectral normalization in both networks, orthogonal initialisation, the hinge loss, Adam
with beta_1 = 0 and beta_2 = 0.9, and an EMA generator for sampling and export. BigGAN keeps
the papers' two time-scale rates (G 1e-4, D 4e-4); SAGAN defaults to one rate, 2e-4, for
both, which measured better on 2 CPU cores (`learning_rates={"generator": 1e-4,
"discriminator": 4e-4}` in `TrainingRun` or `default_optimizer` gives the papers' setting). Both build on the residual up/down blocks of
`keras_gen.networks.biggan` (as the papers do); SAGAN also takes `architecture="dcgan"`, the
DCGAN backbone with the same additions (transposed convolutions in G, strided convolutions in
D, as several public SAGAN implementations do). On openmoji 32x32 and 2 CPU cores the narrow
residual SAGAN (`base_filters=16`, the default) measured best at a 10-minute budget; see
`benchmarks/results/openmoji_attention.md`.

- `SAGAN` is unconditional by default; `conditional=True` adds conditional batch norm in G and
  a projection discriminator, and the model then trains on `(images, labels)`.
- `BigGAN` is always class-conditional: a shared class embedding, a hierarchical latent (z is
  split across the generator's blocks, each chunk joined to the class embedding to give that
  block's batch-norm gains and biases), and the off-diagonal orthogonal regularisation of G's
  weights as a second generator loss.

Both export `sample(seeds[, labels], truncation)`: the truncation trick, z drawn from the normal
truncated to `[-t, t]` (`keras_gen.latent.truncate_normal`; `t <= 0` is no truncation).
"""

from __future__ import annotations

import keras

from keras_gen import losses as L
from keras_gen.models.gan import AdversarialModel
from keras_gen.networks.biggan import residual_discriminator, residual_generator
from keras_gen.networks.dcgan import dcgan_discriminator, dcgan_generator
from keras_gen.training import Update, register_family
from keras_gen.training.arguments import size
from keras_gen.training.optimizers import OptimizerSpec
from keras_gen.training.recipe import ADVERSARIAL_RUN_ARGS, PresetSpec, Recipe
from keras_gen.training.conditioning import ConditionalPair

@register_family("sagan")
class SAGAN(ConditionalPair, AdversarialModel):
    """Self-attention GAN: residual (or DCGAN-style) G and D with self-attention, spectral
    norm everywhere, hinge loss, Adam(2e-4, beta_1=0, beta_2=0.9) for both and an EMA
    generator.

    Args:
        latent_dim: size of z.
        base_filters: width of the highest-resolution blocks (the others double per stage).
        architecture: `"resnet"` (residual blocks) or `"dcgan"` (the DCGAN backbone).
        spectral_norm: spectral normalization on every weight layer of G and D.
        attention: put the self-attention block in G and D.
        embedding_dim: width of a shared class embedding (BigGAN's; 0: the one-hot label).
        conditional: class-conditional (conditional batch norm in G, projection D); batches
            are then `(images, labels)` and `num_classes` is required.
        num_classes: number of classes when conditional.
        **kwargs: the training's (`AdversarialModel`: image_shape, whose sides halve down to
            4..7, such as 28, 32, 64; loss, ema_decay, n_critic, augment, ...).

    Examples:
        >>> gan = SAGAN(image_shape=(16, 16, 3), latent_dim=8, base_filters=4)
        >>> gan.batch_layout, sorted(gan.default_optimizer())
        ('images', ['discriminator', 'generator'])
        >>> gan.sample(2, truncation=0.5).shape
        (2, 16, 16, 3)
    """

    benchmark_config = {}
    benchmark_reference = "hinge_gan"
    preset = PresetSpec(
        "sagan_openmoji",
        "A SAGAN (ResNet blocks, self-attention, spectral norm, hinge loss, EMA "
        "generator) for 32x32 colour emoji.",
        "fid")
    recipe = Recipe(dataset="openmoji", epochs=1000, minutes=3, image_size=(32, 32),
                    run_args=ADVERSARIAL_RUN_ARGS)

    batch_layout = "images"  # "labelled" when conditional (see layout_for)
    architectures = ("resnet", "dcgan")
    joint_discriminator_pass = True  # no batch norm in D
    takes_truncation = True
    conditional = False  # an option: `conditional=True` (`ConditionalPair`)
    smoke_config = dict(latent_dim=4, base_filters=2, ema_decay=0.9)

    #: one rate for both networks measured better on 2 cores than the papers' two time-scale
    #: rule (G 1e-4, D 4e-4: BigGAN's declaration)
    optimizer_spec = OptimizerSpec(2e-4, beta_1=0.0, beta_2=0.9)

    def __init__(self, latent_dim=128, base_filters=16, loss="hinge", spectral_norm=True,
                 ema_decay=0.999, attention=True, conditional=False, num_classes=None,
                 embedding_dim=0, architecture="resnet", **kwargs):
        self.architecture = self.checked_architecture(architecture)
        self.base_filters = size("base_filters", base_filters)
        self.spectral_norm = bool(spectral_norm)
        self.init_conditioning(conditional, num_classes)
        self.attention = bool(attention)
        self.embedding_dim = size("embedding_dim", embedding_dim, least=0)
        super().__init__(latent_dim=latent_dim, loss=loss, ema_decay=ema_decay, **kwargs)

    @classmethod
    def layout_for(cls, config):
        """`(images, labels)` batches when `conditional=True`, images otherwise."""
        return "labelled" if config.get("conditional") else "images"

    #: BigGAN's hierarchical latent (z split across the generator's blocks).
    hierarchical = False

    def build_networks(self):
        """Residual networks (`architecture="resnet"`), or the DCGAN backbone (`"dcgan"`), with
        spectral norm, self-attention, orthogonal initialisation, and conditional batch norm /
        projection when conditional."""
        if self.architecture == "dcgan":
            common = dict(base_filters=self.base_filters, condition_dim=self.condition_dim,
                          spectral_norm=self.spectral_norm, attention=self.attention,
                          kernel_initializer="orthogonal")
            return (dcgan_generator(self.latent_dim, self.image_shape, conditioning="batch_norm",
                                    **common),
                    dcgan_discriminator(self.image_shape, conditioning="projection",
                                        batch_norm=False, **common))
        return (residual_generator(self.latent_dim, self.image_shape, base_filters=self.base_filters,
                                   condition_dim=self.condition_dim,
                                   embedding_dim=self.embedding_dim, hierarchical=self.hierarchical,
                                   attention=self.attention, spectral_norm=self.spectral_norm),
                residual_discriminator(self.image_shape, base_filters=self.base_filters,
                                       condition_dim=self.condition_dim, attention=self.attention,
                                       spectral_norm=self.spectral_norm))

    def get_config(self):
        config = super().get_config()
        config.update(architecture=self.architecture, base_filters=self.base_filters,
                      spectral_norm=self.spectral_norm, attention=self.attention, conditional=self.conditional,
                      num_classes=self.num_classes, embedding_dim=self.embedding_dim)
        return config


@register_family("biggan")
class BigGAN(SAGAN):
    """A small class-conditional BigGAN: SAGAN's networks with a shared class embedding, a
    hierarchical latent feeding every generator block's conditional batch norm, and BigGAN's
    orthogonal regularisation of G (`orthogonal_weight`, 1e-4) as a second generator loss.
    Batches are `(images, labels)`.

    Examples:
        >>> gan = BigGAN(num_classes=3, image_shape=(16, 16, 3), latent_dim=9, base_filters=4,
        ...              embedding_dim=4)
        >>> [u.loss for u in gan.updates() if u.slot == "generator"]
        ['g_loss', 'orthogonal_loss']
        >>> gan.sample(3, labels=[0, 1, 2], truncation=0.5).shape
        (3, 16, 16, 3)
    """

    benchmark_config = dict(num_classes=10)
    benchmark_reference = "hinge_gan"
    preset = PresetSpec(
        "biggan_openmoji",
        "A small BigGAN (16 base filters, class-conditional batch norm from a shared "
        "embedding, projection discriminator, orthogonal regularisation) for 32x32 colour "
        "emoji of 10 groups.",
        "fid")
    recipe = Recipe(dataset="openmoji", epochs=1000, minutes=3, model_args={"base_filters": 16},
                    image_size=(32, 32), run_args=ADVERSARIAL_RUN_ARGS)

    batch_layout = "labelled"
    loss_names = (*SAGAN.loss_names, "orthogonal_loss")
    hierarchical = True
    smoke_config = dict(latent_dim=6, base_filters=2, embedding_dim=2, ema_decay=0.9,
                        num_classes=3)

    #: BigGAN's two time-scale rule: D learns at four times G's rate
    optimizer_spec = {"generator": OptimizerSpec(1e-4, beta_1=0.0, beta_2=0.9),
                      "discriminator": OptimizerSpec(4e-4, beta_1=0.0, beta_2=0.9)}

    def __init__(self, num_classes=10, embedding_dim=128, orthogonal_weight=1e-4, base_filters=32,
                 **kwargs):
        kwargs.pop("conditional", None)
        kwargs.update(base_filters=base_filters)
        self.orthogonal_weight = float(orthogonal_weight)
        if self.orthogonal_weight < 0:
            raise ValueError(f"orthogonal_weight must be >= 0, got {orthogonal_weight!r}")
        super().__init__(conditional=True, num_classes=num_classes,
                         embedding_dim=embedding_dim, **kwargs)
        if not self.embedding_dim:
            raise ValueError("BigGAN needs embedding_dim >= 1 (the shared class embedding)")

    @classmethod
    def layout_for(cls, config):
        return "labelled"

    def regularised_kernels(self):
        """G's weight matrices under orthogonal regularisation: every kernel but the shared
        class embedding (as in BigGAN) and the conditional batch norms' zero-initialised
        gains and biases."""
        kernels = []
        for layer in self.generator._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.Wrapper) or layer.name == "class_embedding":
                continue
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and layer.name not in ("gain", "bias"):
                kernels.append(layer.kernel)
        return kernels

    def updates(self):
        """GAN's updates, plus the orthogonal regularisation on the generator's steps."""
        return (*super().updates(), Update("generator", "orthogonal_loss", every=self.n_critic))

    def compute_losses(self, data, training=False):
        losses = super().compute_losses(data, training=training)
        losses["orthogonal_loss"] = self.orthogonal_weight * L.orthogonal_regularization(
            self.regularised_kernels())
        return losses

    def get_config(self):
        config = super().get_config()
        config.pop("conditional")
        config["orthogonal_weight"] = self.orthogonal_weight
        return config
