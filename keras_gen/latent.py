"""Latent-space tools for any model with `decode(z)`: traversal, interpolation, and figures.

Works with VAEs (decode of z) and autoencoders (decode of codes); conditional models take
`labels`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import ops

from keras_gen.plots import save_image_grid


def normal_from_seeds(seeds, dim):
    """One standard-normal code of size `dim` per integer seed, in graph mode too.

    Stateless: the same seed gives the same code in Python, in a SavedModel and on any
    device, so `sample(seeds)` signatures are reproducible across processes.

    Examples:
        >>> tuple(normal_from_seeds([0, 1, 0], 4).shape)
        (3, 4)
    """
    seeds = tf.cast(tf.convert_to_tensor(seeds), tf.int64)
    return tf.map_fn(lambda s: tf.random.stateless_normal((int(dim),), tf.stack([s, 0])),
                     seeds, fn_output_signature=tf.float32)



def truncate_normal(z, truncation):
    """Map standard-normal codes `z` to the normal truncated to `[-truncation, truncation]`
    (BigGAN's truncation trick); `truncation <= 0` leaves `z` as it is.

    Each value goes through its own CDF into the truncated range (`Phi^-1(Phi(-t) + Phi(z) *
    (Phi(t) - Phi(-t)))`): the result has exactly the distribution of resampling every
    `|z| > t` until it falls inside, and a code keeps its identity as `t` moves (a large `t`
    gives back `z`, a small one shrinks it towards 0 in order), so one seed gives one image
    at every truncation. `truncation` is a scalar or one value per code.

    Examples:
        >>> z = normal_from_seeds([0, 1, 2], 64)
        >>> float(tf.reduce_max(tf.abs(truncate_normal(z, 0.5)))) <= 0.5
        True
        >>> bool(np.allclose(truncate_normal(z, 0.0), z))
        True
    """
    z = tf.cast(tf.convert_to_tensor(z), tf.float64)
    t = tf.cast(tf.convert_to_tensor(truncation), tf.float64)
    t = tf.reshape(t, [-1, 1]) if t.shape.rank else t
    t_safe = tf.where(t > 0, t, tf.ones_like(t))
    cdf = lambda x: 0.5 * tf.math.erfc(-x / np.sqrt(2.0))  # noqa: E731
    low, high = cdf(-t_safe), cdf(t_safe)
    truncated = tf.math.ndtri(low + cdf(z) * (high - low))
    truncated = tf.clip_by_value(truncated, -t_safe, t_safe)
    return tf.cast(tf.where(t > 0, truncated, z), tf.float32)


def truncate_w(w, w_avg, psi):
    """StyleGAN's truncation trick in w space: `w_avg + psi * (w - w_avg)`. `psi` is a scalar
    or one value per row of `w`; 1 leaves `w` as it is, 0 gives the mean `w_avg`.

    Examples:
        >>> truncate_w(np.array([[2.0, 4.0]]), np.array([0.0, 2.0]), [0.5]).numpy().tolist()
        [[1.0, 3.0]]
    """
    w = tf.cast(tf.convert_to_tensor(w), tf.float32)
    psi = tf.cast(tf.convert_to_tensor(psi), tf.float32)
    psi = tf.reshape(psi, [-1, 1]) if psi.shape.rank else psi
    w_avg = tf.cast(tf.convert_to_tensor(w_avg), tf.float32)
    return w_avg + psi * (w - w_avg)


def _decode(model, z, labels=None):
    z = ops.convert_to_tensor(np.asarray(z, np.float32))
    images = model.decode(z, labels) if labels is not None else model.decode(z)
    return ops.convert_to_numpy(images)


def traverse(model, z, dim, values, labels=None):
    """Decode copies of code `z` whose dimension `dim` takes each of `values` in turn.

    Every other dimension stays fixed. Returns `(len(values), h, w, c)` images.

    Examples:
        >>> from keras_gen.models import VAE
        >>> vae = VAE(latent_dim=3)
        >>> traverse(vae, np.zeros(3), dim=1, values=[-2, 0, 2]).shape
        (3, 28, 28, 1)
    """
    codes = traversal_codes(z, dim, values)
    if labels is not None:
        labels = np.full(len(codes), int(np.asarray(labels).reshape(-1)[0]))
    return _decode(model, codes, labels)


def traversal_codes(z, dim, values):
    """The codes `traverse` decodes: copies of `z` with `z[dim]` set to each value."""
    z = np.asarray(z, np.float32).reshape(-1)
    if not 0 <= int(dim) < z.shape[0]:
        raise ValueError(f"dim must be in [0, {z.shape[0]}), got {dim}")
    codes = np.repeat(z[np.newaxis], len(values), axis=0)
    codes[:, int(dim)] = np.asarray(values, np.float32)
    return codes


def interpolation_codes(z1, z2, steps=8, method="linear"):
    """`steps` codes from `z1` to `z2` inclusive; `method="slerp"` follows the great circle,
    which keeps Gaussian codes at a typical norm."""
    z1 = np.asarray(z1, np.float32).reshape(-1)
    z2 = np.asarray(z2, np.float32).reshape(-1)
    t = np.linspace(0.0, 1.0, int(steps), dtype=np.float32)[:, np.newaxis]
    if method == "linear":
        return (1.0 - t) * z1 + t * z2
    if method != "slerp":
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    cos = np.dot(z1, z2) / (np.linalg.norm(z1) * np.linalg.norm(z2) + 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return (1.0 - t) * z1 + t * z2
    return (np.sin((1.0 - t) * omega) * z1 + np.sin(t * omega) * z2) / np.sin(omega)


def interpolate(model, z1, z2, steps=8, method="linear", labels=None):
    """Decode `steps` codes between `z1` and `z2` (inclusive). Returns images."""
    codes = interpolation_codes(z1, z2, steps, method)
    if labels is not None:
        labels = np.full(len(codes), int(np.asarray(labels).reshape(-1)[0]))
    return _decode(model, codes, labels)


def traversal_sheet(model, z, dims=None, values=np.linspace(-3, 3, 9), labels=None):
    """One row per latent dimension in `dims` (default all), one column per value."""
    z = np.asarray(z, np.float32).reshape(-1)
    dims = range(z.shape[0]) if dims is None else dims
    rows = [traverse(model, z, d, values, labels) for d in dims]
    return np.concatenate(rows, axis=0), len(values)


def save_traversal_figure(model, z, path, dims=None, values=np.linspace(-3, 3, 9), labels=None):
    """PNG of `traversal_sheet`: rows are dimensions, columns the values."""
    images, cols = traversal_sheet(model, z, dims, values, labels)
    return save_image_grid(images, path, cols=cols)


def save_interpolation_figure(model, pairs, path, steps=10, method="linear", labels=None):
    """PNG with one row per `(z1, z2)` pair, `steps` decoded codes per row."""
    rows = [interpolate(model, z1, z2, steps, method, labels) for z1, z2 in pairs]
    return save_image_grid(np.concatenate(rows, axis=0), path, cols=steps)


def save_reconstruction_figure(inputs, reconstructions, path, cols=10):
    """PNG of inputs (odd rows) above their reconstructions (even rows)."""
    inputs, reconstructions = np.asarray(inputs), np.asarray(reconstructions)
    n = len(inputs)
    rows = []
    for start in range(0, n, cols):
        rows.append(inputs[start : start + cols])
        rows.append(reconstructions[start : start + cols])
    return save_image_grid(np.concatenate(rows, axis=0), path, cols=min(cols, n))


__all__ = [
    "interpolate",
    "interpolation_codes",
    "save_interpolation_figure",
    "save_reconstruction_figure",
    "save_traversal_figure",
    "traversal_codes",
    "traversal_sheet",
    "traverse",
]
