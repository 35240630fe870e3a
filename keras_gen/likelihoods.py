"""Per-pixel likelihoods of the autoregressive families, as small pure functions.

- `"categorical"`: a 256-way softmax per channel value (PixelCNN, PixelRNN). The network's
  head gives `(..., channels, levels)` logits; the channels of a pixel are independent given
  the earlier pixels.
- `"logistic_mixture"`: PixelCNN++'s discretised mixture of logistics (Salimans et al.,
  2017). The head gives, per pixel, `mixtures` mixture logits and, per component, a mean and a
  log scale per channel and (colour) three coefficients that make the means of G depend on R
  and of B on R and G: channels are drawn R, then G, then B within a pixel. A value's
  probability is the logistic mass of its bin of width `2 / (levels - 1)` in [-1, 1], the
  edge bins taking the tails.

Draws use noise given from outside (one stateless stream per seed), so the same seed gives the
same image in any process.
"""

from __future__ import annotations

import tensorflow as tf

LIKELIHOODS = ("categorical", "logistic_mixture")


def coefficient_count(channels):
    """Coefficients per mixture component: G on R, B on R, B on G (none for grey)."""
    return {1: 0, 3: 3}[int(channels)]


def head_shape(likelihood, channels, levels=256, mixtures=5):
    """`(groups, units)` of the network head per pixel: `(channels, levels)` logits for the
    categorical, `(1, mixtures * (1 + 2 * channels + coefficients))` for the mixture.

    Examples:
        >>> head_shape("categorical", 3), head_shape("logistic_mixture", 3, mixtures=10)
        ((3, 256), (1, 100))
    """
    if likelihood == "categorical":
        return int(channels), int(levels)
    if likelihood == "logistic_mixture":
        return 1, int(mixtures) * (1 + 2 * int(channels) + coefficient_count(channels))
    raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")


def noise_units(likelihood, channels, levels=256, mixtures=5):
    """Uniform noise values needed per pixel to draw one: a Gumbel per logit (categorical), or
    a Gumbel per mixture component and a uniform per channel (mixture)."""
    if likelihood == "categorical":
        return int(channels) * int(levels)
    return int(mixtures) + int(channels)


def _split_mixture(params, channels, mixtures):
    """`params (..., P)` -> mixture logits `(..., k)`, means, log scales `(..., c, k)` and
    coefficients `(..., n, k)` (tanh-squashed)."""
    k, c = int(mixtures), int(channels)
    n = coefficient_count(c)
    shape = tf.shape(params)[:-1]
    logits = params[..., :k]
    rest = tf.reshape(params[..., k:], tf.concat([shape, [2 * c + n, k]], 0))
    means, log_scales = rest[..., :c, :], tf.maximum(rest[..., c:2 * c, :], -7.0)
    coefficients = tf.tanh(rest[..., 2 * c:, :])
    return logits, means, log_scales, coefficients


def _conditioned_means(means, coefficients, x):
    """Means of G and B shifted by the pixel's own earlier channels (`x (..., c)` in [-1, 1])."""
    if means.shape[-2] == 1:
        return means
    x = x[..., :, None]
    g = means[..., 1, :] + coefficients[..., 0, :] * x[..., 0, :]
    b = means[..., 2, :] + coefficients[..., 1, :] * x[..., 0, :] + coefficients[..., 2, :] * x[..., 1, :]
    return tf.stack([means[..., 0, :], g, b], axis=-2)


