"""Real-data quality checks on mnist_5k (minutes on 2 cores): run with `pytest -m slow`."""

import keras
import numpy as np
import pytest

from keras_gen import data
from keras_gen.models import VAE, AutoEncoder, DenoisingAutoEncoder

pytestmark = pytest.mark.slow


def _train(model, epochs):
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(data.load("mnist_5k", "train", batch_size=64, seed=0), epochs=epochs, verbose=0)
    return model


def test_vae_reaches_a_test_negative_elbo_below_130_nats():
    vae = _train(VAE(latent_dim=16), epochs=15)
    assert vae.negative_elbo(data.load("mnist_5k", "test", batch_size=500)) < 130.0


def test_autoencoder_reconstructs_test_digits():
    x_test, _ = data.load_arrays("mnist_5k", "test")
    ae = _train(AutoEncoder(latent_dim=32, units=(256,)), epochs=10)
    assert float(np.mean(ae.anomaly_score(x_test))) < 0.02


def test_denoising_autoencoder_raises_psnr():
    x_test, _ = data.load_arrays("mnist_5k", "test")
    noisy = np.clip(x_test + np.random.default_rng(0).normal(0, 0.3, x_test.shape), 0, 1)
    noisy = noisy.astype("float32")
    dae = _train(DenoisingAutoEncoder(latent_dim=32, units=(256,), stddev=0.3), epochs=10)

    def psnr(images):
        return float(np.mean(10 * np.log10(1.0 / np.mean((images - x_test) ** 2, axis=(1, 2, 3)))))

    assert psnr(np.asarray(dae.denoise(noisy))) > psnr(noisy) + 3.0  # measured +4.2 dB at 10 epochs
