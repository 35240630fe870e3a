"""The autoregressive likelihoods: the discretised logistic mixture is a distribution over the
levels (it sums to one, colour included) and its draws follow it."""

import itertools

import numpy as np
import pytest

from keras_gen import likelihoods as L


@pytest.mark.parametrize("channels, mixtures", [(1, 3), (3, 4)])
def test_logistic_mixture_sums_to_one_and_draws_follow_it(channels, mixtures):
    rng = np.random.default_rng(0)
    size = L.head_shape("logistic_mixture", channels, mixtures=mixtures)[1]
    params = rng.normal(size=(size,)).astype("float32")
    levels = 8  # 8 ** 3 colour values: every one can be scored
    values = np.array(list(itertools.product(range(levels), repeat=channels)), np.int32)
    probabilities = np.exp(-np.asarray(L.logistic_mixture_nll(
        values, np.repeat(params[None], len(values), 0), levels, mixtures)))
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    n = 20_000
    noise = rng.uniform(1e-6, 1 - 1e-6, size=(n, mixtures + channels)).astype("float32")
    drawn = np.asarray(L.draw_logistic_mixture(np.repeat(params[None], n, 0), noise, levels,
                                               mixtures, channels))
    index = (drawn * levels ** np.arange(channels - 1, -1, -1)).sum(axis=1)
    frequency = np.bincount(index, minlength=len(values)) / n
    bound = 5 * np.sqrt(probabilities * (1 - probabilities) / n) + 1e-3
    assert (np.abs(frequency - probabilities) <= bound).all()


def test_the_mixture_puts_more_mass_near_its_mean_and_the_head_sizes_add_up():
    params = np.zeros((1, 3), "float32")  # one grey component: logit, mean 0, log scale 0
    near, far = (float(L.logistic_mixture_nll(np.array([[v]]), params, 256, 1)[0]) for v in (128, 250))
    assert near < far
    assert L.head_shape("logistic_mixture", 3, mixtures=10) == (1, 100)  # PixelCNN++'s 10 x 10
    assert L.head_shape("categorical", 1) == (1, 256)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        L.head_shape("gaussian", 3)
