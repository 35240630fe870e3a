"""PixelCNN++'s network (Salimans et al., 2017): shifted convolutions in two streams, with
downsampling and skip connections for a context that spans the whole image.

Instead of masks, causality comes from padding and shifting. The `up` stream (`u`) at pixel
(i, j) sees only rows above i: "down-shifted" convolutions pad the top and both sides and
shift the result down a row. The `up-left` stream (`ul`) sees those rows and the pixels left
of j in row i: "down-right-shifted" convolutions, fed by `u`. A down pass of gated residual
blocks halves the resolution twice with strided shifted convolutions (28 -> 14 -> 7); an up
pass doubles it back with transposed ones, and each of its blocks takes the down pass's
activation at the same place as a skip input. A few blocks therefore see the whole image above
and to the left of a pixel, where a masked PixelCNN's context grows one row per block.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from keras_gen.networks.masked import GatedActivation


@keras.saving.register_keras_serializable(package="keras_gen")
class ConcatELU(layers.Layer):
    """`elu([x, -x])` along the channels: PixelCNN++'s activation (twice the channels)."""

    def call(self, inputs):
        return ops.elu(ops.concatenate([inputs, -inputs], axis=-1))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 * input_shape[-1])


@keras.saving.register_keras_serializable(package="keras_gen")
class AppendOnes(layers.Layer):
    """Append a channel of ones, so that zero padding differs from a zero input."""

    def call(self, inputs):
        return ops.concatenate([inputs, ops.ones_like(inputs[..., :1])], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


def _shift(x, direction, name):
    """Move a map one row down (`"down"`) or one column right (`"right"`), zero-filled."""
    if direction == "down":
        x = layers.ZeroPadding2D(((1, 0), (0, 0)), name=f"{name}_pad")(x)
        return layers.Cropping2D(((0, 1), (0, 0)), name=f"{name}_crop")(x)
    x = layers.ZeroPadding2D(((0, 0), (1, 0)), name=f"{name}_pad")(x)
    return layers.Cropping2D(((0, 0), (0, 1)), name=f"{name}_crop")(x)


def _down_conv(x, filters, kernel, name, strides=1):
    """Down-shifted convolution: output (i, j) sees input rows <= i (kernel rows above, kernel
    columns centred)."""
    kh, kw = kernel
    x = layers.ZeroPadding2D(((kh - 1, 0), ((kw - 1) // 2, (kw - 1) // 2)), name=f"{name}_pad")(x)
    return layers.Conv2D(filters, kernel, strides=strides, name=name)(x)


def _down_right_conv(x, filters, kernel, name, strides=1):
    """Down-right-shifted convolution: output (i, j) sees input rows <= i and columns <= j."""
    kh, kw = kernel
    x = layers.ZeroPadding2D(((kh - 1, 0), (kw - 1, 0)), name=f"{name}_pad")(x)
    return layers.Conv2D(filters, kernel, strides=strides, name=name)(x)


def _down_conv_3(x, filters, name):
    """The `u` stream's block convolution: down-shifted, 2x3."""
    return _down_conv(x, filters, (2, 3), name)


def _down_right_conv_2(x, filters, name):
    """The `ul` stream's block convolution: down-right-shifted, 2x2."""
    return _down_right_conv(x, filters, (2, 2), name)


def _down_deconv(x, filters, name):
    """2x transposed down-shifted convolution (kernel 2x3), cropped to twice the size."""
    x = layers.Conv2DTranspose(filters, (2, 3), strides=2, name=name)(x)
    return layers.Cropping2D(((0, 0), (1, 0)), name=f"{name}_crop")(x)


def _down_right_deconv(x, filters, name):
    """2x transposed down-right-shifted convolution (kernel 2x2): exactly twice the size."""
    return layers.Conv2DTranspose(filters, (2, 2), strides=2, name=name)(x)


def _gated_resnet(x, conv, filters, name, skip=None, dropout=0.0):
    """`x + gate(conv(dropout(elu(conv(elu(x)) + nin(elu(skip))))))`, PixelCNN++'s block."""
    y = conv(ConcatELU(name=f"{name}_elu_a")(x), filters, f"{name}_conv_a")
    if skip is not None:
        y = layers.Add(name=f"{name}_join")([
            y, layers.Conv2D(filters, 1, name=f"{name}_skip")(ConcatELU(name=f"{name}_elu_skip")(skip))])
    y = ConcatELU(name=f"{name}_elu_b")(y)
    if dropout:
        y = layers.Dropout(dropout, name=f"{name}_dropout")(y)
    y = conv(y, 2 * filters, f"{name}_conv_b")
    return layers.Add(name=f"{name}_add")([x, GatedActivation("linear", name=f"{name}_gate")(y)])


def shifted_pixelcnn_network(image_shape, *, filters=64, num_blocks=2, levels=256, head=None,
                             dropout=0.0, name="pixelcnn_pp"):
    """Images scaled to [-1, 1] -> logits `(batch, h, w, c, levels)` (float32), or the
    `head = (groups, size)` values of another likelihood: PixelCNN++'s two-stream network with
    `num_blocks` gated residual blocks per stage, three stages down (full, 1/2, 1/4 size;
    sides divisible by 4) and three up, `dropout` inside each block during training.

    Examples:
        >>> tuple(shifted_pixelcnn_network((8, 8, 1), filters=8, num_blocks=1).output.shape)
        (None, 8, 8, 1, 256)
    """
    h, w, c = (int(d) for d in image_shape)
    if h % 4 or w % 4:
        raise ValueError(f"PixelCNN++'s two downsamplings need sides divisible by 4, got {h}x{w}")
    groups, size = (int(d) for d in (head or (c, levels)))
    f, blocks = int(filters), int(num_blocks)
    inputs = keras.Input((h, w, c), name="images")
    x = AppendOnes(name="append_ones")(inputs)
    u = _shift(_down_conv(x, f, (2, 3), "u_in"), "down", "u_in_shift")
    ul = layers.Add(name="ul_in")([
        _shift(_down_conv(x, f, (1, 3), "ul_in_up"), "down", "ul_in_up_shift"),
        _shift(_down_right_conv(x, f, (2, 1), "ul_in_left"), "right", "ul_in_left_shift")])
    us, uls = [u], [ul]
    for stage in range(3):  # down pass
        if stage:
            u = _down_conv(u, f, (2, 3), f"down_{stage}_u_stride", strides=2)
            ul = _down_right_conv(ul, f, (2, 2), f"down_{stage}_ul_stride", strides=2)
            us.append(u)
            uls.append(ul)
        for b in range(blocks):
            u = _gated_resnet(u, _down_conv_3, f, f"down_{stage}_{b}_u", dropout=dropout)
            ul = _gated_resnet(ul, _down_right_conv_2, f, f"down_{stage}_{b}_ul", skip=u,
                               dropout=dropout)
            us.append(u)
            uls.append(ul)
    u, ul = us.pop(), uls.pop()
    for stage in range(3):  # up pass, each block fed the down pass's activation there
        if stage:
            u = _down_deconv(u, f, f"up_{stage}_u_stride")
            ul = _down_right_deconv(ul, f, f"up_{stage}_ul_stride")
        for b in range(blocks + (1 if stage else 0)):
            u = _gated_resnet(u, _down_conv_3, f, f"up_{stage}_{b}_u", skip=us.pop(),
                              dropout=dropout)
            ul = _gated_resnet(ul, _down_right_conv_2, f, f"up_{stage}_{b}_ul",
                               skip=layers.Concatenate(name=f"up_{stage}_{b}_ul_context")([u, uls.pop()]),
                               dropout=dropout)
    out = layers.Conv2D(groups * size, 1, dtype="float32", name="logits")(
        layers.Activation("elu", name="out_elu")(ul))
    logits = layers.Reshape((h, w, groups, size), dtype="float32", name="per_level")(out)
    return keras.Model(inputs, logits, name=name)
