"""Convolutional encoder and decoder builders, sized from the image shape.

Each stride-2 convolution halves height and width, so an image side must be divisible by
`2 ** len(filters)`: 28x28 works with two stages (28 -> 14 -> 7), 32x32 and 64x64 with up to
five and six. The last layers producing losses' inputs are float32 so mixed precision
keeps the numerics of the loss in full precision.
"""

from __future__ import annotations

import keras
from keras import layers


def check_image_shape(image_shape, num_downsamples):
    """Return `image_shape` as an `(h, w, c)` tuple, or raise a `ValueError` naming the problem."""
    shape = tuple(int(d) for d in image_shape)
    if len(shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape!r}")
    factor = 2**num_downsamples
    if shape[0] % factor or shape[1] % factor:
        raise ValueError(
            f"image_shape {shape}: height and width must be divisible by {factor} for "
            f"{num_downsamples} stride-2 stages; pick other `filters` or resize the images"
        )
    return shape


def conv_encoder(
    image_shape,
    latent_dim,
    *,
    filters=(32, 64),
    dense_units=128,
    gaussian=True,
    name="encoder",
):
    """Stride-2 conv stack -> dense -> latent code.

    With `gaussian=True` the model returns `[mean, log_var]` (two float32 `(batch, latent_dim)`
    tensors), else one code tensor.

    Example:
    >>> encoder = conv_encoder((28, 28, 1), latent_dim=2)
    >>> [tuple(t.shape) for t in encoder.outputs]
    [(None, 2), (None, 2)]
    """
    h, w, c = check_image_shape(image_shape, len(filters))
    images = keras.Input((h, w, c), name="images")
    x = images
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    if gaussian:
        mean = layers.Dense(latent_dim, dtype="float32", name="mean")(x)
        log_var = layers.Dense(latent_dim, dtype="float32", name="log_var")(x)
        return keras.Model(images, [mean, log_var], name=name)
    code = layers.Dense(latent_dim, dtype="float32", name="code")(x)
    return keras.Model(images, code, name=name)


def conv_decoder(
    image_shape,
    latent_dim,
    *,
    filters=(64, 32),
    dense_units=128,
    output_activation=None,
    name="decoder",
):
    """Latent code -> dense -> stride-2 transposed convs -> image-sized float32 output.

    With `output_activation=None` the output is logits (for a Bernoulli likelihood); pass
    `"sigmoid"` or `"tanh"` for images.

    Example:
    >>> decoder = conv_decoder((28, 28, 1), latent_dim=2)
    >>> tuple(decoder.output.shape)
    (None, 28, 28, 1)
    """
    h, w, c = check_image_shape(image_shape, len(filters))
    factor = 2 ** len(filters)
    z = keras.Input((latent_dim,), name="z")
    x = z
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = layers.Dense((h // factor) * (w // factor) * filters[0], activation="relu", name="project")(x)
    x = layers.Reshape((h // factor, w // factor, filters[0]), name="reshape")(x)
    for i, f in enumerate(filters):
        x = layers.Conv2DTranspose(
            f, 3, strides=2, padding="same", activation="relu", name=f"deconv_{i}"
        )(x)
    outputs = layers.Conv2D(
        c, 3, padding="same", activation=output_activation, dtype="float32", name="output"
    )(x)
    return keras.Model(z, outputs, name=name)
