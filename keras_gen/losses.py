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

    Examples:
        >>> import numpy as np
        >>> float(kl_divergence_standard_normal(np.zeros((1, 4)), np.zeros((1, 4)))[0]) + 0.0  # not -0.0
        0.0
    """
    mean, log_var = _float32(mean), _float32(log_var)
    return -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)


def bernoulli_reconstruction_loss(targets, logits):
    """Negative Bernoulli log-likelihood per example (nats), from decoder logits.

    Targets are intensities in [0, 1]; `sum_i softplus(l_i) - x_i * l_i`, the numerically stable
    sigmoid cross-entropy, summed over every pixel and channel.

    Examples:
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

    Examples:
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


# ---------------------------------------------------------------------- adversarial losses
# Every function takes the discriminator's raw outputs (logits or critic scores, one per example
# or a PatchGAN map) and returns one value per example, averaged over patches. log D = -softplus(-l) and log(1 - D) = -softplus(l) keep the
# sigmoid cross-entropies finite for any logit.

ADVERSARIAL_LOSSES = ("minimax", "non_saturating", "least_squares", "hinge", "wasserstein")


def _per_example(x):
    """One score per example: a single logit as is, a PatchGAN map averaged over its patches."""
    x = _float32(x)
    return ops.mean(ops.reshape(x, (ops.shape(x)[0], -1)), axis=-1)


def discriminator_loss(kind, real_logits, fake_logits, real_label=1.0):
    """The discriminator's (critic's) loss per example for adversarial loss `kind`.

    - minimax / non_saturating: `-log D(x) - log(1 - D(G(z)))`, with `real_label < 1` for
      one-sided label smoothing (the real target becomes `real_label`);
    - least_squares: `0.5 (D(x) - 1)^2 + 0.5 D(G(z))^2` on raw outputs;
    - hinge: `relu(1 - D(x)) + relu(1 + D(G(z)))`;
    - wasserstein: `D(G(z)) - D(x)` (add a gradient penalty for WGAN-GP).

    Examples:
        >>> import numpy as np
        >>> round(float(discriminator_loss("minimax", np.zeros((1, 1)), np.zeros((1, 1)))[0]), 4)
        1.3863
    """
    real, fake = _per_example(real_logits), _per_example(fake_logits)
    if kind in ("minimax", "non_saturating"):
        real_term = real_label * ops.softplus(-real) + (1.0 - real_label) * ops.softplus(real)
        return real_term + ops.softplus(fake)
    if kind == "least_squares":
        return 0.5 * ops.square(real - real_label) + 0.5 * ops.square(fake)
    if kind == "hinge":
        return ops.relu(1.0 - real) + ops.relu(1.0 + fake)
    if kind == "wasserstein":
        return fake - real
    raise ValueError(f"unknown adversarial loss {kind!r}; expected one of {ADVERSARIAL_LOSSES}")


def generator_loss(kind, fake_logits):
    """The generator's loss per example for adversarial loss `kind`.

    - minimax: `log(1 - D(G(z)))` (the original objective; its gradient vanishes when D wins);
    - non_saturating: `-log D(G(z))`;
    - least_squares: `0.5 (D(G(z)) - 1)^2`;
    - hinge and wasserstein: `-D(G(z))`.

    Examples:
        >>> import numpy as np
        >>> round(float(generator_loss("non_saturating", np.zeros((1, 1)))[0]), 4)
        0.6931
    """
    fake = _per_example(fake_logits)
    if kind == "minimax":
        return -ops.softplus(fake)
    if kind == "non_saturating":
        return ops.softplus(-fake)
    if kind == "least_squares":
        return 0.5 * ops.square(fake - 1.0)
    if kind in ("hinge", "wasserstein"):
        return -fake
    raise ValueError(f"unknown adversarial loss {kind!r}; expected one of {ADVERSARIAL_LOSSES}")


def gradient_penalty(critic, real, fake, weights):
    """WGAN-GP penalty per example: `(||grad_x D(x_hat)||_2 - 1)^2` on random interpolates.

    `weights` are uniform(0, 1) per example (shape `(batch, 1, ..., 1)` or `(batch,)`);
    `critic` maps a batch of images to scores (a closure that adds any condition).
    """
    import tensorflow as tf

    real, fake = tf.cast(real, tf.float32), tf.cast(fake, tf.float32)
    weights = tf.reshape(tf.cast(weights, tf.float32), [-1] + [1] * (len(real.shape) - 1))
    mixed = real + weights * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed)
    grads = tf.reshape(tf.cast(tape.gradient(scores, mixed), tf.float32), (tf.shape(real)[0], -1))
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-12)
    return tf.square(norms - 1.0)


def r1_penalty(critic, real):
    """R1 per example (Mescheder et al., 2018): `||grad_x D(x)||^2` on real images only,
    which StyleGAN weights by `gamma / 2`. `critic` maps a batch of images to scores.

    Examples:
        >>> import numpy as np
        >>> r1_penalty(lambda x: 3.0 * ops.sum(x, axis=(1, 2, 3)), np.ones((2, 2, 2, 1))).numpy().tolist()
        [36.0, 36.0]
    """
    import tensorflow as tf

    real = tf.identity(tf.cast(real, tf.float32))  # a tensor of this graph (under tf.cond too)
    with tf.GradientTape() as tape:
        tape.watch(real)
        scores = critic(real)
    grads = tf.reshape(tf.cast(tape.gradient(scores, real), tf.float32),
                       (tf.shape(real)[0], -1))
    return tf.reduce_sum(tf.square(grads), axis=1)


def drift_penalty(real_scores):
    """ProGAN's drift term per example, `D(x)^2`: with a small weight (0.001) it keeps a
    Wasserstein critic's scores from drifting far from 0.

    Examples:
        >>> import numpy as np
        >>> np.asarray(drift_penalty(np.array([[2.0], [-1.0]]))).tolist()
        [4.0, 1.0]
    """
    return ops.square(_per_example(real_scores))


def mean_absolute_error(targets, predictions):
    """Mean absolute error per example (the L1 term of pix2pix and the cycle/identity losses)."""
    diff = _float32(targets) - _float32(predictions)
    return ops.mean(ops.reshape(ops.abs(diff), (ops.shape(diff)[0], -1)), axis=-1)


def orthogonal_regularization(kernels):
    """BigGAN's orthogonal regularisation (Brock et al., 2019), a scalar: the sum over weight
    matrices W (a kernel reshaped to `(fan_in, units)`) of `||W^T W * (1 - I)||_F^2`.

    Only the off-diagonal products are penalised: filters are pushed towards orthogonality
    without constraining their norms (spectral normalization sets those).

    Examples:
        >>> import numpy as np
        >>> float(orthogonal_regularization([np.eye(3)])), float(orthogonal_regularization([np.ones((2, 2))]))
        (0.0, 8.0)
    """
    total = 0.0
    for kernel in kernels:
        kernel = _float32(kernel)
        matrix = ops.reshape(kernel, (-1, ops.shape(kernel)[-1]))
        gram = ops.matmul(ops.transpose(matrix), matrix)
        off_diagonal = gram * (1.0 - ops.eye(ops.shape(gram)[0], dtype="float32"))
        total = total + ops.sum(ops.square(off_diagonal))
    return ops.convert_to_tensor(total, "float32")
