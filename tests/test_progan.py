"""ProGAN: its layers against NumPy definitions, the growth schedule and the fade (G's output
is linear in the level weights; blocks not faded in get no gradient), the WGAN-GP + drift
losses, and a run killed mid-fade that resumes at the same phase and alpha."""

import math
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen.models import ProGAN
from keras_gen.models.progan import growth_schedule
from keras_gen.networks.progan import (
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStdDev,
    PixelNorm,
    blend_resolutions,
    growth_levels,
    level_weight,
    progressive_discriminator,
    progressive_generator,
)
from killed_runs import kill_and_resume


def test_growth_schedule_follows_its_phases():
    def expected(images, per_phase, levels):
        phase, into = divmod(images, per_phase)
        growth = phase // 2 if phase % 2 == 0 else phase // 2 + into / per_phase
        return min(growth, levels - 1)

    for images in range(0, 1000, 7):
        assert float(growth_schedule(images, 100, 4)) == pytest.approx(expected(images, 100, 4))
    assert growth_levels((64, 64, 3)) == [4, 8, 16, 32, 64]


def test_equalised_layers_scale_their_weights_at_run_time():
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    dense = EqualizedDense(4, lr_multiplier=0.01)
    y = np.asarray(dense(x))
    kernel, bias = (np.asarray(w) for w in dense.weights)
    assert kernel.std() > 10  # N(0, 1 / 0.01^2): the multiplier slows the layer down
    np.testing.assert_allclose(y, x @ (kernel * math.sqrt(2) / math.sqrt(5) * 0.01) + bias * 0.01,
                               rtol=1e-5, atol=1e-5)
    images = np.random.default_rng(1).normal(size=(2, 6, 6, 3)).astype("float32")
    conv = EqualizedConv2D(4, 3, gain=1.0)
    out = np.asarray(conv(images))
    kernel = np.asarray(conv.kernel)
    assert 0.8 < kernel.std() < 1.2
    expected = tf.nn.conv2d(images, kernel / math.sqrt(27), 1, "SAME") + np.asarray(conv.bias)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_pixel_norm_and_minibatch_stddev_match_their_definitions():
    x = np.random.default_rng(2).normal(size=(4, 3, 3, 5)).astype("float32")
    np.testing.assert_allclose(PixelNorm()(x), x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-8),
                               rtol=1e-5)
    out = np.asarray(MinibatchStdDev()(x))
    np.testing.assert_array_equal(out[..., :5], x)
    np.testing.assert_allclose(out[..., 5], np.sqrt(x.var(axis=0) + 1e-8).mean(), rtol=1e-5)


