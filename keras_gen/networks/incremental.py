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

Supported layers: `MaskedConv2D`, `1 x 1` `Conv2D`, element-wise layers (ReLU, Activation,
Add, GatedActivation) and the final `Reshape` of `keras_gen.networks.masked`'s networks.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_gen.networks.masked import MaskedConv2D, causal_mask

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
        self.cached_ids = sorted(read_again)
        self.cached_channels = {key: int(tensors[key].shape[-1]) for key in self.cached_ids}
        # activations at the known positions (inpainting): one pass of the full network
        self._known = keras.Model(network.inputs, [tensors[key] for key in self.cached_ids
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
        `images` (`(b, h, w, c)` in [-1, 1]; only those positions are read)."""
        batch = tf.shape(images)[0]
        known = self._known(images, training=False) if len(self.cached_ids) > 1 else []
        values = iter([known] if not isinstance(known, (list, tuple)) else list(known))
        caches = []
        for key in self.cached_ids:
            value = images if key == self.input_id else next(values)
            channels = self.cached_channels[key]
            flat = tf.transpose(tf.reshape(tf.cast(value, tf.float32), (batch, -1, channels)),
                                (1, 0, 2))  # (positions, batch, channels)
            array = tf.TensorArray(tf.float32, size=self.positions + 1,
                                   element_shape=tf.TensorShape([None, channels]))
            array = array.write(self.positions, tf.zeros((batch, channels)))
            array = array.scatter(tf.range(start), flat[:start])
            caches.append(array)
        return tuple(caches)

    def _window_indices(self, layer, rows, cols):
        """`(n, taps)` positions a masked convolution reads for outputs at `(rows, cols)`
        (the zero slot outside the image)."""
        offsets, _ = self.windows[layer.name]
        r = rows[:, None] + offsets[None, :, 0]
        c = cols[:, None] + offsets[None, :, 1]
        inside = (r >= 0) & (r < self.height) & (c >= 0) & (c < self.width)
        return tf.where(inside, r * self.width + c, self.positions)

    def _evaluate(self, plan, caches, rows, cols):
        """Run `plan` at the `n` positions `(rows, cols)`, writing what is read again into
        `caches`; returns the values, `(n, b, channels)` each."""
        n = tf.shape(rows)[0]
        index = rows * self.width + cols
        values = {}
        for kind, layer, inputs, output in plan:
            if kind == "window":
                window_index = self._window_indices(layer, rows, cols)  # (n, taps)
                taps = tf.shape(window_index)[1]
                window = caches[inputs[0]].gather(tf.reshape(window_index, (-1,)))
                window = tf.reshape(window, (n, taps, -1, window.shape[-1]))
                kernel = tf.gather_nd(tf.cast(layer.kernel, tf.float32), self.windows[layer.name][1])
                value = tf.einsum("ntbi,tio->nbo", window, kernel) + tf.cast(layer.bias, tf.float32)
                value = tf.cast(layer.activation(value), tf.float32)
            elif kind == "elementwise":
                args = [values[i] if i in values else caches[i].gather(index) for i in inputs]
                shape = tf.shape(args[0])
                args = [tf.reshape(a, (-1, 1, 1, a.shape[-1])) for a in args]
                value = layer(args if len(args) > 1 else args[0], training=False)
                value = tf.cast(value, tf.float32)
                value = tf.reshape(value, (shape[0], shape[1], value.shape[-1]))
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
