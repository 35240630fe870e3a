"""Presets: save_to_preset / from_preset round trips, the shipped offline presets, reusable networks."""

import json
import os

import sys

import h5py
import keras
import numpy as np
import pytest

from keras_gen import data, metrics, presets
from keras_gen.models import (
    FAMILIES,
    GAN,
    VAE,
    ConditionalGAN,
    DenoisingAutoEncoder,
    Pix2Pix,
    StyleGAN,
)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps"))
import make_presets  # noqa: E402


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
    assert sorted(os.listdir(folder)) == ["README.md", "check.npz", "config.json", "metadata.json",
                                          "model.weights.h5"]
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


@pytest.mark.parametrize("optimizer, message", [
    ("adam", "optimizer 'optimizer' must be a serialized Keras optimizer, got adam"),
    ({"module": "keras.layers", "class_name": "Lambda", "config": {"function": "print"}},
     "must be a serialized Keras optimizer"),
])
def test_a_tampered_compile_config_is_one_clear_error(tmp_path, optimizer, message):
    """Issue 38: a preset whose compile config names a string or a layer as its optimizer
    failed with a bare AttributeError / TypeError; a config nested past the parser's stack
    with a RecursionError."""
    import shutil

    folder = tmp_path / "tampered"
    shutil.copytree(presets.preset_path("vae_mnist"), folder)
    config = json.loads((folder / "config.json").read_text())
    config["compile_config"]["optimizer"] = {"optimizer": optimizer}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message):
        VAE.from_preset(str(folder))
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nests too deeply to be a preset config"):
        VAE.from_preset(str(folder))


def test_two_processes_exporting_one_preset_both_end_with_it(tmp_path, repo_root):
    """Issue 38: two studios started on one empty cache. The second waits for the export the
    first is writing instead of going on without it (a warning was all it said)."""
    import subprocess

    code = ("import warnings, sys; warnings.simplefilter('error'); "
            "from keras_gen.presets import export_presets; "
            f"export_presets({str(tmp_path)!r}, names=['vae_mnist']); "
            f"import os; sys.exit(0 if os.listdir({str(tmp_path / 'vae_mnist')!r}) == ['1'] else 1)")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=repo_root, env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()[-2000:]
    assert (tmp_path / "vae_mnist" / "1" / "saved_model.pb").exists()


def test_every_family_ships_a_preset_with_its_card():
    shipped = presets.list_presets()
    assert sorted({facts["family"] for facts in shipped.values()}) == sorted(FAMILIES)
    assert set(shipped) == set(make_presets.PRESETS)
    for name, facts in shipped.items():
        meta = presets.preset_metadata(name)
        assert facts["class_name"] == FAMILIES[facts["family"]].__name__
        assert meta["training_data"] == make_presets.PRESETS[name]["recipe"].dataset == facts["data"]
        assert meta["epochs"] > 0 and meta["weights_dtype"] == "float16"
        headline = facts["headline"]
        assert headline["name"] in meta["figures"] and np.isfinite(headline["value"]), name
        card = open(os.path.join(facts["folder"], "README.md")).read()
        assert meta["command"] in card and f"{headline['name']} {headline['value']}" in card
        if facts["data"].startswith("openmoji"):
            assert "CC BY-SA 4.0" in card and "CC BY-SA 4.0" in meta["data_attribution"]


def test_a_preset_recipe_is_the_familys_own_not_inherited():
    """ProGAN subclasses WGAN_GP, whose preset recipe trains on digits; ProGAN's is its own
    quick one on openmoji."""
    assert FAMILIES["wgan_gp"].preset_recipe is not None
    assert FAMILIES["progan"].recipe_named("preset") == FAMILIES["progan"].recipe
    assert FAMILIES["progan"].recipe_named("preset").dataset == "openmoji"


