"""Network builders: functions that return plain `keras.Model`s from shapes and a few sizes."""

from keras_gen.networks.conv import (
    check_image_shape,
    conv_classifier_encoder,
    conv_decoder,
    conv_encoder,
)
from keras_gen.networks.mlp import (
    dense_decoder,
    dense_decoder_from_layers,
    dense_encoder,
    dense_encoder_from_layers,
    mirrored_dense_layers,
    mlp_discriminator,
    mlp_generator,
)
from keras_gen.networks.dcgan import dcgan_discriminator, dcgan_generator

__all__ = [
    "check_image_shape",
    "conv_classifier_encoder",
    "conv_decoder",
    "conv_encoder",
    "dcgan_discriminator",
    "dcgan_generator",
    "dense_decoder",
    "dense_decoder_from_layers",
    "dense_encoder",
    "dense_encoder_from_layers",
    "mirrored_dense_layers",
    "mlp_discriminator",
    "mlp_generator",
]
