"""Model families. `FAMILIES` maps the names used by `apps/train.py` to their classes."""

from keras_gen.models.autoencoder import (
    AutoEncoder,
    DenoisingAutoEncoder,
    SparseAutoEncoder,
    StackedAutoEncoder,
)
from keras_gen.models.cgan import ConditionalGAN
from keras_gen.models.cyclegan import CycleGAN, ImageHistoryPool
from keras_gen.models.pix2pix import Pix2Pix
from keras_gen.models.gan import DCGAN, GAN
from keras_gen.models.wgan import WGAN_GP
from keras_gen.models.diffusion import DiffusionModel
from keras_gen.models.pixelcnn import PixelCNN
from keras_gen.models.dbvae import DBVAE, DebiasingSampler, debiasing_weights
from keras_gen.models.vae import VAE, BetaVAE, ConditionalVAE

FAMILIES = {
    "vae": VAE,
    "beta_vae": BetaVAE,
    "cvae": ConditionalVAE,
    "dbvae": DBVAE,
    "autoencoder": AutoEncoder,
    "stacked_ae": StackedAutoEncoder,
    "sparse_ae": SparseAutoEncoder,
    "denoising_ae": DenoisingAutoEncoder,
    "gan": GAN,
    "dcgan": DCGAN,
    "cgan": ConditionalGAN,
    "wgan_gp": WGAN_GP,
    "pix2pix": Pix2Pix,
    "cyclegan": CycleGAN,
    "pixelcnn": PixelCNN,
    "diffusion": DiffusionModel,
}

__all__ = [
    "DBVAE",
    "DCGAN",
    "GAN",
    "WGAN_GP",
    "ConditionalGAN",
    "CycleGAN",
    "ImageHistoryPool",
    "Pix2Pix",
    "FAMILIES",
    "VAE",
    "AutoEncoder",
    "BetaVAE",
    "ConditionalVAE",
    "DebiasingSampler",
    "DiffusionModel",
    "PixelCNN",
    "DenoisingAutoEncoder",
    "SparseAutoEncoder",
    "StackedAutoEncoder",
    "debiasing_weights",
]
