"""PixelRNN networks (van den Oord et al., 2016): Row LSTM and Diagonal BiLSTM.

Both read the image in raster order through a stack of two-dimensional LSTM layers; each
layer's output at pixel (i, j) depends only on the pixels before (i, j), so the network is an
autoregressive model with the same 256-way softmax head as the PixelCNN
(`keras_gen.networks.masked`):

- `RowLSTM` runs down the rows. Its input-to-state part is a `1 x k` convolution along the row,
  masked so that a pixel sees itself (the features below already hide the pixel's own value)
  and its left neighbours; the state-to-state part is a `k`-wide convolution along the previous
  row's hidden state. The context of a pixel is a triangle above it that widens by `k // 2`
  columns per row, plus its left neighbours through the input convolution.
- `DiagonalBiLSTM` skews the feature map (row i shifted right by i), so that one column of the
  skewed map is one diagonal of the image, and runs a column LSTM whose state-to-state part is
  a `2 x 1` convolution (the same and the row above, in the previous column). The left-to-right
  pass sees everything above and to the left; the right-to-left pass (the mirror image) sees
  the right, and its output is shifted down one row before the two are added, so no pixel sees
  its own row to the right. Together the context is every earlier pixel.

The network: a `7 x 7` type-A masked convolution, `num_layers` LSTM layers with residual
connections (LSTM output projected back by a `1 x 1` convolution and added), then two `1 x 1`
convolutions to logits `(batch, h, w, c, levels)`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from keras_gen.networks.masked import MaskedConv2D, output_head

VARIANTS = ("row", "diagonal")


def lstm_update(gates, cell):
    """One LSTM update from the summed gate pre-activations `(..., 4 * units)`."""
    i, f, o, g = ops.split(gates, 4, axis=-1)
    cell = ops.sigmoid(f) * cell + ops.sigmoid(i) * ops.tanh(g)
    return ops.sigmoid(o) * ops.tanh(cell), cell


class _LSTM2D(layers.Layer):
    """What the 2-D LSTM layers share: `units` (the output channels), the config, and the
    gate bias with the forget gate at 1."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def _bias(self):
        forget_one = np.zeros(4 * self.units, np.float32)
        forget_one[self.units:2 * self.units] = 1.0
        return self.add_weight(shape=(4 * self.units,), name="bias",
                               initializer=keras.initializers.Constant(forget_one))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="keras_gen")
