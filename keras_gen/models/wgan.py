"""WGAN-GP (Gulrajani et al., 2017): a Wasserstein critic with a gradient penalty.

The critic maximises `D(x) - D(G(z))` and is kept 1-Lipschitz by the penalty
`lambda * (||grad D(x_hat)|| - 1)^2` on random interpolates x_hat of real and generated
images; it takes `n_critic` steps per generator step. The critic has no batch normalization
(the penalty is per example).
"""

from __future__ import annotations


from keras_gen.models.gan import GAN
from keras_gen.training import register_family
from keras_gen.training.optimizers import OptimizerSpec
from keras_gen.training.recipe import ADVERSARIAL_RUN_ARGS, PresetSpec, Recipe


@register_family("wgan_gp")
class WGAN_GP(GAN):  # noqa: N801 (the name the literature uses)
    """WGAN-GP with DCGAN-shaped networks by default (critic without batch norm).

    Compile with Adam(1e-4, beta_1=0.5, beta_2=0.9) as in the paper.

    Examples:
        >>> wgan = WGAN_GP(latent_dim=16)
        >>> wgan.n_critic, wgan.gradient_penalty_weight, wgan.loss_kind
        (5, 10.0, 'wasserstein')
    """

    # the keras.io-style reference has no EMA generator: timed without it
    benchmark_config = dict(latent_dim=100, ema_decay=None)
    benchmark_reference = "wgan_gp"
    preset = PresetSpec(
        "wgan_gp_mnist",
        "A WGAN-GP (64 base filters, DCGAN-shaped critic without batch norm, one critic "
        "step, learning rates 1e-4 / 4e-4 for G / D, gradient penalty 10, EMA generator) "
        "for 28x28 digits.",
        "fid")
    recipe = Recipe(epochs=1000, minutes=3, model_args={"base_filters": 32, "n_critic": 1},
                    learning_rates={"generator": 1e-4, "discriminator": 4e-4},
                    run_args=ADVERSARIAL_RUN_ARGS)
    preset_recipe = Recipe(epochs=60, model_args={"base_filters": 64, "n_critic": 1},
                           learning_rates={"generator": 1e-4, "discriminator": 4e-4},
                           run_args={**ADVERSARIAL_RUN_ARGS, "steps_per_epoch": 500})

    optimizer_spec = OptimizerSpec(1e-4, beta_1=0.5, beta_2=0.9)  # the WGAN-GP paper's
    smoke_config = dict(latent_dim=4, base_filters=4, n_critic=2)

    def __init__(self, latent_dim=100, architecture="dcgan", n_critic=5,
                 gradient_penalty_weight=10.0, discriminator_dropout=0.0, **kwargs):
        kwargs["loss"] = "wasserstein"
        kwargs["discriminator_batch_norm"] = False
        super().__init__(latent_dim=latent_dim, architecture=architecture, n_critic=n_critic,
                         gradient_penalty_weight=gradient_penalty_weight,
                         discriminator_dropout=discriminator_dropout, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("loss")
        config.pop("discriminator_batch_norm")
        return config