def logistic_mixture_nll(levels, params, num_levels=256, mixtures=5):
    """-log p of integer `levels (..., c)` under the discretised logistic mixture `params
    (..., P)`, summed over the channels of each pixel: `(...)` in nats.

    Examples:
        >>> import numpy as np
        >>> params = np.zeros((1, 3), "float32")  # one grey component, mean 0, scale 1
        >>> nll = logistic_mixture_nll(np.array([[128], [255]]), np.repeat(params, 2, 0), mixtures=1)
        >>> [round(float(v), 2) for v in nll]  # mid-grey's bin, then the top bin with its tail
        [6.23, 1.31]
    """
    levels = tf.cast(levels, tf.int32)
    params = tf.cast(params, tf.float32)
    channels = levels.shape[-1]
    logits, means, log_scales, coefficients = _split_mixture(params, channels, mixtures)
    x = tf.cast(levels, tf.float32) / (num_levels - 1) * 2.0 - 1.0  # bin centres in [-1, 1]
    means = _conditioned_means(means, coefficients, x)
    centred = x[..., None] - means
    inverse_scale = tf.exp(-log_scales)
    half_bin = 1.0 / (num_levels - 1)
    plus, minus = inverse_scale * (centred + half_bin), inverse_scale * (centred - half_bin)
    log_cdf_plus = plus - tf.nn.softplus(plus)  # log sigmoid(plus), the lowest bin
    log_one_minus_cdf_minus = -tf.nn.softplus(minus)  # log (1 - sigmoid(minus)), the highest
    mass = tf.sigmoid(plus) - tf.sigmoid(minus)
    mid = inverse_scale * centred  # log density at the centre times the bin width, if tiny
    log_pdf_mid = mid - log_scales - 2.0 * tf.nn.softplus(mid)
    log_middle = tf.where(mass > 1e-5, tf.math.log(tf.maximum(mass, 1e-12)),
                          log_pdf_mid - tf.math.log((num_levels - 1) / 2.0))
    low, high = x[..., None] < -0.999, x[..., None] > 0.999
    log_probs = tf.where(low, log_cdf_plus, tf.where(high, log_one_minus_cdf_minus, log_middle))
    log_probs = tf.reduce_sum(log_probs, axis=-2) + tf.nn.log_softmax(logits, axis=-1)
    return -tf.reduce_logsumexp(log_probs, axis=-1)


def draw_logistic_mixture(params, uniform, num_levels=256, mixtures=5, channels=3):
    """Integer levels `(..., c)` drawn from the mixture `params (..., P)` with `uniform
    (..., mixtures + c)` noise in (0, 1): a component by Gumbel-max, then R, G, B in turn
    (G's and B's means follow the channels already drawn)."""
    params = tf.cast(params, tf.float32)
    logits, means, log_scales, coefficients = _split_mixture(params, channels, mixtures)
    gumbel = -tf.math.log(-tf.math.log(uniform[..., :mixtures]))
    pick = tf.one_hot(tf.argmax(logits + gumbel, axis=-1), mixtures)[..., None, :]  # (..., 1, k)
    means = tf.reduce_sum(means * pick, -1)
    scales = tf.exp(tf.reduce_sum(log_scales * pick, -1))
    coefficients = tf.reduce_sum(coefficients * pick, -1)
    u = uniform[..., mixtures:]
    logistic = tf.math.log(u) - tf.math.log1p(-u)
    values = []
    for c in range(int(channels)):
        mean = means[..., c]
        if c == 1:
            mean += coefficients[..., 0] * values[0]
        elif c == 2:
            mean += coefficients[..., 1] * values[0] + coefficients[..., 2] * values[1]
        value = tf.clip_by_value(mean + scales[..., c] * logistic[..., c], -1.0, 1.0)
        # the drawn value is that of its bin, which the next channel then conditions on
        value = tf.round((value + 1.0) / 2.0 * (num_levels - 1)) / (num_levels - 1) * 2.0 - 1.0
        values.append(value)
    x = tf.stack(values, axis=-1)
    return tf.cast(tf.round((x + 1.0) / 2.0 * (num_levels - 1)), tf.int32)


def draw_categorical(logits, uniform):
    """Integer levels `(..., c)` from logits `(..., c, levels)` by Gumbel-max with `uniform
    (..., c * levels)` noise in (0, 1)."""
    gumbel = -tf.math.log(-tf.math.log(tf.reshape(uniform, tf.shape(logits))))
    return tf.argmax(tf.cast(logits, tf.float32) + gumbel, axis=-1, output_type=tf.int32)
