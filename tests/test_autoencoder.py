"""Autoencoder family: sparsity maths, corruption only in training, uses, pretraining, export."""

import keras
import numpy as np
import pytest

from keras_gen import data, export, losses
from keras_gen.models import AutoEncoder, DenoisingAutoEncoder, SparseAutoEncoder, StackedAutoEncoder
from model_checks import call_saved_model, check_config_round_trip, check_keras_file_round_trip


@pytest.fixture(scope="module")
def digits():
    x, _ = data.load_arrays("mnist_5k", "test")
    return x[::10][:64]


def numpy_sparsity(rho, rho_hat):
    return np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat)))


def test_sparsity_kl_matches_numpy():
    rho_hat = np.random.default_rng(0).uniform(0.01, 0.99, size=20).astype("float32")
    got = float(losses.sparsity_kl_divergence(0.05, rho_hat))
    assert got == pytest.approx(numpy_sparsity(0.05, rho_hat), rel=1e-5)
    assert float(losses.sparsity_kl_divergence(0.2, np.full(5, 0.2, "float32"))) == pytest.approx(0, abs=1e-6)


def test_sparse_autoencoder_penalty_uses_batch_mean_activation(digits):
    model = SparseAutoEncoder(latent_dim=16, units=(32,), rho=0.1, beta=2.5)
    result = model.compute_losses(digits)
    codes = keras.ops.convert_to_numpy(model.encode(digits))
    assert codes.min() >= 0 and codes.max() <= 1  # sigmoid code
    rho_hat = codes.mean(axis=0)
    assert float(result["sparsity_loss"]) == pytest.approx(2.5 * numpy_sparsity(0.1, rho_hat), rel=1e-4)
    assert float(result["mean_activation"]) == pytest.approx(rho_hat.mean(), rel=1e-5)
    np.testing.assert_allclose(result["loss"], result["reconstruction_loss"] + result["sparsity_loss"],
                               rtol=1e-6)


def test_sparse_training_drives_activation_towards_rho(digits):
    final = {}
    for beta in (0.0, 5.0):
        keras.utils.set_random_seed(0)
        model = SparseAutoEncoder(latent_dim=32, units=(64,), rho=0.05, beta=beta)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        history = model.fit(digits, epochs=40, batch_size=32, verbose=0)
        assert history.history["mean_activation"][0] > 0.3
        final[beta] = history.history["mean_activation"][-1]
    assert final[5.0] < 0.15 and final[5.0] < 0.5 * final[0.0]


def test_masking_and_gaussian_corruption(digits):
    masking = DenoisingAutoEncoder(noise="masking", drop_rate=0.5, units=(16,), latent_dim=4)
    corrupted = keras.ops.convert_to_numpy(masking.corrupt(digits))
    ink = digits > 0
    dropped = (corrupted == 0) & ink
    assert dropped.sum() / ink.sum() == pytest.approx(0.5, abs=0.03)
    kept = ink & ~dropped
    np.testing.assert_array_equal(corrupted[kept], digits[kept])
    gaussian = DenoisingAutoEncoder(noise="gaussian", stddev=0.2, units=(16,), latent_dim=4)
    noisy = keras.ops.convert_to_numpy(gaussian.corrupt(np.full((64, 28, 28, 1), 0.5, "float32")))
    assert noisy.std() == pytest.approx(0.2, rel=0.05) and noisy.min() >= 0 and noisy.max() <= 1


def test_corruption_only_in_training(digits):
    model = DenoisingAutoEncoder(noise="masking", drop_rate=0.9, units=(16,), latent_dim=4)
    clean_loss = losses.bernoulli_reconstruction_loss(
        digits, model.decoder(model.encoder(digits)))
    evaluated = model.compute_losses(digits, training=False)["reconstruction_loss"]
    np.testing.assert_allclose(evaluated, clean_loss, rtol=1e-5)
    trained = model.compute_losses(digits, training=True)["reconstruction_loss"]
    assert np.abs(np.asarray(trained) - np.asarray(clean_loss)).max() > 1e-3
    np.testing.assert_array_equal(model.encode(digits), model.encode(digits))
    np.testing.assert_allclose(model.encode(digits), model.encoder(digits), rtol=1e-6)


