"""Losses as small pure functions of tensors.

Each function returns one value per example (shape `(batch,)`); the training core turns
per-example values into the loss that gradients are taken of (see
`keras_gen.training.reduce_loss`), so the functions know nothing about batches spread over
replicas. All are computed in float32, whatever the compute dtype of the model.
"""

from __future__ import annotations

import math

from keras import ops


def _float32(x):
    return ops.cast(x, "float32")


def _sum_except_batch(x):
    return ops.sum(ops.reshape(x, (ops.shape(x)[0], -1)), axis=-1)


def kl_divergence_standard_normal(mean, log_var):
    """KL( N(mean, exp(log_var)) || N(0, I) ) per example, summed over latent dimensions.

    The analytic form `-0.5 * sum(1 + log_var - mean**2 - exp(log_var))`.

    Example:
    >>> import numpy as np
    >>> float(kl_divergence_standard_normal(np.zeros((1, 4)), np.zeros((1, 4)))[0])
    0.0
    """
    mean, log_var = _float32(mean), _float32(log_var)
    return -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)


def bernoulli_reconstruction_loss(targets, logits):
    """Negative Bernoulli log-likelihood per example (nats), from decoder logits.

    Targets are intensities in [0, 1]; `sum_i softplus(l_i) - x_i * l_i`, the numerically stable
    sigmoid cross-entropy, summed over every pixel and channel.

    Example:
    >>> import numpy as np
    >>> round(float(bernoulli_reconstruction_loss(np.ones((1, 2)), np.zeros((1, 2)))[0]), 4)
    1.3863
    """
    targets, logits = _float32(targets), _float32(logits)
    per_pixel = ops.softplus(logits) - targets * logits
    return _sum_except_batch(per_pixel)


def gaussian_reconstruction_loss(targets, mean, log_scale=0.0):
    """Negative Gaussian log-likelihood per example (nats), summed over pixels.

    `log_scale` is the log standard deviation, a scalar or a tensor like `mean`.
    """
    targets, mean = _float32(targets), _float32(mean)
    log_scale = _float32(log_scale)
    z = (targets - mean) * ops.exp(-log_scale)
    per_pixel = 0.5 * ops.square(z) + log_scale + 0.5 * math.log(2.0 * math.pi)
    return _sum_except_batch(per_pixel + ops.zeros_like(targets))


def mean_squared_error(targets, predictions):
    """Mean squared error per example, averaged over pixels and channels."""
    diff = _float32(targets) - _float32(predictions)
    return ops.mean(ops.reshape(ops.square(diff), (ops.shape(diff)[0], -1)), axis=-1)


def sparsity_kl_divergence(rho, mean_activation, epsilon=1e-6):
    """sum_j KL(rho || rho_hat_j) between Bernoulli means: the sparse autoencoder penalty.

    `mean_activation` holds rho_hat_j, the batch-mean activation of each (sigmoid) code unit:
    `sum_j rho * log(rho / rho_hat_j) + (1 - rho) * log((1 - rho) / (1 - rho_hat_j))`.
    A scalar: it is a property of the batch, not of single examples.

    Example:
    >>> import numpy as np
    >>> float(sparsity_kl_divergence(0.05, np.full(8, 0.05, "float32")))
    0.0
    """
    rho_hat = ops.clip(_float32(mean_activation), epsilon, 1.0 - epsilon)
    rho = float(rho)
    return ops.sum(
        rho * ops.log(rho / rho_hat) + (1.0 - rho) * ops.log((1.0 - rho) / (1.0 - rho_hat))
    )


def squared_error(targets, predictions):
    """Sum of squared errors per example, over every pixel and channel."""
    diff = _float32(targets) - _float32(predictions)
    return _sum_except_batch(ops.square(diff))


def gaussian_log_density(z, mean, log_var):
    """log N(z; mean, diag(exp(log_var))) per example, summed over the last axis."""
    z, mean, log_var = _float32(z), _float32(mean), _float32(log_var)
    return -0.5 * ops.sum(
        ops.square(z - mean) * ops.exp(-log_var) + log_var + math.log(2.0 * math.pi), axis=-1
    )
