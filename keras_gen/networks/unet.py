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

from keras_gen.networks.normalization import synchronized_batch_norm


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

    Examples:
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
            x = synchronized_batch_norm(f"down_{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"down_{i}_leaky")(x)
        skips.append(x)
    skips = skips[:-1][::-1]
    for i, (f, skip) in enumerate(zip(filters[:-1][::-1], skips)):
        x = layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False, name=f"up_{i}")(x)
        x = synchronized_batch_norm(f"up_{i}_norm")(x)
        if dropout and i < dropout_layers:
            x = layers.Dropout(dropout, name=f"up_{i}_dropout")(x)
        x = layers.ReLU(name=f"up_{i}_relu")(x)
        x = layers.Concatenate(name=f"skip_{i}")([x, skip])
    outputs = layers.Conv2DTranspose(out_channels, 4, strides=2, padding="same", activation="tanh",
                                     dtype="float32", name="to_image")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="keras_gen")
class SinusoidalEmbedding(layers.Layer):
    """Sinusoidal embedding of diffusion timesteps `(batch,)` -> `(batch, dim)` (Vaswani et al.).

    Computed in float32 under any policy: a bfloat16 timestep would round 999 to 1000.
    """

    def __init__(self, dim, max_period=10000.0, **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # take the timesteps as given (float32), never the policy's dtype
        self.dim, self.max_period = int(dim), float(max_period)

    def call(self, t):
        import math

        from keras import ops

        half = self.dim // 2
        freqs = ops.exp(-math.log(self.max_period) * ops.arange(half, dtype="float32") / half)
        angles = ops.cast(ops.reshape(t, (-1, 1)), "float32") * freqs[None, :]
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(dim=self.dim, max_period=self.max_period)
        return config


def _residual_block(x, time, filters, name):
    skip = x if x.shape[-1] == filters else layers.Conv2D(filters, 1, name=f"{name}_skip")(x)
    h = layers.GroupNormalization(groups=8, name=f"{name}_norm_a")(x)
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv_a")(layers.Activation("swish")(h))
    h = h + layers.Reshape((1, 1, filters))(layers.Dense(filters, name=f"{name}_time")(time))
    h = layers.GroupNormalization(groups=8, name=f"{name}_norm_b")(h)
    h = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv_b")(layers.Activation("swish")(h))
    return layers.Add(name=f"{name}_add")([skip, h])


def diffusion_unet(image_shape, *, base_filters=32, levels=2, name="diffusion_unet"):
    """`[noisy images, timesteps]` -> predicted noise of the images' shape (float32).

    Residual blocks with group norm and a timestep embedding added in every block; `levels`
    stride-2 stages, so sides must be divisible by `2 ** levels`.

    Examples:
        >>> tuple(diffusion_unet((28, 28, 1), base_filters=8).output.shape)
        (None, 28, 28, 1)
    """
    h, w, c = (int(d) for d in image_shape)
    if h % 2**levels or w % 2**levels:
        raise ValueError(f"image_shape {tuple(image_shape)}: sides must be divisible by {2**levels}")
    images = keras.Input((h, w, c), name="noisy_images")
    t = keras.Input((), name="timesteps")
    time = layers.Dense(4 * base_filters, activation="swish", name="time_a")(
        SinusoidalEmbedding(base_filters, name="time_embedding")(t))
    time = layers.Dense(4 * base_filters, name="time_b")(time)
    x = layers.Conv2D(base_filters, 3, padding="same", name="stem")(images)
    skips = []
    for i in range(levels):
        x = _residual_block(x, time, base_filters * 2**i, f"down_{i}")
        skips.append(x)
        x = layers.Conv2D(base_filters * 2**i, 3, strides=2, padding="same", name=f"down_{i}_pool")(x)
    x = _residual_block(x, time, base_filters * 2**levels, "middle")
    for i in reversed(range(levels)):
        x = layers.UpSampling2D(2, name=f"up_{i}_upsample")(x)
        x = layers.Concatenate(name=f"up_{i}_join")([x, skips[i]])
        x = _residual_block(x, time, base_filters * 2**i, f"up_{i}")
    x = layers.Activation("swish")(layers.GroupNormalization(groups=8, name="out_norm")(x))
    noise = layers.Conv2D(c, 3, padding="same", dtype="float32", name="noise")(x)
    return keras.Model([images, t], noise, name=name)
