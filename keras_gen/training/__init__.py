"""The shared training core every family builds on."""

from keras_gen.training.base import GenerativeModel, first_element, reduce_loss

__all__ = ["GenerativeModel", "first_element", "reduce_loss"]
