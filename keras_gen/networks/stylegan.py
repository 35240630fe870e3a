"""Networks of a small StyleGAN2 (Karras et al., 2020), sized from the image shape.

- Mapping: z -> pixel norm -> `mapping_layers` equalised dense layers (LeakyReLU 0.2) with a
  learning-rate multiplier of 0.01 -> w.
- Synthesis: `ws` of shape `(batch, num_ws, w_dim)` -> images. A learned 4x4 constant, then
  per resolution a block of modulated 3x3 convolutions (each style an affine map of its w,
  weights demodulated), per-pixel noise with a learned per-channel scale, bias and LeakyReLU
  with StyleGAN2's gain of sqrt(2) (which keeps the activations' scale from layer to layer),
  2x bilinear upsampling between resolutions, and a modulated 1x1 "to RGB" per resolution
  whose outputs are upsampled and summed (StyleGAN2's skip generator), then tanh (StyleGAN2
  leaves the sum linear; see `synthesis_network`). Level 0 (4x4) has
  one convolution, reading `ws[:, 0]`, and its "to RGB" (`ws[:, 1]`); level k two
  convolutions (`ws[:, 2k-1]`, `ws[:, 2k]`) and its "to RGB" (`ws[:, 2k+1]`), so
  `num_ws = 2 * levels` (8 at 32 px). Low indices are coarse
  styles (pose, shape), high ones fine (colour, texture).
- Discriminator: StyleGAN2's residual D on the equalised layers of `keras_gen.networks.progan`:
  "from RGB", per resolution two 3x3 convolutions and 2x average pooling with a 1x1 skip
  (sum scaled by 1/sqrt(2)), then minibatch stddev, a 3x3 convolution, a dense layer and a
  linear score.

The noise is drawn anew in training and fixed (a stored buffer) otherwise, so a seed gives
the same image every time it is sampled and exported.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from keras_gen.networks.progan import (
    EqualizedConv2D,
    EqualizedDense,
    PixelNorm,
    critic_head,
    growth_levels,
    level_filters,
)


def _lrelu(x):
    return layers.LeakyReLU(0.2)(x)


def _lrelu_with_gain(x):
    """LeakyReLU times sqrt(2), after a modulated convolution. Demodulation gives the
    convolution unit gain, unlike the equalised layers' built-in sqrt(2), so without the gain
    each layer would lose about half of the signal's power. By 32 px the activations would be
    a tenth of the first layer's, and the fine "to RGB" outputs would be nearly silent."""
    return layers.Rescaling(math.sqrt(2.0))(layers.LeakyReLU(0.2)(x))


