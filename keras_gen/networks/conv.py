"""Convolutional encoder and decoder builders, sized from the image shape.

Each stride-2 convolution halves height and width, so an image side must be divisible by
`2 ** len(filters)`: 28x28 works with two stages (28 -> 14 -> 7), 32x32 and 64x64 with up to
five and six. The last layers producing losses' inputs are float32 so mixed precision
keeps the numerics of the loss in full precision.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_gen.networks.conditioning import image_input, vector_input


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
    code_activation=None,
    condition_dim=0,
    name="encoder",
):
    """Stride-2 conv stack -> dense -> latent code.

    With `gaussian=True` the model returns `[mean, log_var]` (two float32 `(batch, latent_dim)`
    tensors), else one code tensor (with `code_activation`). With `condition_dim > 0` the model
    takes `[images, condition]` and joins the condition vector (a one-hot label) to the image
    as constant extra channels.

    Examples:
        >>> encoder = conv_encoder((28, 28, 1), latent_dim=2)
        >>> [tuple(t.shape) for t in encoder.outputs]
        [(None, 2), (None, 2)]
    """
    h, w, c = check_image_shape(image_shape, len(filters))
    inputs, x = image_input((h, w, c), condition_dim)
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    if gaussian:
        mean = layers.Dense(latent_dim, dtype="float32", name="mean")(x)
        log_var = layers.Dense(latent_dim, dtype="float32", name="log_var")(x)
        return keras.Model(inputs, [mean, log_var], name=name)
    code = layers.Dense(latent_dim, activation=code_activation, dtype="float32", name="code")(x)
    return keras.Model(inputs, code, name=name)


def conv_classifier_encoder(
    image_shape, latent_dim, *, num_logits=1, filters=(32, 64), dense_units=128, name="encoder"
):
    """A conv encoder with a classifier head: images -> `[logits, mean, log_var]` (float32).

    The classifier and the Gaussian posterior share every layer but the last, as in DB-VAE.

    Examples:
        >>> encoder = conv_classifier_encoder((28, 28, 1), latent_dim=4)
        >>> [tuple(t.shape) for t in encoder.outputs]
        [(None, 1), (None, 4), (None, 4)]
    """
    backbone = conv_encoder(image_shape, latent_dim, filters=filters, dense_units=dense_units,
                            name=f"{name}_backbone")
    features = backbone.get_layer("dense" if dense_units else "flatten").output
    logits = layers.Dense(num_logits, dtype="float32", name="logits")(features)
    return keras.Model(backbone.input, [logits, *backbone.outputs], name=name)


def conv_decoder(
    image_shape,
    latent_dim,
    *,
    filters=(64, 32),
    dense_units=128,
    output_activation=None,
    condition_dim=0,
    name="decoder",
):
    """Latent code -> dense -> stride-2 transposed convs -> image-sized float32 output.

    With `output_activation=None` the output is logits (for a Bernoulli likelihood); pass
    `"sigmoid"` or `"tanh"` for images. With `condition_dim > 0` the model takes
    `[z, condition]` and concatenates them.

    Examples:
        >>> decoder = conv_decoder((28, 28, 1), latent_dim=2)
        >>> tuple(decoder.output.shape)
        (None, 28, 28, 1)
    """
    h, w, c = check_image_shape(image_shape, len(filters))
    factor = 2 ** len(filters)
    inputs, x = vector_input(latent_dim, condition_dim)
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
    return keras.Model(inputs, outputs, name=name)
