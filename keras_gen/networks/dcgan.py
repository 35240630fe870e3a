"""DCGAN generator and discriminator (Radford et al., 2016), sized from the image shape.

The generator projects z to a small `s x s` map and doubles it with stride-2 transposed
convolutions (batch norm, ReLU) up to the image size, ending in tanh; the discriminator mirrors
it with stride-2 convolutions and LeakyReLU (batch norm after the first block, or none for a
WGAN-GP critic, whose gradient penalty is per example). The number of stages is the largest
that leaves `s >= 4`: 28x28 -> 7 (2 stages), 32x32 -> 4 (3), 64x64 -> 4 (4).

The options make `SAGAN(architecture="dcgan")`'s networks from the same backbone (as several
public SAGAN implementations do): spectral normalization on every weight layer, a self-attention block on
the half-resolution maps (16x16 for 32 px), orthogonal initialisation, and class conditioning
by conditional batch norm in G (`conditioning="batch_norm"`) and a projection discriminator
(`conditioning="projection"`) instead of joining the one-hot label to the inputs.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_gen.networks.attention import SelfAttention2D, norm_block, spectral
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


GENERATOR_CONDITIONING = ("concat", "batch_norm")
DISCRIMINATOR_CONDITIONING = ("channels", "projection")


def dcgan_generator(latent_dim, image_shape, *, base_filters=64, condition_dim=0,
                    conditioning="concat", spectral_norm=False, attention=False,
                    kernel_initializer="glorot_uniform", name="generator"):
    """z (and a condition vector) -> tanh images of `image_shape` (float32).

    `conditioning="concat"` joins the condition to z; `"batch_norm"` makes every batch norm
    conditional on it instead.

    Examples:
        >>> [tuple(dcgan_generator(16, s).output.shape) for s in [(28, 28, 1), (32, 32, 3)]]
        [(None, 28, 28, 1), (None, 32, 32, 3)]
    """
    if conditioning not in GENERATOR_CONDITIONING:
        raise ValueError(f"conditioning must be one of {GENERATOR_CONDITIONING}, got {conditioning!r}")
    h, w, c = (int(d) for d in image_shape)
    stages = num_stages(image_shape)
    s_h, s_w = h // 2**stages, w // 2**stages
    init = dict(kernel_initializer=kernel_initializer)
    sn = spectral_norm
    condition = None
    if condition_dim and conditioning == "batch_norm":
        z = keras.Input((int(latent_dim),), name="z")
        condition = keras.Input((int(condition_dim),), name="condition")
        inputs, x = [z, condition], z
    else:
        inputs, x = vector_input(latent_dim, condition_dim)
    top = base_filters * 2 ** (stages - 1)
    x = spectral(layers.Dense(s_h * s_w * top, use_bias=False, name="project", **init), sn)(x)
    if condition is None:  # DCGAN: batch norm of each projected unit
        x = synchronized_batch_norm("project_norm")(x)
        x = layers.ReLU(name="project_relu")(x)
        x = layers.Reshape((s_h, s_w, top), name="to_map")(x)
    else:  # conditional batch norm of each channel
        x = layers.Reshape((s_h, s_w, top), name="to_map")(x)
        x = norm_block(x, condition, "project_norm", sn)
        x = layers.ReLU(name="project_relu")(x)
    for i in range(stages - 1):
        filters = base_filters * 2 ** (stages - 2 - i)
        x = spectral(layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False,
                                            name=f"up_{i}", **init), sn)(x)
        x = norm_block(x, condition, f"up_{i}_norm", sn)
        x = layers.ReLU(name=f"up_{i}_relu")(x)
    if attention:
        x = SelfAttention2D(spectral_norm=sn, name="attention")(x)
    if not sn:
        images = layers.Conv2DTranspose(c, 4, strides=2, padding="same", activation="tanh",
                                        dtype="float32", name="to_image", **init)(x)
        return keras.Model(inputs, images, name=name)
    x = spectral(layers.Conv2DTranspose(c, 4, strides=2, padding="same", name="to_image", **init),
                 sn)(x)
    images = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, images, name=name)


def dcgan_discriminator(image_shape, *, base_filters=64, condition_dim=0, conditioning="channels",
                        batch_norm=True, spectral_norm=False, dropout=0.0, attention=False,
                        kernel_initializer="glorot_uniform", name="discriminator"):
    """Images (and a condition vector) -> one logit.

    `conditioning="channels"` joins the condition to the image as constant extra channels;
    `"projection"` adds `<embed(condition), features>` to the logit (Miyato & Koyama, 2018).

    Examples:
        >>> tuple(dcgan_discriminator((28, 28, 1)).output.shape)
        (None, 1)
    """
    if conditioning not in DISCRIMINATOR_CONDITIONING:
        raise ValueError(f"conditioning must be one of {DISCRIMINATOR_CONDITIONING}, "
                         f"got {conditioning!r}")
    h, w, c = (int(d) for d in image_shape)
    stages = num_stages(image_shape)
    projection = bool(condition_dim) and conditioning == "projection"
    inputs, x = image_input((h, w, c), 0 if projection else condition_dim)
    init = dict(kernel_initializer=kernel_initializer)
    wrap = (lambda layer: spectral(layer, spectral_norm))
    for i in range(stages):
        x = wrap(layers.Conv2D(base_filters * 2**i, 4, strides=2, padding="same", name=f"down_{i}",
                               **init))(x)
        if batch_norm and i > 0 and not spectral_norm:
            x = synchronized_batch_norm(f"down_{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"down_{i}_leaky")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"down_{i}_dropout")(x)
        if attention and i == 0:
            x = SelfAttention2D(spectral_norm=spectral_norm, name="attention")(x)
    features = layers.Flatten(name="flatten")(x)
    if not projection:
        logits = wrap(layers.Dense(1, dtype="float32", name="logit", **init))(features)
        return keras.Model(inputs, logits, name=name)
    condition = keras.Input((int(condition_dim),), name="condition")
    logit = wrap(layers.Dense(1, name="linear", **init))(features)
    embedded = wrap(layers.Dense(int(features.shape[-1]), use_bias=False, name="projection",
                                 **init))(condition)
    logit = layers.Add(name="add_projection")(
        [logit, layers.Dot(axes=1, name="project_class")([embedded, features])])
    logits = layers.Activation("linear", dtype="float32", name="logit")(logit)
    return keras.Model([inputs, condition], logits, name=name)