def test_the_generator_shows_one_resolution_and_fades_linearly():
    """Before its output activation: the summed "to RGB" outputs (linear)."""
    generator = progressive_generator(8, (16, 16, 3), base_filters=4)
    z = np.random.default_rng(3).normal(size=(2, 8)).astype("float32")

    def at(growth):
        return np.asarray(generator([z, np.full((2, 1), growth, "float32")]))

    for level, side in enumerate(growth_levels((16, 16, 3))):
        blocks = at(level).reshape(2, side, 16 // side, side, 16 // side, 3)
        np.testing.assert_allclose(blocks, np.broadcast_to(blocks[:, :, :1, :, :1], blocks.shape),
                                   atol=1e-6)  # level k: 16/side-pixel blocks
    # mid-fade: alpha of the new level's image, 1 - alpha of the previous one's
    np.testing.assert_allclose(at(1.25), 0.75 * at(1) + 0.25 * at(2), rtol=1e-4, atol=1e-5)
    assert [round(float(level_weight(0.4, r)), 2) for r in range(3)] == [0.6, 0.4, 0.0]


def test_the_tanh_generator_is_tanh_of_the_faded_sum():
    linear = progressive_generator(8, (16, 16, 3), base_filters=4)
    tanh = progressive_generator(8, (16, 16, 3), base_filters=4, output_activation="tanh")
    tanh.set_weights(linear.get_weights())
    z = 3.0 * np.random.default_rng(3).normal(size=(4, 8)).astype("float32")
    growth = np.full((4, 1), 1.5, "float32")
    np.testing.assert_allclose(np.asarray(tanh([z, growth])), np.tanh(np.asarray(linear([z, growth]))),
                               rtol=1e-5, atol=1e-6)


def test_output_activation_survives_the_config_and_old_configs_load_linear():
    model = ProGAN(image_shape=(8, 8, 1), latent_dim=4, base_filters=2, max_filters=4,
                   output_activation="tanh")
    config = model.get_config()
    assert ProGAN.from_config(config).output_activation == "tanh"
    del config["output_activation"]  # saved before the option: trained linear
    assert ProGAN.from_config(config).output_activation == "linear"


def test_blocks_not_yet_faded_in_get_no_gradient():
    discriminator = progressive_discriminator((16, 16, 3), base_filters=4)
    images = np.random.default_rng(4).normal(size=(2, 16, 16, 3)).astype("float32")
    top = discriminator.get_layer("from_rgb2").kernel

    def gradient(growth):
        with tf.GradientTape() as tape:
            score = discriminator([images, np.full((2, 1), growth, "float32")])
        return tape.gradient(score, top)

    assert float(tf.reduce_max(tf.abs(gradient(0.0)))) == 0.0  # 4x4 stage: 16x16 entry unused
    assert float(tf.reduce_max(tf.abs(gradient(1.5)))) > 0.0  # fading in


def test_real_images_get_the_same_mix_of_resolutions():
    x = np.random.default_rng(5).uniform(-1, 1, (2, 8, 8, 1)).astype("float32")
    low = x.reshape(2, 4, 2, 4, 2, 1).mean(axis=(2, 4)).repeat(2, 1).repeat(2, 2)
    np.testing.assert_allclose(blend_resolutions(x, 0.75, 2), 0.25 * low + 0.75 * x, atol=1e-6)


def test_the_critic_loss_adds_the_drift_term():
    model = ProGAN(image_shape=(16, 16, 1), latent_dim=4, base_filters=2, max_filters=4,
                   drift_weight=0.5)
    model.compile()
    x = np.random.default_rng(6).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    losses = model.compute_losses(x, training=True)
    real = np.asarray(losses["real_output"]).reshape(-1)
    expected = (np.asarray(losses["d_loss"]) + 10.0 * np.asarray(losses["gradient_penalty"])
                + 0.5 * real ** 2)
    np.testing.assert_allclose(losses["d_total"], expected, rtol=1e-5, atol=1e-6)
    assert model.n_critic == 1 and model.loss_kind == "wasserstein"


def test_fit_grows_the_model_and_the_growth_survives_saving(tmp_path):
    model = ProGAN(image_shape=(16, 16, 3), **ProGAN.smoke_config)  # 16 images per phase
    model.compile()
    x = np.random.default_rng(7).uniform(-1, 1, (40, 16, 16, 3)).astype("float32")
    model.fit(x, batch_size=8, epochs=1, verbose=0)  # 5 steps: p set before each, from 0..32
    assert float(model.images_seen) == 40.0
    assert float(model.growth) == pytest.approx(float(growth_schedule(32, 16, 3)))  # 1.0
    model.fit(x[:24], batch_size=8, epochs=1, verbose=0)  # p set at 40, 48 and 56 images
    assert float(model.growth) == pytest.approx(1.5) and model.resolution == 16  # mid-fade
    model.save(tmp_path / "progan.keras")
    loaded = keras.saving.load_model(tmp_path / "progan.keras")
    assert float(loaded.growth) == 1.5 and float(loaded.images_seen) == 64.0
    np.testing.assert_allclose(loaded.sample(2, seed=1), model.sample(2, seed=1), atol=1e-6)


def test_killed_progan_run_resumes_mid_fade(tmp_path, repo_root):
    """apps/train.py progan killed during the first fade resumes from its backup with the
    image count (so the phase and alpha) where it was, and finishes the schedule's arithmetic:
    5 epochs x 6 steps x 16 images = 480 images, p = growth_schedule(464) at the last step.
    (Exporting after a resume is `test_reliability`'s; ProGAN's export, the app's.)"""
    out = tmp_path / "run"
    command = [sys.executable, os.path.join(repo_root, "apps", "train.py"), "progan",
               "--dataset", "mnist_5k", "--epochs", "5", "--steps-per-epoch", "6",
               "--batch-size", "16", "--set", "base_filters=2", "--set", "max_filters=4",
               "--set", "latent_dim=8", "--set", "images_per_phase=128", "--no-validation",
               "--out", str(out), "--no-export", "--verbose", "0"]
    kill_and_resume(command, out, 5, dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), repo_root)
    model = keras.saving.load_model(str(out / "model.keras"))
    assert float(model.images_seen) == 480.0  # counted across the kill, not restarted
    assert float(model.growth) == pytest.approx(1 + (464 - 384) / 128)  # mid second fade
    assert int(model.get_optimizer("discriminator").iterations) == 30
