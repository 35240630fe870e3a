"""PatchGAN discriminator: one real/fake logit per overlapping image patch.

Stride-2 convolutions (up to `num_layers`, while the map stays at least 4 wide), a stride-1
convolution and a final 1-channel convolution give a map of logits. With
`condition_channels > 0` it takes `[condition, image]` and judges the pair concatenated on
channels (pix2pix); with 0 it judges images alone (CycleGAN). `norm` is `"batch"` or
`"instance"` (GroupNormalization with one group per channel).
"""

from __future__ import annotations

import keras
from keras import layers

from keras_gen.networks.normalization import synchronized_batch_norm


def _norm(kind, name):
    if kind == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    return synchronized_batch_norm(name)


def patchgan_discriminator(image_shape, *, condition_channels=0, base_filters=64, num_layers=3,
                           norm="batch", name="patchgan"):
    """Images (or `[condition, images]` pairs) -> `(batch, ph, pw, 1)` float32 patch logits.

    Examples:
        >>> d = patchgan_discriminator((28, 28, 1), condition_channels=1, base_filters=8)
        >>> [tuple(t.shape) for t in d.inputs], tuple(d.output.shape)
        ([(None, 28, 28, 1), (None, 28, 28, 1)], (None, 7, 7, 1))
    """
    h, w, c = (int(d) for d in image_shape)
    images = keras.Input((h, w, c), name="images")
    inputs, x = images, images
    if condition_channels:
        condition = keras.Input((h, w, int(condition_channels)), name="condition")
        inputs = [condition, images]
        x = layers.Concatenate(name="pair")([condition, images])
    size = min(h, w)
    for i in range(int(num_layers)):
        if size % 2 or size // 2 < 4:
            break
        size //= 2
        x = layers.Conv2D(base_filters * 2**i, 4, strides=2, padding="same", name=f"down_{i}")(x)
        if i > 0:
            x = _norm(norm, f"down_{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"down_{i}_leaky")(x)
    x = layers.Conv2D(base_filters * 4, 4, padding="same", name="conv")(x)
    x = _norm(norm, "conv_norm")(x)
    x = layers.LeakyReLU(0.2, name="conv_leaky")(x)
    logits = layers.Conv2D(1, 4, padding="same", dtype="float32", name="patch_logits")(x)
    return keras.Model(inputs, logits, name=name)