@keras.saving.register_keras_serializable(package="keras_gen")
class ModulatedConv2D(layers.Layer):
    """StyleGAN2's modulated convolution: inputs `[x, w]`; the style `s = A(w)` (an
    equalised dense layer whose bias starts at 1) scales the kernel's input channels, and with
    `demodulate` each output channel is divided by the norm of its scaled kernel, so the
    output keeps unit variance. Computed as `conv(x * s, W) * d` (the same as convolving with
    the per-example kernel `W * s * d`).

    Examples:
        >>> import numpy as np
        >>> layer = ModulatedConv2D(4, 3)
        >>> tuple(layer([np.ones((2, 8, 8, 3), "float32"), np.ones((2, 5), "float32")]).shape)
        (2, 8, 8, 4)
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.demodulate = bool(demodulate)

    def build(self, input_shapes):
        channels = int(input_shapes[0][-1])
        self.affine = EqualizedDense(channels, gain=1.0, bias_initializer=1.0, name="affine")
        self.affine.build(input_shapes[1])
        self.scale = 1.0 / math.sqrt(self.kernel_size * self.kernel_size * channels)
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, channels, self.filters), name="kernel",
            initializer=keras.initializers.RandomNormal(0.0, 1.0))

    def call(self, inputs):
        x, w = inputs
        styles = self.affine(w)
        kernel = self.kernel * self.scale
        x = x * ops.cast(styles[:, None, None, :], x.dtype)
        out = ops.conv(x, ops.cast(kernel, x.dtype), padding="same")
        if self.demodulate:
            styles32 = ops.cast(styles, "float32")
            kernel32 = ops.cast(kernel, "float32")
            # sum over kernel positions and input channels of (W * s)^2, per example and filter
            energy = ops.matmul(ops.square(styles32), ops.sum(ops.square(kernel32), axis=(0, 1)))
            out = out * ops.cast(ops.rsqrt(energy + 1e-8)[:, None, None, :], out.dtype)
        return out

    def compute_output_shape(self, input_shapes):
        return (*input_shapes[0][:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "demodulate": self.demodulate}


@keras.saving.register_keras_serializable(package="keras_gen")
class NoiseInjection(layers.Layer):
    """Add per-pixel noise (one channel, broadcast) times a learned per-channel scale (starts
    at 0), then a bias. Training draws fresh noise; otherwise a fixed stored noise map is used.

    Examples:
        >>> import numpy as np
        >>> tuple(NoiseInjection()(np.zeros((1, 4, 4, 2), "float32")).shape)
        (1, 4, 4, 2)
    """

    def build(self, input_shape):
        self.strength = self.add_weight(shape=(int(input_shape[-1]),), initializer="zeros",
                                        name="strength")
        self.bias = self.add_weight(shape=(int(input_shape[-1]),), initializer="zeros", name="bias")
        self.fixed_noise = self.add_weight(shape=(1, int(input_shape[1]), int(input_shape[2]), 1),
                                           initializer=keras.initializers.RandomNormal(0.0, 1.0),
                                           trainable=False, name="fixed_noise")
        self.seed_generator = keras.random.SeedGenerator()

    def call(self, inputs, training=False):
        if training:
            shape = ops.shape(inputs)
            noise = keras.random.normal((shape[0], shape[1], shape[2], 1), seed=self.seed_generator,
                                        dtype=inputs.dtype)
        else:
            noise = ops.cast(self.fixed_noise, inputs.dtype)
        return inputs + noise * ops.cast(self.strength, inputs.dtype) + ops.cast(self.bias, inputs.dtype)


@keras.saving.register_keras_serializable(package="keras_gen")
class SelectStyle(layers.Layer):
    """`ws[:, index]`: the w one synthesis layer reads."""

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, ws):
        return ws[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


def num_ws(image_shape):
    """How many w vectors the synthesis network reads (two per resolution level).

    Examples:
        >>> num_ws((32, 32, 3))
        8
    """
    return 2 * len(growth_levels(image_shape))


def mapping_network(latent_dim, w_dim, *, mapping_layers=4, lr_multiplier=0.01, name="mapping"):
    """z -> w (float32).

    Examples:
        >>> tuple(mapping_network(8, 16).output.shape)
        (None, 16)
    """
    z = keras.Input((int(latent_dim),), name="z")
    x = PixelNorm()(z)
    for i in range(int(mapping_layers)):
        x = _lrelu(EqualizedDense(int(w_dim), lr_multiplier=lr_multiplier, name=f"dense{i}")(x))
    w = layers.Activation("linear", dtype="float32", name="w")(x)
    return keras.Model(z, w, name=name)


@keras.saving.register_keras_serializable(package="keras_gen")
class LearnedConstant(layers.Layer):
    """The synthesis network's learned starting map, repeated for each example of the input."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.constant_shape = tuple(int(d) for d in shape)

    def build(self, input_shape):
        self.constant = self.add_weight(shape=self.constant_shape, name="constant",
                                        initializer=keras.initializers.RandomNormal(0.0, 1.0))

    def call(self, reference):
        ones = ops.ones((ops.shape(reference)[0], 1, 1, 1), self.compute_dtype)
        return ones * ops.cast(self.constant, self.compute_dtype)[None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.constant_shape)

    def get_config(self):
        return {**super().get_config(), "shape": list(self.constant_shape)}


