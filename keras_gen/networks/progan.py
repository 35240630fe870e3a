"""Networks of the progressively grown GAN (Karras et al., 2018), built once at full size.

ProGAN grows G and D from 4x4 to the target size, fading each new resolution in. Here both
networks are built whole and take the growth position `p` as a second input (one value per
example): `p = k + alpha` means resolution level k is in place and level k+1 is fading in with
weight alpha (levels count from the smallest map, 0 = 4x4 at 32 px). One static graph serves
every phase, so a single `model.fit` runs the whole schedule with no rebuild or recompile;
the blocks not yet faded in are computed but weighted 0, so they receive no gradient.

- G: z -> pixel norm -> equalised dense to a 4x4 map -> per level a block (2x nearest
  upsampling, two 3x3 convolutions, LeakyReLU 0.2, pixel norm) and a 1x1 "to RGB". The output
  is `sum_r w_r(p) * upsample(rgb_r)` at the target size, with the triangular weights
  `w_r(p) = max(0, 1 - |p - r|)` (alpha on the new level, 1 - alpha on the one before).
- D: the mirror: level r's "from RGB" sees the input average-pooled to its size, weighted
  `w_r(p)`, plus `clip(p - r, 0, 1)` times the output of the level above, then two 3x3
  convolutions and 2x average pooling; at 4x4 a minibatch standard-deviation feature map, a
  3x3 and a 4x4 convolution (as a dense layer) and a linear score.
- Every convolution and dense layer has an equalised learning rate: weights drawn from
  N(0, 1) and scaled at run time by He's constant `gain / sqrt(fan_in)`, so Adam's per-weight
  steps are the same size relative to every layer's scale.

`blend_resolutions(images, p, levels)` gives real images the same mix of resolutions that
G's output has at `p`, as ProGAN fades the real images too.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from keras_gen.networks.dcgan import num_stages


@keras.saving.register_keras_serializable(package="keras_gen")
class EqualizedDense(layers.Layer):
    """Dense layer with an equalised learning rate: the kernel is N(0, 1/lr_multiplier^2)
    and is multiplied at run time by `gain / sqrt(fan_in) * lr_multiplier` (the bias by
    `lr_multiplier`). `lr_multiplier < 1` slows a layer down (StyleGAN's mapping network).

    Examples:
        >>> import numpy as np
        >>> tuple(EqualizedDense(3)(np.ones((2, 5), "float32")).shape)
        (2, 3)
    """

    def __init__(self, units, gain=math.sqrt(2.0), lr_multiplier=1.0, bias_initializer=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.gain = float(gain)
        self.lr_multiplier = float(lr_multiplier)
        self.bias_initializer = float(bias_initializer)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = self.gain / math.sqrt(fan_in) * self.lr_multiplier
        self.kernel = self.add_weight(
            shape=(fan_in, self.units), name="kernel",
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier))
        self.bias = self.add_weight(
            shape=(self.units,), name="bias",
            initializer=keras.initializers.Constant(self.bias_initializer / self.lr_multiplier))

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel * self.scale) + self.bias * self.lr_multiplier

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain,
                "lr_multiplier": self.lr_multiplier, "bias_initializer": self.bias_initializer}


@keras.saving.register_keras_serializable(package="keras_gen")
class EqualizedConv2D(layers.Layer):
    """"Same"-padded stride-1 convolution with an equalised learning rate (see
    `EqualizedDense`).

    Examples:
        >>> import numpy as np
        >>> tuple(EqualizedConv2D(4, 3)(np.ones((1, 8, 8, 2), "float32")).shape)
        (1, 8, 8, 4)
    """

    def __init__(self, filters, kernel_size=3, gain=math.sqrt(2.0), use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.gain = float(gain)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        fan_in = self.kernel_size * self.kernel_size * int(input_shape[-1])
        self.scale = self.gain / math.sqrt(fan_in)
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters),
            name="kernel", initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = (self.add_weight(shape=(self.filters,), name="bias", initializer="zeros")
                     if self.use_bias else None)

    def call(self, inputs):
        outputs = ops.conv(inputs, self.kernel * self.scale, padding="same")
        return outputs + self.bias if self.use_bias else outputs

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "gain": self.gain, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="keras_gen")
class PixelNorm(layers.Layer):
    """Scale each position's feature vector to unit root-mean-square (ProGAN's G; StyleGAN's
    z), in float32.

    Examples:
        >>> import numpy as np
        >>> float(np.mean(np.square(PixelNorm()(np.full((1, 3), 5.0, "float32")))))
        1.0
    """

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        x = x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + 1e-8)
        return ops.cast(x, inputs.dtype)


@keras.saving.register_keras_serializable(package="keras_gen")
class MinibatchStdDev(layers.Layer):
    """Append one feature map: the standard deviation of each feature over the batch,
    averaged over features and positions (ProGAN's D), so D can see a batch that lacks
    variety. The batch must hold only real or only generated images.

    Examples:
        >>> import numpy as np
        >>> tuple(MinibatchStdDev()(np.zeros((4, 2, 2, 3), "float32")).shape)
        (4, 2, 2, 4)
    """

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        spread = ops.sqrt(ops.var(x, axis=0) + 1e-8)
        feature = ops.ones_like(x[..., :1]) * ops.mean(spread)
        return ops.concatenate([inputs, ops.cast(feature, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


def level_weight(growth, level):
    """How much resolution `level` shows at growth position `growth`: max(0, 1 - |p - level|).

    Examples:
        >>> [round(float(level_weight(1.25, r)), 2) for r in range(3)]
        [0.0, 0.75, 0.25]
    """
    return ops.maximum(0.0, 1.0 - ops.abs(ops.cast(growth, "float32") - float(level)))


@keras.saving.register_keras_serializable(package="keras_gen")
class GrowthMix(layers.Layer):
    """`level_weight(p, level) * entry (+ clip(p - level, 0, 1) * from_above)`: G's output
    mix (a sum over levels, `from_above` the sum so far) and D's entry at each level.
    Inputs: `[p, entry]` or `[p, entry, from_above]`, `p` of shape `(batch, 1)`."""

    def __init__(self, level, **kwargs):
        super().__init__(**kwargs)
        self.level = int(level)

    def call(self, inputs):
        growth, entry = inputs[0], inputs[1]
        growth = ops.reshape(ops.cast(growth, "float32"), (-1, 1, 1, 1))
        mixed = ops.cast(level_weight(growth, self.level), entry.dtype) * entry
        if len(inputs) > 2:
            carry = ops.clip(growth - float(self.level), 0.0, 1.0)
            mixed = mixed + ops.cast(carry, entry.dtype) * inputs[2]
        return mixed

    def compute_output_shape(self, input_shapes):
        return input_shapes[1]

    def get_config(self):
        return {**super().get_config(), "level": self.level}


def growth_levels(image_shape):
    """The resolutions, smallest first, that ProGAN grows through for `image_shape`.

    Examples:
        >>> growth_levels((32, 32, 3)), growth_levels((28, 28, 1))
        ([4, 8, 16, 32], [7, 14, 28])
    """
    stages = num_stages(image_shape)
    return [int(image_shape[0]) // 2 ** (stages - i) for i in range(stages + 1)]


def level_filters(level, levels, base_filters, max_filters):
    """Filters at resolution `level` of `levels`: `base_filters` at the largest, doubling
    per halving of the side, at most `max_filters`.

    Examples:
        >>> [level_filters(r, 4, 16, 64) for r in range(4)]
        [64, 64, 32, 16]
    """
    return min(int(max_filters), int(base_filters) * 2 ** (levels - 1 - level))


def _resample(images, factor, down):
    if factor == 1:
        return images
    if down:
        return ops.average_pool(images, factor, strides=factor, padding="valid")
    return ops.repeat(ops.repeat(images, factor, axis=1), factor, axis=2)


def blend_resolutions(images, growth, levels):
    """`sum_r level_weight(p, r) * upsample(average_pool(images to level r))`: real images
    with the mix of resolutions G's output has at growth `p` (a scalar or one per image).

    Examples:
        >>> import numpy as np
        >>> x = np.random.rand(1, 8, 8, 1).astype("float32")
        >>> bool(np.allclose(blend_resolutions(x, 1.0, 2), x))  # fully grown: unchanged
        True
    """
    growth = ops.reshape(ops.cast(growth, "float32"), (-1, 1, 1, 1))
    blended = 0.0
    for level in range(levels):
        factor = 2 ** (levels - 1 - level)
        view = _resample(_resample(images, factor, down=True), factor, down=False)
        blended = blended + ops.cast(level_weight(growth, level), images.dtype) * view
    return blended


def _lrelu(x):
    return layers.LeakyReLU(0.2)(x)


def progressive_generator(latent_dim, image_shape, *, base_filters=32, max_filters=256,
                          output_activation="linear", name="generator"):
    """`[z, p]` -> images of `image_shape` (float32, about [-1, 1]): the faded-in "to RGB"
    outputs summed, then `output_activation` (`"linear"`, the paper's, or `"tanh"`).

    Examples:
        >>> g = progressive_generator(8, (16, 16, 3), base_filters=4)
        >>> [tuple(t.shape) for t in g.inputs], tuple(g.output.shape)
        ([(None, 8), (None, 1)], (None, 16, 16, 3))
    """
    sizes = growth_levels(image_shape)
    levels, channels = len(sizes), int(image_shape[-1])
    z = keras.Input((int(latent_dim),), name="z")
    growth = keras.Input((1,), name="growth")
    filters = level_filters(0, levels, base_filters, max_filters)
    x = EqualizedDense(sizes[0] * sizes[0] * filters, gain=math.sqrt(2.0) / 4, name="project")(PixelNorm()(z))
    x = PixelNorm()(_lrelu(layers.Reshape((sizes[0], sizes[0], filters))(x)))
    x = PixelNorm()(_lrelu(EqualizedConv2D(filters, 3, name="block0_conv")(x)))
    output = None
    for level in range(levels):
        if level:
            filters = level_filters(level, levels, base_filters, max_filters)
            x = layers.UpSampling2D(2, name=f"block{level}_up")(x)
            for i in (1, 2):
                x = PixelNorm()(_lrelu(EqualizedConv2D(filters, 3, name=f"block{level}_conv{i}")(x)))
        rgb = EqualizedConv2D(channels, 1, gain=1.0, name=f"to_rgb{level}")(x)
        factor = 2 ** (levels - 1 - level)
        if factor > 1:
            rgb = layers.UpSampling2D(factor, name=f"to_rgb{level}_up")(rgb)
        mix = GrowthMix(level, name=f"mix{level}")
        output = mix([growth, rgb]) if output is None else layers.Add()([output, mix([growth, rgb])])
    output = layers.Activation(output_activation, dtype="float32", name="images")(output)
    return keras.Model([z, growth], output, name=name)


def progressive_discriminator(image_shape, *, base_filters=32, max_filters=256, name="discriminator"):
    """`[images, p]` -> one float32 score per image (no sigmoid; WGAN-GP).

    Examples:
        >>> d = progressive_discriminator((16, 16, 3), base_filters=4)
        >>> tuple(d.output.shape)
        (None, 1)
    """
    sizes = growth_levels(image_shape)
    levels = len(sizes)
    images = keras.Input(tuple(int(d) for d in image_shape), name="images")
    growth = keras.Input((1,), name="growth")
    x = None
    for level in reversed(range(levels)):
        filters = level_filters(level, levels, base_filters, max_filters)
        view = images
        if level < levels - 1:
            factor = 2 ** (levels - 1 - level)
            view = layers.AveragePooling2D(factor, name=f"from_rgb{level}_pool")(images)
        entry = _lrelu(EqualizedConv2D(filters, 1, name=f"from_rgb{level}")(view))
        mix = GrowthMix(level, name=f"mix{level}")
        x = mix([growth, entry]) if x is None else mix([growth, entry, x])
        if level:
            x = _lrelu(EqualizedConv2D(filters, 3, name=f"block{level}_conv1")(x))
            x = _lrelu(EqualizedConv2D(level_filters(level - 1, levels, base_filters, max_filters), 3,
                                       name=f"block{level}_conv2")(x))
            x = layers.AveragePooling2D(2, name=f"block{level}_down")(x)
    score = critic_head(x, level_filters(0, levels, base_filters, max_filters))
    return keras.Model([images, growth], score, name=name)


def critic_head(x, filters):
    """The last stage of ProGAN's and StyleGAN's discriminators on the smallest map: minibatch
    stddev, a 3x3 convolution, an equalised dense layer (LeakyReLU) and a linear float32 score."""
    x = MinibatchStdDev(name="minibatch_stddev")(x)
    x = _lrelu(EqualizedConv2D(filters, 3, name="block0_conv")(x))
    x = _lrelu(EqualizedDense(filters, name="block0_dense")(layers.Flatten()(x)))
    score = EqualizedDense(1, gain=1.0, name="score")(x)
    return layers.Activation("linear", dtype="float32", name="score_float32")(score)
