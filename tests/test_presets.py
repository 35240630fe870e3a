"""Presets: save_to_preset / from_preset round trips, the shipped offline presets, reusable networks."""

import json
import os

import keras
import numpy as np
import pytest

from keras_gen import data, metrics, presets
from keras_gen.models import GAN, VAE, ConditionalGAN, DenoisingAutoEncoder, Pix2Pix


def test_save_to_preset_round_trip(tmp_path):
    model = ConditionalGAN(latent_dim=4, num_classes=3, units=(8,), ema_decay=0.9)
    model.compile(optimizer=model.default_optimizer())
    model.fit(np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32") * 2 - 1,
              (np.arange(8) % 3).astype("int32"), batch_size=4, epochs=1, verbose=0)
    folder = model.save_to_preset(str(tmp_path / "tiny_cgan"), metadata={"epochs": 0}, readme="# tiny\n")
    # weights only: no optimizer state in the preset
    fresh = ConditionalGAN.from_config(model.get_config())
    fresh.save_weights(str(tmp_path / "fresh.weights.h5"))
    assert os.path.getsize(os.path.join(folder, "model.weights.h5")) <= os.path.getsize(
        str(tmp_path / "fresh.weights.h5")) + 4096
    assert sorted(os.listdir(folder)) == ["README.md", "config.json", "metadata.json", "model.weights.h5"]
    meta = json.loads(open(os.path.join(folder, "metadata.json")).read())
    assert meta["class_name"] == "ConditionalGAN" and meta["epochs"] == 0
    assert meta["parameter_count"] == model.count_params()
    loaded = ConditionalGAN.from_preset(folder)
    z = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(loaded.generate_from(z, [0, 1, 2]), model.generate_from(z, [0, 1, 2]), atol=1e-6)
    assert loaded.get_config() == model.get_config()
    # a base class accepts it, an unrelated class names what the preset holds
    assert isinstance(GAN.from_preset(folder), ConditionalGAN)
    with pytest.raises(ValueError, match="holds a ConditionalGAN, not a VAE"):
        VAE.from_preset(folder)


def test_unknown_or_broken_presets_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        VAE.from_preset("nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="config.json is missing"):
        VAE.from_preset(str(tmp_path / "empty"))


def test_shipped_presets_are_listed_and_load_offline():
    shipped = presets.list_presets()
    assert {"vae_mnist", "cgan_mnist", "denoising_ae_mnist"} <= set(shipped)
    for name in shipped:
        meta = presets.preset_metadata(name)
        assert meta["training_data"] == "mnist_5k" and meta["epochs"] > 0
        assert os.path.exists(os.path.join(shipped[name], "README.md"))


def test_vae_preset_is_trained():
    """The shipped VAE reconstructs held-out digits well and its samples look like digits."""
    vae = VAE.from_preset("vae_mnist")
    x, y = data.load_arrays("mnist_5k", "test")
    x, y = x[::10], y[::10]
    nelbo = float(vae.negative_elbo([x]))
    assert nelbo < 135.0  # an untrained VAE is near 540 nats
    classifier = metrics.DigitFeatures()
    _, predictions = classifier.features_and_predictions(np.asarray(vae.reconstruct(x)))
    assert np.mean(predictions == y) > 0.85


def test_cgan_preset_draws_the_requested_digits():
    cgan = ConditionalGAN.from_preset("cgan_mnist")
    labels = np.arange(200) % 10
    images = cgan.sample(200, seed=1, labels=labels)
    _, predictions = metrics.DigitFeatures().features_and_predictions(images)
    assert metrics.class_consistency(labels, predictions) > 0.7


def test_denoising_preset_removes_noise():
    model = DenoisingAutoEncoder.from_preset("denoising_ae_mnist")
    x, _ = data.load_arrays("mnist_5k", "test")
    clean = x[::10]
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 0.3, clean.shape), 0, 1).astype("float32")
    before = np.mean((noisy - clean) ** 2)
    after = np.mean((np.asarray(model.denoise(noisy)) - clean) ** 2)
    assert after < 0.5 * before


def test_networks_are_plain_keras_models_reusable_elsewhere(tmp_path):
    """vae.encoder, gan.generator and pix2pix.generator go into another project's model."""
    vae = VAE.from_preset("vae_mnist")
    inputs = keras.Input((28, 28, 1))
    mean, _ = vae.encoder(inputs)
    head = keras.layers.Dense(10, activation="softmax")(mean)
    classifier = keras.Model(inputs, head)
    assert classifier.output.shape == (None, 10)
    gan = GAN(latent_dim=4, units=(8,))
    pix2pix = Pix2Pix(image_shape=(32, 32, 1), base_filters=4)
    for network in (vae.encoder, gan.generator, pix2pix.generator):
        assert isinstance(network, keras.Model) and type(network).__name__ == "Functional", type(network)
        path = str(tmp_path / f"{network.name}.keras")
        network.save(path)
        reloaded = keras.saving.load_model(path, safe_mode=True)
        sample = np.random.default_rng(0).random((2, *network.inputs[0].shape[1:])).astype("float32")
        outputs = [keras.ops.convert_to_numpy(o) for o in keras.tree.flatten(network(sample))]
        again = [keras.ops.convert_to_numpy(o) for o in keras.tree.flatten(reloaded(sample))]
        for a, b in zip(outputs, again):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_folder_named_like_a_shipped_preset_does_not_shadow_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    presets.save_to_preset(VAE(latent_dim=2, filters=(4, 8), dense_units=8), "vae_mnist")
    assert VAE.from_preset("vae_mnist").latent_dim == 16          # the shipped one
    assert VAE.from_preset("./vae_mnist").latent_dim == 2         # the folder, by path


def test_loading_a_preset_warns_about_nothing():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = VAE.from_preset("vae_mnist")
    assert [str(w.message) for w in caught] == [] and model.compiled
