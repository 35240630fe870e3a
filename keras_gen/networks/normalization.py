"""Normalization layers shared by the network builders."""

import keras
from keras import layers, ops


def synchronized_batch_norm(name=None):
    """Batch normalization whose statistics are those of the global batch under `tf.distribute`.

    `synchronized=True` all-reduces the batch mean and variance across replicas, so a
    data-parallel step normalises like a one-device step on the same global batch and the
    moving statistics stay identical on every replica (with one device it is plain batch norm).

    Example:
    >>> synchronized_batch_norm("norm").synchronized
    True
    """
    return layers.BatchNormalization(synchronized=True, name=name)


@keras.saving.register_keras_serializable(package="keras_gen")
class SpectralNorm(layers.SpectralNormalization):
    """Spectral normalization as Miyato et al. (2018) define it: the wrapped layer runs with
    `kernel / sigma`, where sigma, the kernel's largest singular value, comes from one power
    iteration on a persistent vector `u` (updated only when training).

    Keras's `SpectralNormalization` instead overwrites the kernel with `kernel / sigma` at
    every training call, so no gradient flows through sigma and the kernel's scale never
    grows (with Adam the effective step stays as large as at the start). Here the kernel is
    left as the optimizer made it and the division is part of the forward pass, so the
    gradient sees it. The normalization runs in float32 under the mixed policies.

    Example:
    >>> import numpy as np
    >>> dense = SpectralNorm(keras.layers.Dense(3, use_bias=False, kernel_initializer="ones"))
    >>> y = dense(np.ones((1, 4), "float32"), training=True)  # ones(4, 3) has sigma sqrt(12)
    >>> bool(np.allclose(y, 4 / np.sqrt(12), atol=1e-4))
    True
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        kwargs.setdefault("autocast", False)  # sigma from the float32 kernel; the layer autocasts
        super().__init__(layer, power_iterations=power_iterations, **kwargs)

    def call(self, inputs, training=False):
        kernel = ops.convert_to_tensor(self.kernel)
        matrix = ops.reshape(kernel, (-1, self.kernel_shape[-1]))
        u = ops.convert_to_tensor(self.vector_u)
        for _ in range(self.power_iterations):
            v = _unit(ops.matmul(u, ops.transpose(matrix)))
            u = _unit(ops.matmul(v, matrix))
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        sigma = ops.sum(ops.matmul(v, matrix) * u)
        if training:
            self.vector_u.assign(u)
        normalized = kernel / ops.maximum(sigma, 1e-12)
        with keras.StatelessScope(state_mapping=[(self.kernel, normalized)]):
            return self.layer(inputs)


def _unit(x):
    return x / ops.maximum(ops.sqrt(ops.sum(ops.square(x))), 1e-12)


def spectral(layer, enabled=True):
    """`layer` wrapped in `SpectralNorm` when `enabled` (the attention GANs put it on every
    weight layer of G and D); the wrapper is named `<layer name>_sn`."""
    return SpectralNorm(layer, name=f"{layer.name}_sn") if enabled else layer