class RowLSTM(_LSTM2D):
    """`(batch, h, w, c)` -> `(batch, h, w, units)`: an LSTM over rows, top to bottom, whose
    state is a whole row.

    Examples:
        >>> RowLSTM(4)(np.zeros((2, 5, 6, 3), "float32")).shape
        TensorShape([2, 5, 6, 4])
    """

    def __init__(self, units, kernel_size=3, **kwargs):
        super().__init__(units, **kwargs)
        self.kernel_size = int(kernel_size)
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and positive, got {kernel_size!r}")

    def build(self, input_shape):
        k, u = self.kernel_size, self.units
        channels = int(input_shape[-1])
        self.input_kernel = self.add_weight(shape=(1, k, channels, 4 * u), name="input_kernel",
                                            initializer="glorot_uniform")
        mask = np.zeros((1, k, channels, 4 * u), np.float32)
        mask[:, : k // 2 + 1] = 1.0  # the pixel itself and its left neighbours
        self.input_mask = ops.convert_to_tensor(mask)
        self.state_kernel = self.add_weight(shape=(k, u, 4 * u), name="state_kernel",
                                            initializer="orthogonal")
        self.bias = self._bias()

    def call(self, inputs):
        dtype = inputs.dtype
        kernel = ops.cast(self.input_kernel * ops.cast(self.input_mask, self.input_kernel.dtype),
                          dtype)
        gates = ops.conv(inputs, kernel, padding="same") + ops.cast(self.bias, dtype)
        rows = ops.transpose(gates, (1, 0, 2, 3))  # (h, batch, w, 4u)
        state_kernel = ops.cast(self.state_kernel, dtype)
        shape = ops.shape(inputs)
        zeros = ops.zeros((shape[0], shape[2], self.units), dtype)

        def step(carry, row_gates):
            hidden, cell = carry
            hidden, cell = lstm_update(row_gates + ops.conv(hidden, state_kernel, padding="same"),
                                        cell)
            return (hidden, cell), (hidden, cell)  # ys shaped like the carry (Keras's TF scan)

        _, (hiddens, _) = ops.scan(step, (zeros, zeros), rows)
        return ops.transpose(hiddens, (1, 0, 2, 3))

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


def skew(x):
    """`(batch, h, w, c)` -> `(batch, h, w + h - 1, c)`: row i shifted right by i, zeros around.

    Examples:
        >>> x = np.arange(1, 7, dtype="float32").reshape(1, 2, 3, 1)
        >>> ops.convert_to_numpy(skew(x))[0, :, :, 0].tolist()
        [[1.0, 2.0, 3.0, 0.0], [0.0, 4.0, 5.0, 6.0]]
    """
    shape = ops.shape(x)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    padded = ops.pad(x, ((0, 0), (0, 0), (0, height), (0, 0)))  # rows of length w + h
    flat = ops.reshape(padded, (batch, height * (width + height), channels))
    flat = flat[:, : height * (width + height - 1)]  # re-read with rows one shorter
    return ops.reshape(flat, (batch, height, width + height - 1, channels))


def unskew(x, width):
    """Inverse of `skew`: `(batch, h, w + h - 1, c)` -> `(batch, h, width, c)`.

    Examples:
        >>> x = np.arange(1, 7, dtype="float32").reshape(1, 2, 3, 1)
        >>> bool(np.array_equal(ops.convert_to_numpy(unskew(skew(x), 3)), x))
        True
    """
    shape = ops.shape(x)
    batch, height, skewed, channels = shape[0], shape[1], shape[2], shape[3]
    flat = ops.reshape(x, (batch, height * skewed, channels))
    flat = ops.pad(flat, ((0, 0), (0, height), (0, 0)))  # re-read with rows one longer
    return ops.reshape(flat, (batch, height, skewed + 1, channels))[:, :, :width]


@keras.saving.register_keras_serializable(package="keras_gen")
class DiagonalLSTM(_LSTM2D):
    """One direction of the Diagonal BiLSTM: `(batch, h, w, c)` -> `(batch, h, w, units)`, a
    column LSTM over the skewed map, left to right. Pixel (i, j) sees (i, j - 1) and (i - 1, j)
    through the state, hence every pixel above and to the left.

    Examples:
        >>> DiagonalLSTM(4)(np.zeros((2, 5, 6, 3), "float32")).shape
        TensorShape([2, 5, 6, 4])
    """

    def build(self, input_shape):
        u = self.units
        self.input_kernel = self.add_weight(shape=(int(input_shape[-1]), 4 * u),
                                            name="input_kernel", initializer="glorot_uniform")
        # state-to-state: [row above, same row] of the previous column
        self.state_kernel = self.add_weight(shape=(2, u, 4 * u), name="state_kernel",
                                            initializer="orthogonal")
        self.bias = self._bias()

    def call(self, inputs):
        dtype = inputs.dtype
        width = ops.shape(inputs)[2]
        gates = ops.matmul(inputs, ops.cast(self.input_kernel, dtype)) + ops.cast(self.bias, dtype)
        columns = ops.transpose(skew(gates), (2, 0, 1, 3))  # (w + h - 1, batch, h, 4u)
        above, same = ops.cast(self.state_kernel[0], dtype), ops.cast(self.state_kernel[1], dtype)
        shape = ops.shape(inputs)
        zeros = ops.zeros((shape[0], shape[1], self.units), dtype)

        def step(carry, column_gates):
            hidden, cell = carry
            shifted = ops.pad(hidden[:, :-1], ((0, 0), (1, 0), (0, 0)))  # the row above
            hidden, cell = lstm_update(
                column_gates + ops.matmul(shifted, above) + ops.matmul(hidden, same), cell)
            return (hidden, cell), (hidden, cell)

        _, (hiddens, _) = ops.scan(step, (zeros, zeros), columns)
        return unskew(ops.transpose(hiddens, (1, 2, 0, 3)), width)


@keras.saving.register_keras_serializable(package="keras_gen")
class DiagonalBiLSTM(_LSTM2D):
    """Both directions of the Diagonal BiLSTM, added; the right-to-left pass (a
    `DiagonalLSTM` of the mirrored map) is shifted down one row first, so that pixel (i, j)
    takes from it only what rows above saw.

    Examples:
        >>> DiagonalBiLSTM(4)(np.zeros((2, 5, 6, 3), "float32")).shape
        TensorShape([2, 5, 6, 4])
    """

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.forward_lstm = DiagonalLSTM(self.units, name="left_to_right")
        self.backward_lstm = DiagonalLSTM(self.units, name="right_to_left")

    def build(self, input_shape):
        self.forward_lstm.build(input_shape)
        self.backward_lstm.build(input_shape)

    def call(self, inputs):
        forward = self.forward_lstm(inputs)
        backward = ops.flip(self.backward_lstm(ops.flip(inputs, axis=2)), axis=2)
        backward = ops.pad(backward[:, :-1], ((0, 0), (1, 0), (0, 0), (0, 0)))
        return forward + backward


def pixelrnn_network(image_shape, *, variant="row", units=32, num_layers=4, levels=256,
                     head=None, name="pixelrnn"):
    """Images scaled to [-1, 1] -> logits `(batch, h, w, c, levels)` (float32), or the
    `head = (groups, size)` values of another likelihood.

    Examples:
        >>> [tuple(pixelrnn_network((6, 6, 1), variant=v, units=4, num_layers=1).output.shape)
        ...  for v in VARIANTS]
        [(None, 6, 6, 1, 256), (None, 6, 6, 1, 256)]
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    h, w, c = (int(d) for d in image_shape)
    units = int(units)
    inputs = keras.Input((h, w, c), name="images")
    x = MaskedConv2D(2 * units, 7, mask_type="A", name="masked_a")(inputs)
    for i in range(int(num_layers)):
        lstm = (RowLSTM(units, name=f"row_lstm_{i}") if variant == "row"
                else DiagonalBiLSTM(units, name=f"diagonal_bilstm_{i}"))
        y = layers.Conv2D(2 * units, 1, name=f"lstm_{i}_out")(lstm(x))
        x = layers.Add(name=f"lstm_{i}_add")([x, y])
    logits = output_head(x, image_shape, head or (c, levels), 2 * units)
    return keras.Model(inputs, logits, name=name)
