"""Residual generator and discriminator of the attention GANs (SAGAN, BigGAN), sized from the
image shape.

Generator: z -> a dense projection to an `s x s` map (the smallest side `num_stages` allows,
4 for 32 px, 7 for 28 px), then one residual up-block per stage (batch norm, ReLU, nearest
2x upsampling, two 3x3 convolutions; a 1x1 convolution on the upsampled skip path), with
self-attention before the last block (on the half-resolution map: 16x16 for 32 px, 32x32 for
64 px), then batch norm, ReLU, a 3x3 convolution and tanh. With a condition vector every
block's batch norms are conditional on it. `hierarchical=True` is BigGAN's latent: z is split
into one chunk per block plus one for the projection, and each block's batch norms see
`[class embedding, its chunk]`; the class embedding (a dense layer on the one-hot label, the
one weight layer never spectrally normalised) is shared by all blocks.

Discriminator: residual down-blocks (ReLU, two 3x3 convolutions, 2x average pooling; the first
block without the leading ReLU), self-attention after the first block, one block that keeps the
size, ReLU, a sum over positions, and a linear output; with a condition, BigGAN's projection
`logit = linear(h) + <embed(y), h>` (Miyato & Koyama, 2018). Every weight layer is spectrally
normalised when `spectral_norm` (D always in the papers; G too in SAGAN and BigGAN) and
initialised orthogonally.
"""

from __future__ import annotations

import keras
from keras import layers

from keras_gen.networks.attention import (
    LatentChunks,
    SelfAttention2D,
    norm_block,
    spectral,
)
from keras_gen.networks.dcgan import num_stages

_INIT = "orthogonal"


def latent_chunk_sizes(latent_dim, chunks):
    """Sizes of `chunks` near-equal consecutive parts of a `latent_dim` vector.

    Examples:
        >>> latent_chunk_sizes(10, 4)
        [3, 3, 2, 2]
    """
    latent_dim, chunks = int(latent_dim), int(chunks)
    if latent_dim < chunks:
        raise ValueError(f"a hierarchical latent needs latent_dim >= {chunks} (one per block "
                         f"and one for the projection), got {latent_dim}")
    return [latent_dim // chunks + (1 if i < latent_dim % chunks else 0) for i in range(chunks)]


def _conv(filters, kernel, name, sn):
    return spectral(layers.Conv2D(filters, kernel, padding="same", kernel_initializer=_INIT,
                                  name=name), sn)


def residual_generator(latent_dim, image_shape, *, base_filters=32, condition_dim=0,
                       embedding_dim=0, hierarchical=False, attention=True, spectral_norm=True,
                       name="generator"):
    """z (and a one-hot condition) -> tanh images of `image_shape` (float32).

    Examples:
        >>> g = residual_generator(16, (32, 32, 3), base_filters=8, condition_dim=4,
        ...                        embedding_dim=8, hierarchical=True)
        >>> [tuple(i.shape) for i in g.inputs], tuple(g.output.shape)
        ([(None, 16), (None, 4)], (None, 32, 32, 3))
    """
    h, w, c = (int(d) for d in image_shape)
    stages = num_stages(image_shape)
    s_h, s_w = h // 2**stages, w // 2**stages
    sn = spectral_norm
    z = keras.Input((int(latent_dim),), name="z")
    inputs = [z]
    condition = None
    if condition_dim:
        one_hot = keras.Input((int(condition_dim),), name="condition")
        inputs.append(one_hot)
        condition = one_hot
        if embedding_dim:
            # never spectrally normalised (BigGAN's shared embedding is a plain embedding):
            # on one-hot inputs the norm caps every class vector at length 1, under the z
            # chunk beside it, and G learned to ignore the class (consistency 0.15)
            condition = layers.Dense(int(embedding_dim), use_bias=False, kernel_initializer=_INIT,
                                     name="class_embedding")(one_hot)
    if hierarchical:
        chunks = LatentChunks(latent_chunk_sizes(latent_dim, stages + 1), name="z_chunks")(z)
        projected, block_latents = chunks[0], chunks[1:]
    else:
        projected, block_latents = z, [None] * stages
    top = base_filters * 2 ** (stages - 1)
    x = spectral(layers.Dense(s_h * s_w * top, kernel_initializer=_INIT, name="project"), sn)(projected)
    x = layers.Reshape((s_h, s_w, top), name="to_map")(x)
    for i in range(stages):
        block_condition = condition
        if block_latents[i] is not None:
            parts = [block_latents[i]] if condition is None else [condition, block_latents[i]]
            block_condition = (parts[0] if len(parts) == 1 else
                               layers.Concatenate(name=f"up_{i}_condition")(parts))
        if attention and i == stages - 1:
            x = SelfAttention2D(spectral_norm=sn, name="attention")(x)
        filters = base_filters * 2 ** max(0, stages - 2 - i)
        x = _up_block(x, block_condition, filters, f"up_{i}", sn)
    x = norm_block(x, None, "out_norm")
    x = layers.ReLU(name="out_relu")(x)
    x = _conv(c, 3, "to_image", sn)(x)
    images = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs if len(inputs) > 1 else z, images, name=name)


