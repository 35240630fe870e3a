"""beta-VAE, conditional VAE, importance-sampled likelihood, and the latent tools."""

import keras
import numpy as np
import pytest
from PIL import Image

from keras_gen import data, export, latent
from keras_gen.models import VAE, AutoEncoder, BetaVAE, ConditionalVAE
from model_checks import call_saved_model, check_keras_file_round_trip


@pytest.fixture(scope="module")
def labelled():
    x, y = data.load_arrays("mnist_5k", "test")
    return x[::25][:40], y[::25][:40]


@pytest.fixture(scope="module")
def trained_vae():
    keras.utils.set_random_seed(0)
    vae = VAE(latent_dim=4, filters=(8, 16), dense_units=32, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    vae.fit(data.load("mnist_5k", "train", batch_size=64).take(30), epochs=2, verbose=0)
    return vae


def test_iwae_is_above_the_elbo_and_rises_with_k(trained_vae, labelled):
    x = labelled[0][:32]
    elbo = np.mean([np.mean(trained_vae.elbo(x)) for _ in range(20)])
    estimates = {k: float(np.mean(trained_vae.log_likelihood(x, num_samples=k))) for k in (1, 10, 100)}
    assert estimates[1] == pytest.approx(elbo, abs=3.0)  # K = 1 is the ELBO
    assert estimates[10] > elbo + 1.0
    assert estimates[100] > estimates[10]
    assert estimates[100] < 0  # a log-likelihood of continuous-valued pixels under Bernoulli


def test_iwae_chunks_do_not_change_the_estimate(trained_vae, labelled):
    x = labelled[0][:8]
    trained_vae.seed_generator.state.assign([0, 0])
    one_chunk = np.asarray(trained_vae.log_likelihood(x, num_samples=30, chunk_size=10_000))
    trained_vae.seed_generator.state.assign([0, 0])
    many = np.asarray(trained_vae.log_likelihood(x, num_samples=30, chunk_size=8 * 7))
    assert one_chunk.shape == (8,)
    np.testing.assert_allclose(one_chunk, many, atol=2.0)  # different noise draws, same estimand


def test_beta_vae_weighs_kl_by_four(labelled):
    model = BetaVAE(latent_dim=3, filters=(4, 8), dense_units=8)
    assert model.beta == 4.0
    result = model.compute_losses(labelled[0][:6])
    np.testing.assert_allclose(result["loss"], result["reconstruction_loss"] + 4 * result["kl_loss"],
                               rtol=1e-6)


def test_conditional_vae_uses_labels(labelled, tmp_path):
    x, y = labelled
    model = ConditionalVAE(latent_dim=3, num_classes=10, filters=(8, 16), dense_units=32)
    model.compile(optimizer="adam")
    history = model.fit(x, y, epochs=2, batch_size=20, verbose=0)
    assert set(history.history) == {"loss", "reconstruction_loss", "kl_loss"}
    z = np.zeros((2, 3), "float32")
    as_zero = np.asarray(model.decode(z, np.array([0, 0])))
    as_seven = np.asarray(model.decode(z, np.array([7, 7])))
    assert np.abs(as_zero - as_seven).max() > 1e-4  # the label changes the image
    with pytest.raises(ValueError, match="labels"):
        model.compute_losses(x)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        model.decode(z, np.array([3, 10]))
    check_keras_file_round_trip(model, tmp_path, lambda m: m.reconstruct(x[:4], y[:4]))
    grid = model.sample(20, seed=0)
    assert grid.shape == (20, 28, 28, 1)


def test_conditional_vae_export_takes_labels(labelled, tmp_path):
    x, y = labelled
    model = ConditionalVAE(latent_dim=3, filters=(8, 16), dense_units=32)
    path = export.export(model, str(tmp_path / "cvae"))
    z = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    labels = np.array([1, 2, 3, 4], "int32")
    runner_inputs = {"decode__z": z, "decode__labels": labels,
                     "encode__images": x[:4], "encode__labels": labels}
    outputs, signatures = call_saved_model(path, runner_inputs)
    assert {"serving_default", "encode", "decode", "reconstruct"} <= set(signatures)
    np.testing.assert_allclose(outputs["decode__images"], model.decode(z, labels), atol=1e-5)
    np.testing.assert_allclose(outputs["encode__mean"], model.encode(x[:4], labels)[0], atol=1e-5)


def test_traversal_changes_only_the_chosen_dimension():
    z = np.array([0.5, -1.0, 2.0, 0.0], "float32")
    codes = latent.traversal_codes(z, dim=2, values=[-3, 0, 3])
    np.testing.assert_array_equal(codes[:, 2], [-3, 0, 3])
    np.testing.assert_array_equal(np.delete(codes, 2, axis=1), np.tile(np.delete(z, 2), (3, 1)))
    vae = VAE(latent_dim=4, filters=(4, 8), dense_units=8)
    images = latent.traverse(vae, z, 2, [-3, 0, 3])
    np.testing.assert_allclose(images, vae.decode(codes), atol=1e-6)
    assert np.abs(images[0] - images[2]).max() > 0
    with pytest.raises(ValueError, match="dim"):
        latent.traversal_codes(z, dim=4, values=[0])


def test_interpolation_codes():
    z1, z2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    line = latent.interpolation_codes(z1, z2, steps=3)
    np.testing.assert_allclose(line, [[1, 0], [0.5, 0.5], [0, 1]])
    arc = latent.interpolation_codes(z1, z2, steps=5, method="slerp")
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(arc[[0, -1]], [z1, z2], atol=1e-6)


def test_figures_are_written(tmp_path, labelled):
    x, _ = labelled
    vae = VAE(latent_dim=3, filters=(4, 8), dense_units=8)
    sheet = latent.save_traversal_figure(vae, np.zeros(3), str(tmp_path / "t.png"),
                                         values=np.linspace(-2, 2, 5))
    assert Image.open(sheet).size == ((5 * 28 + 4) * 2, (3 * 28 + 2) * 2)
    pairs = [(np.zeros(3), np.ones(3)), (np.ones(3), -np.ones(3))]
    assert Image.open(latent.save_interpolation_figure(vae, pairs, str(tmp_path / "i.png"),
                                                       steps=6)).size == ((6 * 28 + 5) * 2, (2 * 28 + 1) * 2)
    recon = latent.save_reconstruction_figure(x[:10], vae.reconstruct(x[:10]), str(tmp_path / "r.png"))
    assert Image.open(recon).size[1] == (2 * 28 + 1) * 2
    ae = AutoEncoder(latent_dim=3, units=(8,))  # latent tools work for autoencoders too
    assert latent.interpolate(ae, np.zeros(3), np.ones(3), steps=4).shape == (4, 28, 28, 1)
