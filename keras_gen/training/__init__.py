"""The shared training core every family builds on."""

from keras_gen.training.base import GenerativeModel, first_element, reduce_loss, update_moving_average

__all__ = ["GenerativeModel", "first_element", "reduce_loss", "update_moving_average"]
