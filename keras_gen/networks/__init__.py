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
)

__all__ = [
    "check_image_shape",
    "conv_classifier_encoder",
    "conv_decoder",
    "conv_encoder",
    "dense_decoder",
    "dense_decoder_from_layers",
    "dense_encoder",
    "dense_encoder_from_layers",
    "mirrored_dense_layers",
]