def test_each_preset_was_trained_on_its_family_recipe():
    """The preset cards say what `apps/train.py <family>` buys by default only while each
    preset holds its family's recipe: the recipe's data and constructor arguments."""
    for name, entry in make_presets.PRESETS.items():
        recipe = FAMILIES[entry["family"]].recipe_named("preset")
        meta = presets.preset_metadata(name)
        assert meta["training_data"] == recipe.dataset, name
        with open(os.path.join(presets.preset_path(name), "config.json")) as handle:
            config = json.load(handle)["config"]
        for key, value in recipe.model_args.items():
            stored = config[key]
            assert (list(stored) if isinstance(stored, (list, tuple)) else stored) == (
                list(value) if isinstance(value, tuple) else value), (name, key)
        if recipe.image_size:
            assert tuple(config["image_shape"][:2]) == tuple(recipe.image_size), name


def test_presets_keep_within_the_size_budget():
    shipped = presets.list_presets()
    sizes = {name: facts["bytes"] for name, facts in shipped.items()}
    too_big = {name: size for name, size in sizes.items() if size > make_presets.MAX_PRESET_BYTES}
    assert not too_big, too_big
    assert sum(sizes.values()) <= make_presets.MAX_TOTAL_BYTES


@pytest.mark.parametrize("name", sorted(make_presets.PRESETS))
def test_each_preset_loads_safely_and_runs_as_it_was_saved(name):
    """`<Family>.from_preset` (safe_mode) gives back the saved model: its default signature
    reproduces the outputs stored at saving time on the same inputs."""
    family = FAMILIES[make_presets.PRESETS[name]["family"]]
    model = family.from_preset(name)
    assert type(model) is family and model.compiled
    differences = presets.check_preset(name, model)
    assert differences and max(differences.values()) < 1e-3, differences


def test_float16_storage_halves_the_weights_and_reloads_what_was_rounded(tmp_path):
    model = VAE(latent_dim=4, filters=(8, 16), dense_units=32)
    model.build()
    full = presets.save_to_preset(model, str(tmp_path / "full"))
    half = presets.save_to_preset(model, str(tmp_path / "half"), weights_dtype="float16")
    full_size = os.path.getsize(os.path.join(full, "model.weights.h5"))
    half_size = os.path.getsize(os.path.join(half, "model.weights.h5"))
    assert half_size < 0.6 * full_size
    with h5py.File(os.path.join(half, "model.weights.h5")) as stored:
        dtypes = set()
        stored.visititems(lambda _, item: dtypes.add(str(item.dtype))
                          if isinstance(item, h5py.Dataset) else None)
    assert dtypes == {"float16"}
    loaded = VAE.from_preset(half)
    for original, reloaded in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(original.astype("float16").astype("float32"), reloaded)
    assert max(presets.check_preset(half).values()) < 1e-5
    # the check notices a model that is not the saved one
    assert max(presets.check_preset(half, VAE.from_preset(full)).values()) > 0
    with pytest.raises(ValueError, match="weights_dtype"):
        presets.save_to_preset(model, str(tmp_path / "x"), weights_dtype="int8")


def test_make_presets_trains_measures_and_writes_a_card(tmp_path):
    """The preset maker's whole path on two cheap entries (two training steps each)."""
    for name in ("autoencoder_mnist", "dcgan_mnist"):
        make_presets.make(name, str(tmp_path), steps=2)
    listed = {name: {"folder": str(tmp_path / name), "family": name.split("_")[0],
                     "data": "mnist_5k", "bytes": presets.preset_size(str(tmp_path / name)),
                     "headline": presets.preset_metadata(str(tmp_path / name))["headline"]}
              for name in ("autoencoder_mnist", "dcgan_mnist")}
    assert listed["autoencoder_mnist"]["headline"]["name"] == "test_mse"
    assert listed["dcgan_mnist"]["headline"]["name"] == "fid"
    for facts in listed.values():
        assert np.isfinite(facts["headline"]["value"])
        assert max(presets.check_preset(facts["folder"]).values()) < 1e-5
    rows = make_presets.preset_table(listed).splitlines()
    assert len(rows) == 4 and rows[2].startswith("| `autoencoder_mnist` | `autoencoder` | mnist_5k |")
    assert " | test_mse " in rows[2] and rows[2].split(" | ")[-2] == "quick"
    assert " | preset (quick default: " in rows[3]  # DCGAN: a preset recipe beside the quick one