def test_anomaly_score_is_per_image_mse_and_flags_noise(digits):
    model = AutoEncoder(latent_dim=16, units=(128,))
    np.testing.assert_allclose(
        model.anomaly_score(digits),
        np.mean((digits - np.asarray(model.reconstruct(digits))) ** 2, axis=(1, 2, 3)), rtol=1e-5)
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    model.fit(data.load("mnist_5k", "train", batch_size=64).take(40), epochs=2, verbose=0)
    noise = np.random.default_rng(0).uniform(size=(32, 28, 28, 1)).astype("float32")
    assert np.mean(model.anomaly_score(noise)) > 3 * np.mean(model.anomaly_score(digits))


def test_interpolation_ends_at_the_reconstructions(digits):
    model = AutoEncoder(latent_dim=8, architecture="conv", units=(8, 16))
    path = np.asarray(model.interpolate(digits[0], digits[1], steps=5))
    assert path.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(path[0], np.asarray(model.reconstruct(digits[:1]))[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], np.asarray(model.reconstruct(digits[1:2]))[0], atol=1e-5)


def test_under_and_overcomplete_codes(digits):
    for latent_dim in (8, 1000):
        model = AutoEncoder(latent_dim=latent_dim, units=(64,))
        assert tuple(model.encode(digits[:2]).shape) == (2, latent_dim)


def test_layerwise_pretraining_trains_each_pair_and_helps(digits):
    keras.utils.set_random_seed(0)
    model = StackedAutoEncoder(units=(128, 64), latent_dim=16)
    assert [layer.units for layer in model.decoder_layers] == [784, 128, 64]
    before = [layer.kernel.numpy().copy() for layer in model.encoder_layers]
    mse_before = float(np.mean(model.anomaly_score(digits)))
    train = data.load("mnist_5k", "train", batch_size=64)
    histories = model.pretrain_layerwise(train.take(20), epochs_per_layer=2)
    assert len(histories) == 3
    for history in histories:
        assert history.history["loss"][-1] < history.history["loss"][0]
    for old, layer in zip(before, model.encoder_layers):
        assert np.abs(layer.kernel.numpy() - old).max() > 1e-3
    assert float(np.mean(model.anomaly_score(digits))) < mse_before
    model.compile(optimizer="adam")
    history = model.fit(train.take(5), epochs=1, verbose=0)  # then end to end
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("cls, kwargs", [
    (AutoEncoder, {"latent_dim": 4, "units": (16,)}),
    (AutoEncoder, {"latent_dim": 4, "units": (8, 8), "architecture": "conv"}),
    (SparseAutoEncoder, {"latent_dim": 8, "units": (16,), "rho": 0.1}),
    (DenoisingAutoEncoder, {"latent_dim": 4, "units": (16,), "noise": "masking"}),
    (StackedAutoEncoder, {"latent_dim": 4, "units": (16, 8)}),
])
def test_round_trips(cls, kwargs, tmp_path, digits):
    model = cls(**kwargs)
    check_config_round_trip(model)
    model.compile(optimizer="adam")
    model.fit(digits, epochs=1, batch_size=32, verbose=0)
    check_keras_file_round_trip(model, tmp_path, lambda m: m.reconstruct(digits[:4]))


def test_export_signatures_serve_what_the_model_computes(tmp_path, digits):
    model = DenoisingAutoEncoder(latent_dim=6, units=(32,))
    path = export.export(model, str(tmp_path / "dae"))
    z = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    images = digits[:5]
    outputs, signatures = call_saved_model(
        path, {"serving_default__images": images, "encode__images": images, "decode__z": z,
               "anomaly_score__images": images})
    assert {"serving_default", "encode", "decode", "anomaly_score"} <= set(signatures)
    np.testing.assert_allclose(outputs["serving_default__images"], model.reconstruct(images), atol=1e-5)
    np.testing.assert_allclose(outputs["encode__code"], model.encode(images), atol=1e-5)
    np.testing.assert_allclose(outputs["decode__images"], model.decode(z), atol=1e-5)
    np.testing.assert_allclose(outputs["anomaly_score__scores"], model.anomaly_score(images), atol=1e-6)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="architecture"):
        AutoEncoder(architecture="rnn")
    with pytest.raises(ValueError, match="rho"):
        SparseAutoEncoder(rho=1.5)
    with pytest.raises(ValueError, match="noise"):
        DenoisingAutoEncoder(noise="salt")
