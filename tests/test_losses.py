"""Losses against NumPy formulas."""

import numpy as np
import pytest

from keras_gen import losses


def _np(x):
    return np.asarray(x)


def test_kl_matches_numpy():
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    var = np.exp(log_var)
    # KL(N(m, v) || N(0, 1)) = 0.5 * (v + m^2 - 1 - log v), per dimension
    expected = 0.5 * np.sum(var + mean**2 - 1.0 - log_var, axis=-1)
    got = _np(losses.kl_divergence_standard_normal(mean.astype("float32"), log_var.astype("float32")))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert np.all(got >= 0)


def test_kl_against_monte_carlo():
    rng = np.random.default_rng(1)
    mean, log_var = np.array([[0.7, -1.2]]), np.array([[-0.5, 0.3]])
    z = mean + np.exp(0.5 * log_var) * rng.standard_normal((200_000, 2))
    log_q = -0.5 * (((z - mean) ** 2) / np.exp(log_var) + log_var + np.log(2 * np.pi))
    log_p = -0.5 * (z**2 + np.log(2 * np.pi))
    monte_carlo = np.mean(np.sum(log_q - log_p, axis=-1))
    got = float(_np(losses.kl_divergence_standard_normal(mean, log_var))[0])
    assert got == pytest.approx(monte_carlo, abs=0.01)


def test_bernoulli_reconstruction_matches_cross_entropy():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(3, 4, 4, 1))
    logits = rng.normal(scale=3.0, size=x.shape)
    p = 1.0 / (1.0 + np.exp(-logits))
    expected = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=(1, 2, 3))
    got = _np(losses.bernoulli_reconstruction_loss(x, logits))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_bernoulli_is_stable_for_extreme_logits():
    got = _np(losses.bernoulli_reconstruction_loss(np.array([[1.0, 0.0]]), np.array([[200.0, -200.0]])))
    assert np.isfinite(got).all() and got[0] == pytest.approx(0.0, abs=1e-6)


def test_gaussian_reconstruction_matches_log_density():
    rng = np.random.default_rng(3)
    x, mean = rng.uniform(size=(2, 3, 3, 1)), rng.uniform(size=(2, 3, 3, 1))
    log_scale = -1.3
    sigma = np.exp(log_scale)
    log_density = -0.5 * ((x - mean) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)
    got = _np(losses.gaussian_reconstruction_loss(x, mean, log_scale))
    np.testing.assert_allclose(got, -np.sum(log_density, axis=(1, 2, 3)), rtol=1e-5)
