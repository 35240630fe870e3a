"""U-Net generator for image-to-image translation (pix2pix; Isola et al., 2017).

An encoder of stride-2 convolutions (LeakyReLU, batch norm after the first) halves the image
until a side becomes odd or reaches 1; a decoder of stride-2 transposed convolutions (ReLU,
batch norm, dropout on the innermost `dropout_layers` as the generator's noise) doubles it
back, each level concatenated with the encoder output of the same size (skip connections).
The output has the input's height and width and `out_channels` channels, tanh (float32).
"""

from __future__ import annotations

import keras
from keras import layers


def num_downsamples(image_shape, max_downs=8):
    """Stride-2 levels a side can take: 28 -> 2 (28, 14, 7), 32 -> 5, 64 -> 6, 256 -> 8."""
    h, w = int(image_shape[0]), int(image_shape[1])
    downs = 0
    while downs < max_downs and h % 2 == 0 and w % 2 == 0 and h >= 2 and w >= 2:
        h, w, downs = h // 2, w // 2, downs + 1
    if downs == 0:
        raise ValueError(f"image_shape {tuple(image_shape)}: sides must be even")
    return downs


def unet_generator(image_shape, out_channels=None, *, base_filters=64, max_filters=512,
                   dropout=0.5, dropout_layers=3, name="unet_generator"):
    """U-Net `images -> images` with skip connections; output shape = input shape.

    Example:
    >>> [tuple(unet_generator(s, base_filters=8).output.shape)
    ...  for s in [(28, 28, 1), (32, 32, 3), (64, 64, 3)]]
    [(None, 28, 28, 1), (None, 32, 32, 3), (None, 64, 64, 3)]
    """
    h, w, c = (int(d) for d in image_shape)
    out_channels = int(out_channels or c)
    downs = num_downsamples(image_shape)
    filters = [min(base_filters * 2**i, max_filters) for i in range(downs)]
    inputs = keras.Input((h, w, c), name="images")
    x, skips = inputs, []
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 4, strides=2, padding="same", use_bias=False, name=f"down_{i}")(x)
        if i > 0:
            x = layers.BatchNormalization(name=f"down_{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"down_{i}_leaky")(x)
        skips.append(x)
    skips = skips[:-1][::-1]
    for i, (f, skip) in enumerate(zip(filters[:-1][::-1], skips)):
        x = layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False, name=f"up_{i}")(x)
        x = layers.BatchNormalization(name=f"up_{i}_norm")(x)
        if dropout and i < dropout_layers:
            x = layers.Dropout(dropout, name=f"up_{i}_dropout")(x)
        x = layers.ReLU(name=f"up_{i}_relu")(x)
        x = layers.Concatenate(name=f"skip_{i}")([x, skip])
    outputs = layers.Conv2DTranspose(out_channels, 4, strides=2, padding="same", activation="tanh",
                                     dtype="float32", name="to_image")(x)
    return keras.Model(inputs, outputs, name=name)