def synthesis_network(image_shape, w_dim, *, base_filters=32, max_filters=128,
                      output_activation="tanh", name="synthesis"):
    """`ws` `(batch, num_ws, w_dim)` -> images of `image_shape` (float32) in [-1, 1] through
    `output_activation` on the summed "to RGB" outputs (`"linear"`: StyleGAN2's unbounded
    output).

    Examples:
        >>> net = synthesis_network((16, 16, 3), 8, base_filters=4)
        >>> tuple(net.input.shape), tuple(net.output.shape)
        ((None, 6, 8), (None, 16, 16, 3))
    """
    sizes = growth_levels(image_shape)
    levels, channels = len(sizes), int(image_shape[-1])
    ws = keras.Input((num_ws(image_shape), int(w_dim)), name="ws")

    styles = [SelectStyle(i, name=f"w{i}")(ws) for i in range(num_ws(image_shape))]

    def style(i):
        return styles[i]

    def conv_layer(x, filters, w_index, name):
        x = ModulatedConv2D(filters, 3, name=name)([x, style(w_index)])
        return _lrelu_with_gain(NoiseInjection(name=f"{name}_noise")(x))

    filters = level_filters(0, levels, base_filters, max_filters)
    x = LearnedConstant((sizes[0], sizes[0], filters), name="constant")(ws)
    image = None
    for level in range(levels):
        filters = level_filters(level, levels, base_filters, max_filters)
        # level 0 reads w0 (conv) and w1 (to RGB); level k reads w(2k-1), w(2k) and w(2k+1),
        # its first convolution sharing the w of the level below's "to RGB"
        if level:
            x = layers.UpSampling2D(2, interpolation="bilinear", name=f"block{level}_up")(x)
            x = conv_layer(x, filters, 2 * level - 1, f"block{level}_conv0")
        x = conv_layer(x, filters, 2 * level, f"block{level}_conv1")
        rgb = ModulatedConv2D(channels, 1, demodulate=False, name=f"to_rgb{level}")(
            [x, style(2 * level + 1)])
        if image is not None:
            image = layers.UpSampling2D(2, interpolation="bilinear", name=f"rgb{level}_up")(image)
            rgb = layers.Add(name=f"rgb{level}")([image, rgb])
        image = rgb
    images = layers.Activation(output_activation, dtype="float32", name="images")(image)
    return keras.Model(ws, images, name=name)


def style_discriminator(image_shape, *, base_filters=32, max_filters=128, name="discriminator"):
    """Images -> one float32 score each (StyleGAN2's residual D).

    Examples:
        >>> tuple(style_discriminator((16, 16, 3), base_filters=4).output.shape)
        (None, 1)
    """
    sizes = growth_levels(image_shape)
    levels = len(sizes)
    images = keras.Input(tuple(int(d) for d in image_shape), name="images")
    x = _lrelu(EqualizedConv2D(level_filters(levels - 1, levels, base_filters, max_filters), 1,
                               name="from_rgb")(images))
    for level in reversed(range(1, levels)):
        filters = level_filters(level, levels, base_filters, max_filters)
        lower = level_filters(level - 1, levels, base_filters, max_filters)
        skip = EqualizedConv2D(lower, 1, gain=1.0, use_bias=False, name=f"block{level}_skip")(
            layers.AveragePooling2D(2)(x))
        x = _lrelu(EqualizedConv2D(filters, 3, name=f"block{level}_conv0")(x))
        x = _lrelu(EqualizedConv2D(lower, 3, name=f"block{level}_conv1")(x))
        x = layers.AveragePooling2D(2, name=f"block{level}_down")(x)
        x = layers.Rescaling(1.0 / math.sqrt(2.0))(layers.Add()([x, skip]))
    score = critic_head(x, level_filters(0, levels, base_filters, max_filters))
    return keras.Model(images, score, name=name)
