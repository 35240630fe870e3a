"""StyleGAN: modulated convolution, noise and style mixing against their definitions, lazy R1
on its schedule, the truncation trick in w space, and the exported mapping / synthesis /
style-mixing signatures against the model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import export
from keras_gen.latent import normal_from_seeds
from keras_gen.models import StyleGAN
from keras_gen.models.stylegan import StyleMix
from keras_gen.networks.stylegan import ModulatedConv2D, NoiseInjection, synthesis_network


def test_modulated_convolution_matches_its_definition():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 5, 3)).astype("float32")
    w = rng.normal(size=(2, 4)).astype("float32")
    layer = ModulatedConv2D(6, 3)
    out = np.asarray(layer([x, w]))
    styles = np.asarray(layer.affine(w))
    kernel = np.asarray(layer.kernel) / np.sqrt(27)
    for i in range(2):  # each example convolved with its own kernel W * s, demodulated
        k = kernel * styles[i][None, None, :, None]
        k = k / np.sqrt((k ** 2).sum(axis=(0, 1, 2), keepdims=True) + 1e-8)
        expected = tf.nn.conv2d(x[i:i + 1], k, 1, "SAME")[0]
        np.testing.assert_allclose(out[i], expected, rtol=1e-4, atol=1e-4)
    plain = ModulatedConv2D(2, 1, demodulate=False)
    np.testing.assert_allclose(
        plain([x, w]), tf.nn.conv2d(x * np.asarray(plain.affine(w))[:, None, None, :],
                                    np.asarray(plain.kernel) / np.sqrt(3), 1, "SAME"),
        rtol=1e-4, atol=1e-5)


def test_synthesis_keeps_the_activations_scale_so_fine_levels_are_heard():
    # StyleGAN2's LeakyReLU gain of sqrt(2) after each demodulated convolution: without it
    # the 32 px "to RGB" output starts at about a thirteenth of the 4 px one's scale
    net = synthesis_network((32, 32, 3), 16, base_filters=8, max_filters=32)
    names = [f"to_rgb{level}" for level in range(4)]
    probe = keras.Model(net.input, [net.get_layer(name).output for name in names])
    ws = np.random.default_rng(0).standard_normal((32, net.input.shape[1], 16)).astype("float32")
    scales = [float(np.std(np.asarray(out))) for out in probe(ws)]
    assert min(scales) > 0.3 * max(scales), scales


@pytest.mark.parametrize("activation", ["tanh", "linear"])
def test_synthesis_output_is_its_activation_of_the_summed_rgb(activation):
    net = synthesis_network((16, 16, 3), 8, base_filters=4, max_filters=8,
                            output_activation=activation)
    probe = keras.Model(net.input, [net.get_layer("rgb2").output, net.output])
    ws = 3.0 * np.random.default_rng(0).standard_normal((4, net.input.shape[1], 8))
    summed, images = (np.asarray(t) for t in probe(ws.astype("float32")))
    np.testing.assert_allclose(images, np.tanh(summed) if activation == "tanh" else summed,
                               rtol=1e-5, atol=1e-6)
    assert activation == "linear" or np.abs(images).max() <= 1.0


def test_noise_is_fresh_in_training_and_fixed_otherwise():
    layer = NoiseInjection()
    x = np.zeros((2, 4, 4, 3), "float32")
    layer(x)
    layer.strength.assign([1.0, 2.0, 0.0])
    fixed = np.asarray(layer.fixed_noise)[..., 0]
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out[..., 1], 2.0 * np.broadcast_to(fixed, (2, 4, 4)), rtol=1e-6)
    assert np.all(out[..., 2] == 0.0)
    a, b = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert not np.allclose(a, b) and not np.allclose(a[0], a[1])  # per call and per example


def test_style_mixing_takes_coarse_layers_from_a_and_fine_ones_from_b():
    w_a, w_b = np.zeros((3, 2), "float32"), np.ones((3, 2), "float32")
    ws = np.asarray(StyleMix(6)([w_a, w_b, np.array([[0.0], [2.0], [6.0]], "float32")]))
    np.testing.assert_array_equal(ws[:, :, 0], [[1] * 6, [0, 0, 1, 1, 1, 1], [0] * 6])


def small_model(**kwargs):
    model = StyleGAN(image_shape=(16, 16, 3), latent_dim=8, w_dim=8, mapping_layers=2,
                     base_filters=4, max_filters=8, **kwargs)
    model.compile()
    return model


def test_lazy_r1_is_computed_only_when_due_and_matches_its_definition():
    model = small_model(r1_gamma=2.0, r1_interval=4)
    real = np.random.default_rng(1).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    losses = model.compute_losses(real, training=True)  # step 0: due
    with tf.GradientTape() as tape:
        x = tf.constant(real)
        tape.watch(x)
        scores = model.discriminator(x, training=True)
    norms = tf.reduce_sum(tf.square(tape.gradient(scores, x)), axis=[1, 2, 3])
    np.testing.assert_allclose(losses["r1_penalty"], 0.5 * 2.0 * 4 * norms, rtol=1e-4)
    model.get_optimizer("discriminator").iterations.assign(1)
    assert np.all(np.asarray(model.compute_losses(real, training=True)["r1_penalty"]) == 0.0)
    assert [(u.loss, u.every) for u in model.updates()] == [
        ("d_total", 1), ("r1_penalty", 4), ("g_loss", 1)]


def test_each_step_moves_the_mean_w_towards_the_mapped_ws():
    model = small_model(w_avg_decay=0.5)
    mapping = model.generator.get_layer("mapping")
    mean_w = np.asarray(mapping(np.random.default_rng(3).normal(size=(8192, 8)).astype("float32"))).mean(0)
    start = np.linspace(-1, 1, 8).astype("float32")
    model.w_avg.assign(start)
    model.before_step(np.zeros((4096, 1, 1, 1), "float32"))  # a batch of 4096 fresh z
    np.testing.assert_allclose(model.w_avg, 0.5 * start + 0.5 * mean_w, atol=0.03)
    model.fit(np.zeros((8, 16, 16, 3), "float32"), batch_size=4, epochs=1, verbose=0)
    assert not np.allclose(model.w_avg, 0.5 * start + 0.5 * mean_w, atol=1e-3)  # fit moves it


def test_truncation_in_w_space_and_the_exported_signatures(tmp_path):
    model = small_model()
    model.w_avg.assign(np.linspace(-1, 1, 8).astype("float32"))
    seeds = np.array([3, 4, 5], "int32")
    mean_images = np.asarray(model.sample_from_seeds(seeds, truncation=np.zeros(3, "float32")))
    np.testing.assert_allclose(mean_images[0], mean_images[2], atol=1e-6)  # psi 0: the mean w
    full = np.asarray(model.sample_from_seeds(seeds))
    np.testing.assert_allclose(model.sample_from_seeds(seeds, truncation=np.ones(3, "float32")),
                               full, atol=1e-6)
    path = export.export(model, str(tmp_path / "stylegan"))
    loaded = tf.saved_model.load(path)
    sample = loaded.signatures["sample"](seeds=tf.constant(seeds),
                                         truncation=tf.constant([1.0, 0.5, 0.0]))["images"]
    np.testing.assert_allclose(sample[0], full[0], atol=1e-5)
    np.testing.assert_allclose(sample[2], mean_images[2], atol=1e-5)
    z = normal_from_seeds(seeds, 8)
    w = loaded.signatures["mapping"](z=z)["w"]
    np.testing.assert_allclose(loaded.signatures["synthesis"](w=w)["images"], full, atol=1e-5)
    mix = loaded.signatures["style_mix"]
    a, b = np.array([3, 3], "int32"), np.array([4, 4], "int32")
    both = mix(seeds_a=a, seeds_b=b, crossover=tf.constant([model.num_ws, 0]))["images"]
    np.testing.assert_allclose(both[0], full[0], atol=1e-5)  # all layers from A
    np.testing.assert_allclose(both[1], full[1], atol=1e-5)  # all layers from B
    mixed = mix(seeds_a=a[:1], seeds_b=b[:1], crossover=tf.constant([2]))["images"][0]
    assert not np.allclose(mixed, full[0], atol=1e-3) and not np.allclose(mixed, full[1], atol=1e-3)


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="style_mixing"):
        StyleGAN(image_shape=(16, 16, 3), style_mixing=1.5)
    with pytest.raises(ValueError, match="r1_interval"):
        StyleGAN(image_shape=(16, 16, 3), r1_interval=0)


def test_fake_faces_app_writes_its_figures_and_export(tmp_path, repo_root):
    """apps/fake_faces.py trains StyleGAN on the faces subset for its time budget, then writes
    the sample grid, the truncation strip (psi 1 to 0 across) and the style-mixing figure, and
    exports a SavedModel with the style signatures."""
    import json
    import os
    import sys

    from PIL import Image

    sys.path.insert(0, os.path.join(repo_root, "apps"))
    import fake_faces

    out, exported = tmp_path / "faces", tmp_path / "exported"
    status = fake_faces.main(["--minutes", "0.05", "--size", "16", "--batch-size", "8",
                              "--set", "base_filters=2", "--set", "max_filters=4",
                              "--set", "latent_dim=4", "--set", "mapping_layers=1",
                              "--augment", "translation", "--out", str(out), "--export-dir", str(exported)])
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["train_steps"] >= 1 and summary["dataset"] == "openmoji_faces"
    strip = np.asarray(Image.open(out / "truncation_strip.png"))
    assert strip.shape[:2] == (3 * (6 * 16 + 5), 3 * (6 * 16 + 5))  # 6 seeds x 6 psi values, x3
    assert np.asarray(Image.open(out / "style_mixing.png")).shape[:2] == (3 * (6 * 16 + 5),) * 2
    assert np.asarray(Image.open(out / "fake_faces.png")).shape[:2] == (3 * (8 * 16 + 7),) * 2
    meta = json.loads((exported / "stylegan" / "1" / "assets" / "metadata.json").read_text())
    assert {"mapping", "synthesis", "style_mix", "sample"} <= set(meta["signatures"])
    assert meta["config"]["augment"] == "translation" and meta["num_ws"] == 6
    assert meta["config"]["output_activation"] == "tanh"


def test_digits_sized_images_start_from_a_7x7_constant():
    model = StyleGAN(image_shape=(28, 28, 1), latent_dim=4, base_filters=2, max_filters=4,
                     mapping_layers=1)
    constant = model.generator.get_layer("synthesis").get_layer("constant").constant
    assert tuple(constant.shape)[:2] == (7, 7) and model.num_ws == 6
    assert model.sample(2).shape == (2, 28, 28, 1)


def test_output_activation_survives_the_config():
    model = StyleGAN.from_config(small_model(output_activation="linear").get_config())
    assert model.output_activation == "linear"
    assert StyleGAN.from_config(small_model().get_config()).output_activation == "tanh"
    config = small_model().get_config()
    del config["output_activation"]  # saved before the tanh output: trained linear
    assert StyleGAN.from_config(config).output_activation == "linear"
    assert model.generator.get_layer("synthesis").get_layer("images").get_config()["activation"] == "linear"
