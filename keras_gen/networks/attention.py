"""Layers of the attention GANs (SAGAN, BigGAN): self-attention over the positions of a
feature map, and batch normalization whose gain and bias depend on a condition vector."""

from __future__ import annotations

import keras
from keras import layers, ops

from keras_gen.networks.normalization import spectral, synchronized_batch_norm


@keras.saving.register_keras_serializable(package="keras_gen")
class SelfAttention2D(layers.Layer):
    """Self-attention over the `h * w` positions of a feature map (Zhang et al., 2019).

    Query and key are 1x1 convolutions to `channels // key_ratio` channels, the value one to
    `channels // value_ratio`; each position's output is the softmax(query . key)-weighted sum
    of the values, projected back to `channels` by a 1x1 convolution and added to the input
    scaled by a learned `gamma` that starts at 0 (so the block starts as the identity and the
    network first relies on local convolutions). The softmax is taken in float32. With
    `pool_keys` (BigGAN's implementation) keys and values are 2x2 max-pooled first: every
    position still attends to the whole map, through a quarter as many key positions.

    Examples:
        >>> import numpy as np
        >>> x = np.random.rand(2, 8, 8, 16).astype("float32")
        >>> bool(np.allclose(SelfAttention2D()(x), x))  # gamma = 0 at the start
        True
    """

    def __init__(self, key_ratio=8, value_ratio=2, spectral_norm=True, pool_keys=True, **kwargs):
        super().__init__(**kwargs)
        self.pool_keys = bool(pool_keys)
        self.key_ratio = int(key_ratio)
        self.value_ratio = int(value_ratio)
        self.spectral_norm = bool(spectral_norm)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        keys = max(1, channels // self.key_ratio)
        values = max(1, channels // self.value_ratio)

        def conv(filters, name):
            return spectral(layers.Conv2D(filters, 1, use_bias=False, kernel_initializer="orthogonal",
                                          name=name), self.spectral_norm)

        self.query = conv(keys, "query")
        self.key = conv(keys, "key")
        self.value = conv(values, "value")
        self.output_projection = conv(channels, "output")
        for sublayer, shape in ((self.query, input_shape), (self.key, input_shape),
                                (self.value, input_shape),
                                (self.output_projection, (*input_shape[:-1], values))):
            sublayer.build(shape)
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def call(self, inputs, training=False):
        shape = ops.shape(inputs)
        batch, height, width = shape[0], shape[1], shape[2]

        def positions(x):
            return ops.reshape(x, (batch, -1, ops.shape(x)[-1]))

        query = positions(self.query(inputs, training=training))
        key = self.key(inputs, training=training)
        value = self.value(inputs, training=training)
        if self.pool_keys:
            key, value = (ops.max_pool(t, 2, strides=2, padding="same") for t in (key, value))
        key, value = positions(key), positions(value)
        logits = ops.matmul(ops.cast(query, "float32"), ops.transpose(ops.cast(key, "float32"), (0, 2, 1)))
        attention = ops.cast(ops.softmax(logits, axis=-1), value.dtype)
        attended = ops.reshape(ops.matmul(attention, value), (batch, height, width, ops.shape(value)[-1]))
        out = self.output_projection(attended, training=training)
        return inputs + ops.cast(self.gamma, inputs.dtype) * out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "key_ratio": self.key_ratio,
                "value_ratio": self.value_ratio, "spectral_norm": self.spectral_norm,
                "pool_keys": self.pool_keys}


@keras.saving.register_keras_serializable(package="keras_gen")
class ConditionalBatchNorm(layers.Layer):
    """Batch normalization whose per-channel gain and bias are linear in a condition vector.

    Called on `[features, condition]`: the features are normalised without a learned affine
    (synchronized across replicas), then scaled by `1 + gain(condition)` and shifted by
    `bias(condition)`, both dense layers initialised at zero (so it starts as plain batch
    norm). The condition is a one-hot class, a class embedding, or (BigGAN) a class embedding
    joined to a chunk of z.

    Examples:
        >>> import numpy as np
        >>> x, c = np.random.rand(4, 8, 8, 6), np.eye(3)[[0, 1, 2, 0]]
        >>> tuple(ConditionalBatchNorm()([x, c]).shape)
        (4, 8, 8, 6)
    """

    def __init__(self, spectral_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = bool(spectral_norm)

    def build(self, input_shape):
        features_shape, condition_shape = input_shape
        channels = int(features_shape[-1])
        self.norm = layers.BatchNormalization(center=False, scale=False, synchronized=True,
                                              name="norm")
        self.gain = spectral(layers.Dense(channels, kernel_initializer="zeros", name="gain"),
                             self.spectral_norm)
        self.bias = spectral(layers.Dense(channels, kernel_initializer="zeros", name="bias"),
                             self.spectral_norm)
        self.norm.build(features_shape)
        self.gain.build(condition_shape)
        self.bias.build(condition_shape)

    def call(self, inputs, training=False):
        features, condition = inputs
        normalised = self.norm(features, training=training)
        gain = ops.cast(self.gain(condition, training=training), normalised.dtype)
        bias = ops.cast(self.bias(condition, training=training), normalised.dtype)
        return normalised * (1.0 + gain[:, None, None, :]) + bias[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "spectral_norm": self.spectral_norm}


@keras.saving.register_keras_serializable(package="keras_gen")
class LatentChunks(layers.Layer):
    """Split z into consecutive chunks of the given sizes (BigGAN's hierarchical latent).

    Examples:
        >>> import numpy as np
        >>> [tuple(c.shape) for c in LatentChunks([3, 2])(np.zeros((4, 5)))]
        [(4, 3), (4, 2)]
    """

    def __init__(self, sizes, **kwargs):
        super().__init__(**kwargs)
        self.sizes = [int(s) for s in sizes]

    def call(self, z):
        chunks, start = [], 0
        for size in self.sizes:
            chunks.append(z[:, start:start + size])
            start += size
        return chunks

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], size) for size in self.sizes]

    def get_config(self):
        return {**super().get_config(), "sizes": self.sizes}


def norm_block(x, condition, name, spectral_norm=False):
    """Batch norm of `x`: conditional on `condition` when there is one, plain otherwise."""
    if condition is None:
        return synchronized_batch_norm(name)(x)
    return ConditionalBatchNorm(spectral_norm=spectral_norm, name=name)([x, condition])
