"""Inputs of conditional networks: a condition vector (a one-hot label) joined to the input.

`vector_input` joins it to a vector input (z, or a flattened image) by concatenation;
`image_input` joins it to an image as constant extra channels. Each returns the Keras inputs
to build the model from and the joined tensor to build on.
"""

from __future__ import annotations

import keras
from keras import layers


def vector_input(size, condition_dim=0, name="z"):
    """`(inputs, x)`: a `(size,)` input, with `[input, condition]` concatenated if conditional."""
    vector = keras.Input((int(size),), name=name)
    if not condition_dim:
        return vector, vector
    condition = keras.Input((int(condition_dim),), name="condition")
    return [vector, condition], layers.Concatenate(name="join_condition")([vector, condition])


def image_input(image_shape, condition_dim=0, name="images"):
    """`(inputs, x)`: an image input, with the condition broadcast to extra channels if any."""
    h, w, c = (int(d) for d in image_shape)
    images = keras.Input((h, w, c), name=name)
    if not condition_dim:
        return images, images
    condition = keras.Input((int(condition_dim),), name="condition")
    planes = layers.Reshape((1, 1, int(condition_dim)))(condition)
    planes = layers.UpSampling2D((h, w), name="condition_planes")(planes)
    return [images, condition], layers.Concatenate(name="join_condition")([images, planes])
