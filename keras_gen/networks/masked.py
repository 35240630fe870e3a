"""Masked convolutions and the PixelCNN network (van den Oord et al., 2016).

A masked convolution zeroes the kernel weights that would let an output pixel see itself
(type "A", the first layer) or any later pixel in raster order (types "A" and "B"), so the
network's output at pixel (i, j) depends only on pixels before it: an autoregressive model
p(x) = prod_i p(x_i | x_<i). Images with several channels are treated as one value per pixel
position for masking purposes (all channels of a pixel are predicted together).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops


MASK_TYPES = ("A", "B", "vertical_A", "vertical_B", "horizontal_A", "horizontal_B")


def causal_mask(kernel_size, in_channels, out_channels, mask_type):
    """`(k, k, in, out)` mask of what an output pixel may see of the input window.

    - "A" / "B": rows above the centre, pixels left of the centre, and (B) the centre;
    - "vertical_A" / "vertical_B" (gated PixelCNN's vertical stack): every column of the rows
      above the centre, and (B) of the centre row too, whose features already only see above;
    - "horizontal_A" / "horizontal_B": the centre row only, left of the centre and (B) the centre.
    """
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be one of {MASK_TYPES}, got {mask_type!r}")
    k = int(kernel_size)
    mask = np.zeros((k, k, int(in_channels), int(out_channels)), np.float32)
    centre = k // 2
    if mask_type.startswith("vertical"):
        mask[: centre + (1 if mask_type.endswith("B") else 0)] = 1.0
        return mask
    if not mask_type.startswith("horizontal"):
        mask[:centre] = 1.0
    mask[centre, :centre] = 1.0
    if mask_type.endswith("B"):
        mask[centre, centre] = 1.0
    return mask


@keras.saving.register_keras_serializable(package="keras_gen")
class MaskedConv2D(layers.Layer):
    """A 'same'-padded convolution whose kernel is multiplied by a causal mask.

    Examples:
        >>> layer = MaskedConv2D(8, 3, mask_type="A")
        >>> tuple(layer(np.zeros((1, 5, 5, 1), "float32")).shape)
        (1, 5, 5, 8)
    """

    def __init__(self, filters, kernel_size, mask_type="B", activation=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.mask_type = mask_type
        self.activation = keras.activations.get(activation)
        causal_mask(1, 1, 1, mask_type)  # validates mask_type

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, in_channels, self.filters),
            initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        self.mask = ops.convert_to_tensor(
            causal_mask(self.kernel_size, in_channels, self.filters, self.mask_type))

    def call(self, inputs):
        kernel = self.kernel * ops.cast(self.mask, self.kernel.dtype)
        outputs = ops.conv(inputs, ops.cast(kernel, inputs.dtype), padding="same")
        return self.activation(outputs + ops.cast(self.bias, outputs.dtype))

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, mask_type=self.mask_type,
                      activation=keras.activations.serialize(self.activation))
        return config


def output_head(x, image_shape, head, units):
    """The per-pixel output of the autoregressive networks: ReLU, a `1 x 1` convolution of
    `units`, and a `1 x 1` convolution to `groups * size` values reshaped to
    `(batch, h, w, groups, size)` in float32; `head = (groups, size)` is `(channels, levels)`
    for 256-way logits, or `keras_gen.likelihoods.head_shape` of another likelihood."""
    h, w = int(image_shape[0]), int(image_shape[1])
    groups, size = (int(d) for d in head)
    x = layers.ReLU(name="head_relu")(x)
    x = layers.Conv2D(int(units), 1, activation="relu", name="head")(x)
    logits = layers.Conv2D(groups * size, 1, dtype="float32", name="logits")(x)
    return layers.Reshape((h, w, groups, size), dtype="float32", name="per_level")(logits)


def pixelcnn_network(image_shape, *, filters=64, num_blocks=15, levels=256, head=None,
                     dropout=0.0, name="pixelcnn"):
    """Images scaled to [-1, 1] -> logits `(batch, h, w, c, levels)` (float32), or the
    `head = (groups, size)` values of another likelihood.

    A 7x7 type-A masked convolution, `num_blocks` residual blocks (1x1, 3x3 type-B masked,
    `dropout` during training, 1x1), then two 1x1 convolutions. Each block widens the context
    by one row: the default 15 see 18 rows above a pixel (`receptive_field`), enough for a
    28x28 digit; keras.io's 5 see 8.

    Examples:
        >>> tuple(pixelcnn_network((8, 8, 1), filters=8, num_blocks=1).output.shape)
        (None, 8, 8, 1, 256)
    """
    h, w, c = (int(d) for d in image_shape)
    inputs = keras.Input((h, w, c), name="images")
    x = MaskedConv2D(2 * filters, 7, mask_type="A", name="masked_a")(inputs)
    for b in range(int(num_blocks)):
        y = layers.ReLU(name=f"block_{b}_relu_a")(x)
        y = layers.Conv2D(filters, 1, activation="relu", name=f"block_{b}_in")(y)
        y = MaskedConv2D(filters, 3, mask_type="B", activation="relu", name=f"block_{b}_masked")(y)
        if dropout:
            y = layers.Dropout(dropout, name=f"block_{b}_dropout")(y)
        y = layers.Conv2D(2 * filters, 1, name=f"block_{b}_out")(y)
        x = layers.Add(name=f"block_{b}_add")([x, y])
    logits = output_head(x, image_shape, head or (c, levels), 2 * filters)
    return keras.Model(inputs, logits, name=name)


@keras.saving.register_keras_serializable(package="keras_gen")
class GatedActivation(layers.Layer):
    """`tanh(a) * sigmoid(b)` where `a`, `b` are the two halves of the channels (the gated
    PixelCNN's gate); `activation="linear"` gives `a * sigmoid(b)` (PixelCNN++'s)."""

    def __init__(self, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        if activation not in ("tanh", "linear"):
            raise ValueError(f"activation must be 'tanh' or 'linear', got {activation!r}")
        self.activation = activation

    def call(self, inputs):
        a, b = ops.split(inputs, 2, axis=-1)
        return (ops.tanh(a) if self.activation == "tanh" else a) * ops.sigmoid(b)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


def gated_pixelcnn_network(image_shape, *, filters=64, num_blocks=15, levels=256, head=None,
                           dropout=0.0, name="gated_pixelcnn"):
    """Gated PixelCNN (van den Oord et al., 2016b): vertical and horizontal stacks with gated
    activations, which removes the blind spot of the masked-convolution PixelCNN.

    The vertical stack at (i, j) sees only rows above i; the horizontal stack sees pixels left
    of j in row i plus the vertical stack at (i, j); `dropout` acts on the horizontal stack's
    gated features during training. Output: logits `(batch, h, w, c, levels)`.

    Examples:
        >>> tuple(gated_pixelcnn_network((8, 8, 1), filters=8, num_blocks=1).output.shape)
        (None, 8, 8, 1, 256)
    """
    h, w, c = (int(d) for d in image_shape)
    inputs = keras.Input((h, w, c), name="images")
    v = GatedActivation(name="v_gate_0")(MaskedConv2D(2 * filters, 7, "vertical_A", name="v_0")(inputs))
    hor = GatedActivation(name="h_gate_0")(layers.Add(name="h_join_0")([
        MaskedConv2D(2 * filters, 7, "horizontal_A", name="h_0")(inputs),
        layers.Conv2D(2 * filters, 1, name="v_to_h_0")(v)]))
    for b in range(1, int(num_blocks) + 1):
        v_features = MaskedConv2D(2 * filters, 3, "vertical_B", name=f"v_{b}")(v)
        h_features = layers.Add(name=f"h_join_{b}")([
            MaskedConv2D(2 * filters, 3, "horizontal_B", name=f"h_{b}")(hor),
            layers.Conv2D(2 * filters, 1, name=f"v_to_h_{b}")(v_features)])
        v = GatedActivation(name=f"v_gate_{b}")(v_features)
        gated = GatedActivation(name=f"h_gate_{b}")(h_features)
        if dropout:
            gated = layers.Dropout(dropout, name=f"h_dropout_{b}")(gated)
        hor = layers.Add(name=f"h_residual_{b}")([hor, layers.Conv2D(filters, 1, name=f"h_out_{b}")(gated)])
    logits = output_head(hor, image_shape, head or (c, levels), 2 * filters)
    return keras.Model(inputs, logits, name=name)


def receptive_field(network, image_shape):
    """`(rows above, leftmost column, rightmost column)` of the inputs that the prediction at
    the bottom-centre pixel depends on (non-zero gradient; a lower bound, as a gradient can
    vanish at a dead ReLU). A PixelCNN whose context is much shorter than an object draws
    locally plausible strokes that never add up to one.

    Examples:
        >>> keras.utils.set_random_seed(0)  # a dead ReLU at another draw can hide a column
        >>> receptive_field(pixelcnn_network((12, 12, 1), filters=4, num_blocks=2), (12, 12, 1))
        (5, 1, 11)
    """
    import tensorflow as tf

    height, width, _ = (int(d) for d in image_shape)
    x = tf.random.uniform((1, *image_shape))
    with tf.GradientTape() as tape:
        tape.watch(x)
        target = tf.reduce_sum(network(x)[0, height - 1, width // 2])
    seen = np.abs(tape.gradient(target, x).numpy()[0]).sum(axis=-1) > 0
    rows, cols = np.nonzero(seen.any(axis=1))[0], np.nonzero(seen.any(axis=0))[0]
    return int(height - 1 - rows.min()), int(cols.min()), int(cols.max())