def _up_block(x, condition, filters, name, sn):
    skip = layers.UpSampling2D(2, name=f"{name}_skip_up")(x)
    skip = _conv(filters, 1, f"{name}_skip", sn)(skip)
    y = norm_block(x, condition, f"{name}_norm_a", sn)
    y = layers.ReLU(name=f"{name}_relu_a")(y)
    y = layers.UpSampling2D(2, name=f"{name}_up")(y)
    y = _conv(filters, 3, f"{name}_conv_a", sn)(y)
    y = norm_block(y, condition, f"{name}_norm_b", sn)
    y = layers.ReLU(name=f"{name}_relu_b")(y)
    y = _conv(filters, 3, f"{name}_conv_b", sn)(y)
    return layers.Add(name=f"{name}_add")([skip, y])


def _down_block(x, filters, name, sn, first=False, downsample=True):
    y = x if first else layers.ReLU(name=f"{name}_relu_a")(x)
    y = _conv(filters, 3, f"{name}_conv_a", sn)(y)
    y = layers.ReLU(name=f"{name}_relu_b")(y)
    y = _conv(filters, 3, f"{name}_conv_b", sn)(y)
    skip = x
    if first:  # pool before the 1x1 convolution: the same map, a quarter of the work
        skip = layers.AveragePooling2D(2, name=f"{name}_skip_pool")(skip)
        skip = _conv(filters, 1, f"{name}_skip", sn)(skip)
    elif downsample or int(x.shape[-1]) != filters:
        skip = _conv(filters, 1, f"{name}_skip", sn)(skip)
        if downsample:
            skip = layers.AveragePooling2D(2, name=f"{name}_skip_pool")(skip)
    if downsample:
        y = layers.AveragePooling2D(2, name=f"{name}_pool")(y)
    return layers.Add(name=f"{name}_add")([skip, y])


def residual_discriminator(image_shape, *, base_filters=32, condition_dim=0, attention=True,
                           spectral_norm=True, name="discriminator"):
    """Images (and a one-hot condition, used by projection) -> one logit.

    Examples:
        >>> d = residual_discriminator((32, 32, 3), base_filters=8, condition_dim=4)
        >>> [tuple(i.shape) for i in d.inputs], tuple(d.output.shape)
        ([(None, 32, 32, 3), (None, 4)], (None, 1))
    """
    h, w, c = (int(d) for d in image_shape)
    stages = num_stages(image_shape)
    sn = spectral_norm
    images = keras.Input((h, w, c), name="images")
    x = images
    for i in range(stages):
        x = _down_block(x, base_filters * 2**i, f"down_{i}", sn, first=i == 0)
        if attention and i == 0:
            x = SelfAttention2D(spectral_norm=sn, name="attention")(x)
    x = _down_block(x, base_filters * 2 ** (stages - 1), "keep", sn, downsample=False)
    x = layers.ReLU(name="out_relu")(x)
    features = layers.GlobalAveragePooling2D(name="pool")(x)
    # a sum over positions, as in the papers: the average times the (fixed) number of positions
    positions = int(x.shape[1]) * int(x.shape[2])
    features = layers.Rescaling(float(positions), name="sum_pool")(features)
    logit = spectral(layers.Dense(1, kernel_initializer=_INIT, name="linear"), sn)(features)
    inputs = images
    if condition_dim:
        one_hot = keras.Input((int(condition_dim),), name="condition")
        embedded = spectral(layers.Dense(int(features.shape[-1]), use_bias=False,
                                         kernel_initializer=_INIT, name="projection"), sn)(one_hot)
        projection = layers.Dot(axes=1, name="project_class")([embedded, features])
        logit = layers.Add(name="add_projection")([logit, projection])
        inputs = [images, one_hot]
    logit = layers.Activation("linear", dtype="float32", name="logit")(logit)
    return keras.Model(inputs, logit, name=name)