#: Presets judged by their samples, re-measured by the slow test below.
SAMPLED_PRESETS = sorted(name for name, entry in make_presets.PRESETS.items()
                         if entry["headline"] in ("fid", "class_consistency"))


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLED_PRESETS)
def test_sampled_preset_agrees_with_its_card(name):
    """The card's sample figures (1,000 samples, seed 1) re-measured from the shipped weights
    on up to 500 fresh samples (seed 2). FID on fewer, other samples reads differently: on the
    first quick presets +6 % for dcgan_mnist, +0.1 % for sagan_openmoji and -8 % for
    wgan_gp_mnist at 500, so the re-measured FID may lie within 15 % (and 1.5) of the card's;
    shares and consistencies agree within 0.05."""
    entry = make_presets.PRESETS[name]
    card = presets.preset_metadata(name)["figures"]
    model = presets.load_preset(name)
    count = min(500, entry["samples"])
    figures = make_presets.sample_figures(model, entry["recipe"].dataset,
                                          entry["recipe"].image_size, count, seed=2)
    assert 0.85 * card["fid"] - 1.5 <= figures["fid"] <= 1.15 * card["fid"] + 1.5, (figures, card)
    for key in ("confident_share", "class_consistency", "spread"):
        if key in card:
            assert abs(figures[key] - card[key]) <= 0.05, (key, figures, card)


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
    """The cGAN's recipe (its preset) meets issue 22's bar of 0.95 class consistency (0.98 on
    these 200 samples; 0.986 on the card's 1,000)."""
    cgan = ConditionalGAN.from_preset("cgan_mnist")
    labels = np.arange(200) % 10
    images = cgan.sample(200, seed=1, labels=labels)
    _, predictions = metrics.DigitFeatures().features_and_predictions(images)
    assert metrics.class_consistency(labels, predictions) >= 0.95


def test_stylegan_preset_draws_varied_faces():
    """Issue 20: the StyleGAN recipe (its preset) is not collapsed onto one figure. Its samples
    vary about as much as the real faces do (feature spread 0.88 on these 300; the real test
    faces 1.05; the linear-output generator that collapsed: 0.5 to 0.6)."""
    model = StyleGAN.from_preset("stylegan_faces")
    extractor = metrics.ClassifierFeatures("openmoji")
    x_train, _ = data.load_arrays("openmoji_faces", "train", image_size=(32, 32))
    samples = extractor.features(model.sample(300, seed=1))
    assert metrics.feature_spread(samples, extractor.features(x_train)) >= 0.75


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


def test_a_preset_fine_tunes_on_a_users_folder_and_lends_its_networks(tmp_path):
    """The README's reuse example: `from_preset`, `fit` on a folder of one's own images, then
    the generator as a plain Keras model in another project."""
    from PIL import Image

    from keras_gen.models import DCGAN

    x, _ = data.load_arrays("mnist_5k", "test")
    for i, image in enumerate(x[:32]):
        Image.fromarray((image[..., 0] * 255).astype("uint8")).save(tmp_path / f"{i}.png")
    gan = DCGAN.from_preset("dcgan_mnist")
    before = [np.array(w) for w in gan.generator.weights]
    train = data.from_directory(str(tmp_path), value_range=(-1, 1), batch_size=16,
                                drop_remainder=True)
    history = gan.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][-1])
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(before, gan.generator.weights))
    z = keras.Input((gan.latent_dim,))
    reused = keras.Model(z, gan.generator(z))
    assert tuple(reused(np.zeros((2, gan.latent_dim), "float32")).shape) == (2, 28, 28, 1)
