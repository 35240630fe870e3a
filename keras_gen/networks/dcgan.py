"""DCGAN generator and discriminator (Radford et al., 2016), sized from the image shape.

The generator projects z to a small `s x s` map and doubles it with stride-2 transposed
convolutions (batch norm, ReLU) up to the image size, ending in tanh; the discriminator mirrors
it with stride-2 convolutions and LeakyReLU (batch norm after the first block, or none for a
WGAN-GP critic, whose gradient penalty is per example). The number of stages is the largest
that leaves `s >= 4`: 28x28 -> 7 (2 stages), 32x32 -> 4 (3), 64x64 -> 4 (4).
"""

from __future__ import annotations

import keras
from keras import layers

from keras_gen.networks.conditioning import image_input, vector_input
from keras_gen.networks.normalization import synchronized_batch_norm


def num_stages(image_shape, smallest=4):
    """How many stride-2 stages divide the image sides down to no less than `smallest`."""
    h, w = int(image_shape[0]), int(image_shape[1])
    stages = 0
    while h % 2 == 0 and w % 2 == 0 and h // 2 >= smallest and w // 2 >= smallest:
        h, w, stages = h // 2, w // 2, stages + 1
    if stages == 0:
        raise ValueError(f"image_shape {tuple(image_shape)}: sides must be even and at least 8")
    return stages


def dcgan_generator(latent_dim, image_shape, *, base_filters=64, condition_dim=0, name="generator"):
    """z (and a condition vector) -> tanh images of `image_shape` (float32).

    Example:
    >>> [tuple(dcgan_generator(16, s).output.shape) for s in [(28, 28, 1), (32, 32, 3)]]
    [(None, 28, 28, 1), (None, 32, 32, 3)]
    """
    h, w, c = (int(d) for d in image_shape)
    stages = num_stages(image_shape)
    s_h, s_w = h // 2**stages, w // 2**stages
    inputs, x = vector_input(latent_dim, condition_dim)
    top = base_filters * 2 ** (stages - 1)
    x = layers.Dense(s_h * s_w * top, use_bias=False, name="project")(x)
    x = synchronized_batch_norm("project_norm")(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((s_h, s_w, top), name="to_map")(x)
    for i in range(stages - 1):
        filters = base_filters * 2 ** (stages - 2 - i)
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False,
                                   name=f"up_{i}")(x)
        x = synchronized_batch_norm(f"up_{i}_norm")(x)
        x = layers.ReLU(name=f"up_{i}_relu")(x)
    images = layers.Conv2DTranspose(c, 4, strides=2, padding="same", activation="tanh",
                                    dtype="float32", name="to_image")(x)
    return keras.Model(inputs, images, name=name)


def dcgan_discriminator(image_shape, *, base_filters=64, condition_dim=0, batch_norm=True,
                        spectral_norm=False, dropout=0.0, name="discriminator"):
    """Images (and a condition vector, joined as constant extra channels) -> one logit.

    Example:
    >>> tuple(dcgan_discriminator((28, 28, 1)).output.shape)
    (None, 1)
    """
    h, w, c = (int(d) for d in image_shape)
    stages = num_stages(image_shape)
    inputs, x = image_input((h, w, c), condition_dim)
    wrap = layers.SpectralNormalization if spectral_norm else (lambda layer: layer)
    for i in range(stages):
        x = wrap(layers.Conv2D(base_filters * 2**i, 4, strides=2, padding="same", name=f"down_{i}"))(x)
        if batch_norm and i > 0 and not spectral_norm:
            x = synchronized_batch_norm(f"down_{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"down_{i}_leaky")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"down_{i}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    logits = wrap(layers.Dense(1, dtype="float32", name="logit"))(x)
    return keras.Model(inputs, logits, name=name)
