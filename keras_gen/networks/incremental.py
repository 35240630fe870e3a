"""Pixel-at-a-time evaluation of a masked-convolution network, with cached activations.

Naive sampling from a PixelCNN runs the whole network once per pixel: `h * w` passes over the
whole image for one sample. But when pixel (i, j) is drawn, every activation at an earlier
position is already known and does not change, because it depends only on pixels before it.
`CachedPixelNetwork` keeps those activations (one `TensorArray` per tensor that is read
again) and computes, per pixel, only the activations *at that pixel*: a masked `k x k`
convolution gathers the already-computed window of its input around the pixel (the positions
its mask keeps), the `1 x 1` convolutions and element-wise layers act on one position. A whole
sample then costs about one network pass plus per-pixel overhead, and gives the same logits as
the full network, hence the same draws for the same noise (the idea of "Fast Generation for
Convolutional Autoregressive Models", Ramachandran et al., 2017, here by raster position).

The gated PixelCNN's vertical stack (`vertical_*` masks, and what is computed from it alone)
depends only on the rows above, but its `vertical_B` convolutions read positions to the right
in the current row, which raster order has not reached; those tensors are computed a whole
row at a time, when a row begins.

PixelRNN's LSTM layers (`keras_gen.networks.pixelrnn`) carry state from pixel to pixel, which is
exactly what raster order provides. A `RowLSTM`'s state at (i, j) needs its input at (i, j - k//2
.. j) and the row above's hidden state at (i - 1, j - k//2 .. j + k//2) and cell at (i - 1, j).
A `DiagonalBiLSTM`'s left-to-right pass needs (i, j - 1) and (i - 1, j); its right-to-left pass
enters pixel (i, j) only through row i - 1 (shifted down a row), so that whole row is run, right
to left, when row i begins. Their hidden and cell states are cached like activations; because
cells are not outputs of the network, a run from known pixels (inpainting) replays them from
the first pixel (`replays_known`).

Supported layers: `MaskedConv2D`, `1 x 1` `Conv2D`, element-wise layers (ReLU, Activation,
Add, GatedActivation), `RowLSTM`, `DiagonalBiLSTM` and the final `Reshape` of
`keras_gen.networks.masked`'s and `keras_gen.networks.pixelrnn`'s networks.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_gen.networks.masked import MaskedConv2D, causal_mask
from keras_gen.networks.pixelrnn import DiagonalBiLSTM, RowLSTM, lstm_update

# layers that act on each position alone (Dropout is the identity when sampling)
_ELEMENTWISE = (layers.ReLU, layers.Activation, layers.Add, layers.Dropout)


def _is_elementwise(layer):
    return (isinstance(layer, _ELEMENTWISE) or type(layer).__name__ == "GatedActivation"
            or (isinstance(layer, layers.Conv2D) and not isinstance(layer, MaskedConv2D)
                and tuple(layer.kernel_size) == (1, 1)))


class CachedPixelNetwork:
    """Evaluates `network` (images `(b, h, w, c)` in [-1, 1] -> logits `(b, h, w, c, levels)`)
    one position at a time, keeping the activations that are read again.

    Use inside a `tf.function`: `caches = start_caches(images, start)` (`start` a multiple
    of the width), then per position `p` in raster order from `start`:
    `logits, caches = logits_at(caches, p)` and, once the pixel is drawn,
    `caches = write_pixel(caches, p, values)`.

    Examples:
        >>> from keras_gen.networks.masked import gated_pixelcnn_network
        >>> net = CachedPixelNetwork(gated_pixelcnn_network((4, 4, 1), filters=2, num_blocks=1), (4, 4, 1))
        >>> len(net.row_plan) > 0 and len(net.pixel_plan) > 0
        True
    """

    def __init__(self, network, image_shape):
        self.height, self.width, self.channels = (int(d) for d in image_shape)
        self.positions = self.height * self.width  # index `positions` is the zero slot
        self.input_id = id(network.inputs[0])
        self.output_id = id(network.outputs[0])
        tensors = {self.input_id: network.inputs[0]}
        row_ids = set()  # tensors that depend on the rows above only
        self.states = []  # (key, units) of the LSTM states that are not network tensors
        self.row_plan, self.pixel_plan = [], []  # (kind, layer, input ids, output id)
        read_again = {self.input_id}
        for operation in network.operations:
            if isinstance(operation, layers.InputLayer):
                continue
            node = operation._inbound_nodes[0]
            inputs = [id(t) for t in node.input_tensors]
            output = id(node.output_tensors[0])
            tensors[output] = node.output_tensors[0]
            if isinstance(operation, MaskedConv2D):
                kind = "window"
                read_again.add(inputs[0])
                by_row = operation.mask_type.startswith("vertical")
                if by_row and not all(i in row_ids or i == self.input_id for i in inputs):
                    raise ValueError(f"{operation.name}: a vertical mask on raster features")
            elif _is_elementwise(operation):
                kind = "elementwise"
                by_row = all(i in row_ids for i in inputs)
            elif isinstance(operation, (RowLSTM, DiagonalBiLSTM)):
                kind, by_row = type(operation).__name__, False
                read_again.add(inputs[0])
                if kind == "RowLSTM":
                    read_again.add(output)  # the row below reads its hidden state
                names = (("cell",) if kind == "RowLSTM" else
                         ("forward", "forward_cell", "backward", "backward_cell"))
                self.states += [(f"{operation.name}/{name}", operation.units) for name in names]
            elif isinstance(operation, layers.Reshape) and output == self.output_id:
                kind, by_row = "reshape", False
            else:
                raise ValueError(f"cannot evaluate layer {operation.name!r} "
                                 f"({type(operation).__name__}) one pixel at a time")
            if by_row:
                row_ids.add(output)
                read_again.add(output)  # the pixel steps read it back at their position
                self.row_plan.append((kind, operation, inputs, output))
            else:
                self.pixel_plan.append((kind, operation, inputs, output))
        self.row_ids = row_ids
        self.tensor_ids = sorted(read_again)
        self.cached_ids = [*self.tensor_ids, *(key for key, _ in self.states)]
        self.cached_channels = {**{key: int(tensors[key].shape[-1]) for key in self.tensor_ids},
                                **dict(self.states)}
        #: with LSTM states, known pixels are replayed from the first (cells are not outputs)
        self.replays_known = bool(self.states)
        # activations at the known positions (inpainting): one pass of the full network
        self._known = keras.Model(network.inputs, [tensors[key] for key in self.tensor_ids
                                                   if key != self.input_id])
        self.windows = {op.name: self._window(op) for kind, op, _, _ in self.row_plan + self.pixel_plan
                        if kind == "window"}

    @staticmethod
    def _window(layer):
        """The kept offsets `(dr, dc)` of a masked convolution and their kernel taps."""
        k = layer.kernel_size
        mask = causal_mask(k, 1, 1, layer.mask_type)[..., 0, 0]
        taps = [(r, c) for r in range(k) for c in range(k) if mask[r, c]]
        offsets = np.array([(r - k // 2, c - k // 2) for r, c in taps], np.int32)
        return offsets, np.array(taps, np.int32)

    def start_caches(self, images, start):
        """TensorArrays of every cached activation, filled at positions `< start` from
        `images` (`(b, h, w, c)` in [-1, 1]; only those positions are read). With LSTM states
        (`replays_known`) `start` must be 0."""
        batch = tf.shape(images)[0]
        known = self._known(images, training=False) if len(self.tensor_ids) > 1 else []
        values = iter([known] if not isinstance(known, (list, tuple)) else list(known))
        caches = []
        for key in self.cached_ids:
            channels = self.cached_channels[key]
            array = tf.TensorArray(tf.float32, size=self.positions + 1,
                                   element_shape=tf.TensorShape([None, channels]))
            array = array.write(self.positions, tf.zeros((batch, channels)))
            if key in self.tensor_ids:
                value = images if key == self.input_id else next(values)
                flat = tf.transpose(tf.reshape(tf.cast(value, tf.float32), (batch, -1, channels)),
                                    (1, 0, 2))  # (positions, batch, channels)
                array = array.scatter(tf.range(start), flat[:start])
            caches.append(array)
        return tuple(caches)

    def _index(self, rows, cols):
        """Raster positions of `(rows, cols)`, the zero slot where they fall outside."""
        inside = (rows >= 0) & (rows < self.height) & (cols >= 0) & (cols < self.width)
        return tf.where(inside, rows * self.width + cols, self.positions)

    def _row_lstm(self, layer, caches, inputs, output, rows, cols):
        """A `RowLSTM`'s hidden state at `(rows, cols)` (and its cell, cached)."""
        half = layer.kernel_size // 2

        def window(key, row_offset, col_offsets, kernel):
            index = self._index(rows[:, None] + row_offset, cols[:, None] + col_offsets[None, :])
            return self._window_sum(caches, key, index, kernel)

        gates = (window(inputs[0], 0, np.arange(-half, 1, dtype=np.int32), layer.input_kernel[0, : half + 1])
                 + window(output, -1, np.arange(-half, half + 1, dtype=np.int32), layer.state_kernel)
                 + tf.cast(layer.bias, tf.float32))
        cell_key = f"{layer.name}/cell"
        hidden, cell = lstm_update(gates, caches[cell_key].gather(self._index(rows - 1, cols)))
        caches[cell_key] = caches[cell_key].scatter(self._index(rows, cols), cell)
        return hidden

    def _diagonal_step(self, lstm, caches, key, inputs, rows, cols, previous_col):
        """One `DiagonalLSTM` direction at `(rows, cols)`: its state from the pixel above
        and from `previous_col` in the same row (left of it, or right for the mirrored pass)."""
        kernel = tf.cast(lstm.state_kernel, tf.float32)
        x = caches[inputs].gather(self._index(rows, cols))
        left = self._index(rows, previous_col)
        gates = (tf.einsum("nbi,io->nbo", x, tf.cast(lstm.input_kernel, tf.float32))
                 + tf.cast(lstm.bias, tf.float32)
                 + tf.einsum("nbi,io->nbo", caches[key].gather(self._index(rows - 1, cols)), kernel[0])
                 + tf.einsum("nbi,io->nbo", caches[key].gather(left), kernel[1]))
        hidden, cell = lstm_update(gates, caches[f"{key}_cell"].gather(left))
        index = self._index(rows, cols)
        caches[key] = caches[key].scatter(index, hidden)
        caches[f"{key}_cell"] = caches[f"{key}_cell"].scatter(index, cell)
        return hidden

    def _diagonal_bilstm(self, layer, caches, inputs, rows, cols):
        """A `DiagonalBiLSTM`'s output at one position: the left-to-right state there plus the
        right-to-left state of the pixel above, whose row runs right to left when a row begins."""
        forward, backward = f"{layer.name}/forward", f"{layer.name}/backward"
        row, col = rows[0], cols[0]

        def backward_row():
            updated = dict(caches)
            above = tf.fill((1,), row - 1)
            for c in range(self.width - 1, -1, -1):
                self._diagonal_step(layer.backward_lstm, updated, backward, inputs[0], above,
                                    tf.fill((1,), c), tf.fill((1,), c + 1))
            return tuple(updated[k] for k in (backward, f"{backward}_cell"))

        keep = (caches[backward], caches[f"{backward}_cell"])
        caches[backward], caches[f"{backward}_cell"] = tf.cond(
            tf.logical_and(tf.equal(col, 0), row > 0), backward_row, lambda: keep)
        hidden = self._diagonal_step(layer.forward_lstm, caches, forward, inputs[0], rows, cols,
                                     cols - 1)
        return hidden + caches[backward].gather(self._index(rows - 1, cols))

    def _window_indices(self, layer, rows, cols):
        """`(n, taps)` positions a masked convolution reads for outputs at `(rows, cols)`
        (the zero slot outside the image)."""
        offsets, _ = self.windows[layer.name]
        return self._index(rows[:, None] + offsets[None, :, 0], cols[:, None] + offsets[None, :, 1])

    @staticmethod
    def _window_sum(caches, key, index, kernel):
        """`(n, b, out)`: the cached `key` at the `(n, taps)` positions `index`, weighted by
        `kernel` `(taps, in, out)` and summed over the taps (a convolution at n outputs)."""
        n, taps = tf.shape(index)[0], tf.shape(index)[1]
        values = caches[key].gather(tf.reshape(index, (-1,)))
        values = tf.reshape(values, (n, taps, -1, values.shape[-1]))
        return tf.einsum("ntbi,tio->nbo", values, tf.cast(kernel, tf.float32))

    def _evaluate(self, plan, caches, rows, cols):
        """Run `plan` at the `n` positions `(rows, cols)`, writing what is read again into
        `caches`; returns the values, `(n, b, channels)` each."""
        n = tf.shape(rows)[0]
        index = rows * self.width + cols
        values = {}
        for kind, layer, inputs, output in plan:
            if kind == "window":
                kernel = tf.gather_nd(tf.cast(layer.kernel, tf.float32), self.windows[layer.name][1])
                value = (self._window_sum(caches, inputs[0], self._window_indices(layer, rows, cols),
                                          kernel) + tf.cast(layer.bias, tf.float32))
                value = tf.cast(layer.activation(value), tf.float32)
            elif kind == "elementwise":
                args = [values[i] if i in values else caches[i].gather(index) for i in inputs]
                shape = tf.shape(args[0])
                args = [tf.reshape(a, (-1, 1, 1, a.shape[-1])) for a in args]
                value = layer(args if len(args) > 1 else args[0], training=False)
                value = tf.cast(value, tf.float32)
                value = tf.reshape(value, (shape[0], shape[1], value.shape[-1]))
            elif kind == "RowLSTM":
                value = self._row_lstm(layer, caches, inputs, output, rows, cols)
            elif kind == "DiagonalBiLSTM":
                value = self._diagonal_bilstm(layer, caches, inputs, rows, cols)
            else:  # the final reshape to (groups, size), e.g. (channels, levels)
                value = tf.reshape(values[inputs[0]], (n, -1, *layer.target_shape[-2:]))
            values[output] = value
            if output in caches:
                caches[output] = caches[output].scatter(index, value)
        return values

    def _row(self, caches, row):
        """The row-at-a-time tensors (the vertical stack) at every column of `row`."""
        caches = dict(caches)
        cols = tf.range(self.width)
        self._evaluate(self.row_plan, caches, tf.fill((self.width,), row), cols)
        return caches

    def logits_at(self, caches, position):
        """Logits `(b, c, levels)` at raster `position`, and the caches with the activations
        there written (all but the input's, which `write_pixel` fills once it is drawn)."""
        caches = dict(zip(self.cached_ids, caches))
        row, col = position // self.width, position % self.width
        if self.row_plan:
            keys = list(caches)
            updated = tf.cond(tf.equal(col, 0),
                              lambda: tuple(self._row(caches, row)[k] for k in keys),
                              lambda: tuple(caches[k] for k in keys))
            caches = dict(zip(keys, updated))
        values = self._evaluate(self.pixel_plan, caches, row[None], col[None])
        return values[self.output_id][0], tuple(caches[key] for key in self.cached_ids)

    def write_pixel(self, caches, position, pixel):
        """The caches with the drawn pixel (`(b, c)` in [-1, 1]) written at `position`."""
        caches = dict(zip(self.cached_ids, caches))
        caches[self.input_id] = caches[self.input_id].write(position, tf.cast(pixel, tf.float32))
        return tuple(caches[key] for key in self.cached_ids)
