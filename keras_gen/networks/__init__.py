"""Network builders: functions that return plain `keras.Model`s from shapes and a few sizes."""

from keras_gen.networks.conv import check_image_shape, conv_decoder, conv_encoder

__all__ = ["check_image_shape", "conv_decoder", "conv_encoder"]
