"""Model families. `FAMILIES` maps each family's registered name to its class, in the order
the modules below register them (`keras_gen.training.register_family`)."""

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
from keras_gen.models.progan import ProGAN
from keras_gen.models.stylegan import StyleGAN
from keras_gen.models.sagan import SAGAN, BigGAN
from keras_gen.models.diffusion import DiffusionModel
from keras_gen.models.pixelcnn import PixelCNN
from keras_gen.models.pixelrnn import PixelRNN
from keras_gen.models.dbvae import DBVAE
from keras_gen.models.vae import VAE, BetaVAE, ConditionalVAE
from keras_gen.training import FAMILIES

__all__ = [
    "BigGAN",
    "DBVAE",
    "DCGAN",
    "GAN",
    "WGAN_GP",
    "ConditionalGAN",
    "CycleGAN",
    "ImageHistoryPool",
    "Pix2Pix",
    "ProGAN",
    "SAGAN",
    "StyleGAN",
    "FAMILIES",
    "VAE",
    "AutoEncoder",
    "BetaVAE",
    "ConditionalVAE",
    "DiffusionModel",
    "PixelCNN",
    "PixelRNN",
    "DenoisingAutoEncoder",
    "SparseAutoEncoder",
    "StackedAutoEncoder",
]
