"""ResNet generator of CycleGAN (Zhu et al., 2017), with instance normalization.

A 7x7 convolution, two stride-2 downsamplings, `num_blocks` residual blocks, two stride-2
upsamplings and a 7x7 tanh convolution: `images -> images` of the same shape.
"""

from __future__ import annotations

import keras
from keras import layers


def _instance_norm(name):
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def resnet_generator(image_shape, out_channels=None, *, base_filters=64, num_blocks=6,
                     name="resnet_generator"):
    """`images -> images` translator; height and width must be divisible by 4.

    Examples:
        >>> tuple(resnet_generator((28, 28, 1), base_filters=8, num_blocks=2).output.shape)
        (None, 28, 28, 1)
    """
    h, w, c = (int(d) for d in image_shape)
    if h % 4 or w % 4:
        raise ValueError(f"image_shape {tuple(image_shape)}: sides must be divisible by 4")
    out_channels = int(out_channels or c)
    inputs = keras.Input((h, w, c), name="images")
    x = layers.Conv2D(base_filters, 7, padding="same", name="stem")(inputs)
    x = layers.ReLU(name="stem_relu")(_instance_norm("stem_norm")(x))
    for i, f in enumerate((base_filters * 2, base_filters * 4)):
        x = layers.Conv2D(f, 3, strides=2, padding="same", name=f"down_{i}")(x)
        x = layers.ReLU(name=f"down_{i}_relu")(_instance_norm(f"down_{i}_norm")(x))
    for b in range(int(num_blocks)):
        y = layers.Conv2D(base_filters * 4, 3, padding="same", name=f"block_{b}_conv_a")(x)
        y = layers.ReLU(name=f"block_{b}_relu")(_instance_norm(f"block_{b}_norm_a")(y))
        y = layers.Conv2D(base_filters * 4, 3, padding="same", name=f"block_{b}_conv_b")(y)
        y = _instance_norm(f"block_{b}_norm_b")(y)
        x = layers.Add(name=f"block_{b}_add")([x, y])
    for i, f in enumerate((base_filters * 2, base_filters)):
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", name=f"up_{i}")(x)
        x = layers.ReLU(name=f"up_{i}_relu")(_instance_norm(f"up_{i}_norm")(x))
    outputs = layers.Conv2D(out_channels, 7, padding="same", activation="tanh", dtype="float32",
                            name="to_image")(x)
    return keras.Model(inputs, outputs, name=name)
