"""PixelCNN masks and likelihood; diffusion forward process, DDPM/DDIM agreement, export."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import data, export
from keras_gen.models.diffusion import DiffusionModel, beta_schedule
from keras_gen.models.pixelcnn import PixelCNN
from keras_gen.networks.masked import causal_mask, pixelcnn_network, receptive_field
from keras_gen.networks.unet import SinusoidalEmbedding
from model_checks import call_saved_model, check_config_round_trip, check_keras_file_round_trip


def test_masks_forbid_current_and_later_pixels():
    model = PixelCNN(image_shape=(6, 6, 1), filters=8, num_blocks=2)
    inputs = tf.Variable(np.random.default_rng(0).uniform(-1, 1, (1, 6, 6, 1)).astype("float32"))
    for row, col in [(0, 0), (2, 3), (5, 5), (3, 0)]:
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(model.network(inputs)[0, row, col])
        gradient = np.abs(tape.gradient(value, inputs).numpy()[0, ..., 0])
        position = np.arange(36).reshape(6, 6)
        assert gradient[position >= row * 6 + col].max() == 0.0  # itself and everything later
        if row * 6 + col > 0:
            assert gradient[position < row * 6 + col].max() > 0.0  # and it does see the past
    assert causal_mask(3, 1, 1, "A")[1, 1, 0, 0] == 0 and causal_mask(3, 1, 1, "B")[1, 1, 0, 0] == 1


def test_uniform_model_has_eight_bits_per_dimension():
    model = PixelCNN(image_shape=(4, 4, 1), filters=4, num_blocks=1)
    logits = model.network.get_layer("logits")
    logits.kernel.assign(np.zeros(logits.kernel.shape, "float32"))
    logits.bias.assign(np.zeros(logits.bias.shape, "float32"))
    bits = np.asarray(model.log_prob(np.random.default_rng(0).uniform(size=(3, 4, 4, 1))))
    np.testing.assert_allclose(bits, 8.0, rtol=1e-6)
    nats = np.asarray(model.negative_log_likelihood(np.zeros((1, 4, 4, 1), "float32")))
    assert nats[0] == pytest.approx(16 * math.log(256), rel=1e-6)


def test_pixelcnn_learns_and_samples_deterministically():
    x, _ = data.load_arrays("mnist_5k", "test", image_size=(8, 8))
    model = PixelCNN(image_shape=(8, 8, 1), filters=16, num_blocks=1)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x[:256], batch_size=32, epochs=3, verbose=0)
    assert history.history["bits_per_dim"][-1] < history.history["bits_per_dim"][0] < 8.5
    first, again = model.sample(3, seed=4), model.sample(3, seed=4)
    np.testing.assert_array_equal(first, again)
    completed = np.asarray(model.inpaint(x[:2], known_rows=4))
    np.testing.assert_allclose(completed[:, :4], np.round(x[:2, :4] * 255) / 255, atol=1e-6)


@pytest.mark.parametrize("gated", [False, True])
def test_cached_sampler_draws_what_the_naive_sampler_draws(gated):
    """Pixel-at-a-time evaluation with cached activations (the gated vertical stack a row at a
    time) gives the naive sampler's draws: the same seeds, the same images, and inpainting
    with a different number of known rows per image keeps those rows. Dropout acts in
    training only, so it changes neither."""
    x, _ = data.load_arrays("mnist_5k", "test", image_size=(8, 8))
    model = PixelCNN(image_shape=(8, 8, 1), filters=8, num_blocks=2, gated=gated, dropout=0.5)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x[:128], batch_size=32, epochs=1, verbose=0)
    nll = [np.asarray(model.negative_log_likelihood(x[:8], training=t)) for t in (True, True, False, False)]
    assert not np.allclose(nll[0], nll[1]) and np.array_equal(nll[2], nll[3])
    assert (len(model.cached_network.row_plan) > 0) == gated
    seeds = np.arange(4, dtype=np.int32)
    fast = np.asarray(model.sample_from_seeds(seeds))
    np.testing.assert_array_equal(fast, np.asarray(model.sample_from_seeds(seeds, cached=False)))
    known = tf.constant([0, 2, 5, 8])
    levels = model.to_levels(x[:4])
    complete = tf.function(lambda cached: model._complete(levels, seeds, known, cached))
    cached, naive = np.asarray(complete(True)), np.asarray(complete(False))
    np.testing.assert_allclose(cached, naive, atol=1e-6)
    quantised = np.round(x[:4] * 255) / 255
    for i, rows in enumerate([0, 2, 5, 8]):
        np.testing.assert_allclose(cached[i, :rows], quantised[i, :rows], atol=1e-6)
    assert not np.allclose(cached[0], quantised[0])


def test_colour_pixelcnn_with_a_logistic_mixture_learns_emoji_and_samples_cached(tmp_path):
    """PixelCNN++'s likelihood on colour openmoji: bits/dim fall, the cached sampler makes the
    naive sampler's draws (R, then G, then B within a pixel), the export serves both."""
    x, _ = data.load_arrays("openmoji", "test", image_size=(8, 8))
    model = PixelCNN(image_shape=(8, 8, 3), filters=16, num_blocks=2, likelihood="logistic_mixture",
                     mixtures=4)
    assert model.network.output.shape[-2:] == (1, 4 * 10)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x[:256], batch_size=32, epochs=3, verbose=0)
    assert history.history["bits_per_dim"][-1] < history.history["bits_per_dim"][0]
    seeds = np.arange(3, dtype=np.int32)
    fast = np.asarray(model.sample_from_seeds(seeds))
    np.testing.assert_allclose(fast, np.asarray(model.sample_from_seeds(seeds, cached=False)), atol=1e-6)
    assert fast.shape == (3, 8, 8, 3) and fast.std(axis=(0, 1, 2)).min() > 0
    check_config_round_trip(model)
    outputs, _ = call_saved_model(
        export.export(model, str(tmp_path / "pixelcnn_colour")),
        {"log_prob__images": x[:2], "sample__seeds": seeds})
    np.testing.assert_allclose(outputs["log_prob__bits_per_dim"], model.log_prob(x[:2]), rtol=1e-5)
    np.testing.assert_allclose(outputs["sample__images"], fast, atol=1e-6)


def test_forward_noising_matches_the_closed_form():
    model = DiffusionModel(image_shape=(4, 4, 1), timesteps=50, base_filters=8)
    betas = beta_schedule("linear", 50)
    np.testing.assert_allclose(model.alphas_cumprod.numpy(), np.cumprod(1 - betas), rtol=1e-5)
    rng = np.random.default_rng(0)
    x0 = np.full((20000, 4, 4, 1), 0.7, "float32")
    t = 30
    # step by step: x_s = sqrt(1 - beta_s) x_{s-1} + sqrt(beta_s) eps
    x = x0.astype(np.float64)
    for s in range(t + 1):
        x = np.sqrt(1 - betas[s]) * x + np.sqrt(betas[s]) * rng.standard_normal(x.shape)
    one_shot = model.q_sample(x0, np.full(20000, t), tf.random.normal(x0.shape, seed=1)).numpy()
    abar = np.prod(1 - betas[: t + 1])
    for sample in (x, one_shot):
        assert sample.mean() == pytest.approx(np.sqrt(abar) * 0.7, abs=0.01)
        assert sample.std() == pytest.approx(np.sqrt(1 - abar), abs=0.01)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_timestep_embedding_keeps_float32_under_mixed_policies(policy):
    # bfloat16 holds 999 as 1000 and float16's sin of large angles is coarse: the embedding
    # must see the exact timestep, or neighbouring noise levels get the same conditioning.
    keras.mixed_precision.set_global_policy(policy)
    embedding = SinusoidalEmbedding(32)
    t = np.array([997.0, 998.0, 999.0], "float32")
    keras.mixed_precision.set_global_policy("float32")
    exact = SinusoidalEmbedding(32)(t).numpy()
    mixed = np.asarray(embedding(t), "float32")
    np.testing.assert_allclose(mixed, exact, atol=1e-5)
    assert len({tuple(row) for row in mixed}) == 3


def test_ddim_with_eta_one_on_every_step_is_ddpm():
    model = DiffusionModel(image_shape=(4, 4, 1), timesteps=30, base_filters=8)
    rng = np.random.default_rng(1)
    for t in range(1, 30):
        x_t, eps, z = (tf.constant(rng.standard_normal((2, 4, 4, 1)), tf.float32) for _ in range(3))
        for clip in (False, True):
            ddpm = model.ddpm_step(x_t, tf.constant(t), eps, z, clip=clip)
            ddim = model.ddim_step(x_t, tf.constant(t), tf.constant(t - 1), eps, z, eta=1.0, clip=clip)
            np.testing.assert_allclose(ddim, ddpm, atol=2e-3, rtol=1e-3)
        # unclipped, the posterior-mean form is the textbook eps form
        beta, abar = float(model.betas[t]), float(model.alphas_cumprod[t])
        textbook = (x_t - beta / np.sqrt(1 - abar) * eps) / np.sqrt(1 - beta)
        np.testing.assert_allclose(model.ddpm_step(x_t, tf.constant(t), eps, 0 * z, clip=False), textbook,
                                   atol=2e-3, rtol=1e-3)
    # and whole samplers agree when DDIM takes every timestep with eta = 1
    full_ddim = model.sample(2, seed=3, steps=30, eta=1.0)
    assert full_ddim.shape == (2, 4, 4, 1)
    deterministic = model.sample(2, seed=3, steps=10, eta=0.0)
    np.testing.assert_array_equal(deterministic, model.sample(2, seed=3, steps=10, eta=0.0))


def test_diffusion_trains_updates_ema_and_exports(tmp_path):
    x, _ = data.load_arrays("mnist_5k", "test")
    model = DiffusionModel(image_shape=(28, 28, 1), timesteps=100, base_filters=8, ema_decay=0.5)
    model.compile(optimizer=model.default_optimizer(1e-3))
    history = model.fit(x[:64] * 2 - 1, batch_size=16, epochs=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    ema, net = model.ema_network.weights[0].numpy(), model.network.weights[0].numpy()
    assert not np.allclose(ema, net)
    check_config_round_trip(model)
    path = export.export(model, str(tmp_path / "diffusion"))
    outputs, signatures = call_saved_model(
        path, {"sample__seeds": np.array([1, 2], "int32"), "sample__steps": np.array([5, 5], "int32")})
    assert {"serving_default", "sample"} <= set(signatures)
    np.testing.assert_allclose(outputs["sample__images"], model.sample_from_seeds(np.array([1, 2]), steps=5),
                               atol=1e-4)


def test_pixelcnn_round_trip_and_export(tmp_path):
    model = PixelCNN(image_shape=(6, 6, 1), filters=4, num_blocks=1)
    images = np.random.default_rng(0).uniform(size=(3, 6, 6, 1)).astype("float32")
    check_config_round_trip(model)
    gated = PixelCNN(image_shape=(6, 6, 1), filters=4, num_blocks=1, gated=True)
    check_keras_file_round_trip(gated, tmp_path, lambda m: m.log_prob(images))
    shifted = PixelCNN(image_shape=(8, 8, 1), filters=4, num_blocks=1, network="pixelcnn++",
                       dropout=0.5)
    eight = np.random.default_rng(1).uniform(size=(2, 8, 8, 1)).astype("float32")
    check_keras_file_round_trip(shifted, tmp_path, lambda m: m.log_prob(eight))
    assert shifted.cached_network is None  # sampled by the whole network per pixel
    assert shifted.get_config()["network"] == "pixelcnn++" and gated.get_config()["network"] == "gated"
    for bad in (dict(network="pixelcnn+"), dict(network="pixelcnn++", gated=True)):
        with pytest.raises(ValueError, match="network"):
            PixelCNN(image_shape=(8, 8, 1), filters=4, num_blocks=1, **bad)
    assert shifted.sample(2, seed=3).shape == (2, 8, 8, 1)
    np.testing.assert_array_equal(shifted.sample(1, seed=3)[0], shifted.sample(2, seed=3)[0])
    served, _ = call_saved_model(
        export.export(shifted, str(tmp_path / "pixelcnn_pp")),
        {"log_prob__images": eight, "sample__seeds": np.array([3, 4], "int32")})
    np.testing.assert_allclose(served["sample__images"], shifted.sample(2, seed=3), atol=1e-6)
    np.testing.assert_allclose(served["log_prob__bits_per_dim"], shifted.log_prob(eight), rtol=1e-5)
    check_keras_file_round_trip(model, tmp_path, lambda m: m.log_prob(images))
    outputs, signatures = call_saved_model(
        export.export(model, str(tmp_path / "pixelcnn")),
        {"log_prob__images": images, "sample__seeds": np.array([5, 5], "int32"),
         "inpaint__images": images, "inpaint__known_rows": np.array([3, 0, 6], "int32"),
         "inpaint__seeds": np.array([1, 2, 3], "int32")})
    assert {"serving_default", "log_prob", "sample", "inpaint"} <= set(signatures)
    np.testing.assert_allclose(outputs["inpaint__images"], model.inpaint(images, [3, 0, 6], seed=1),
                               atol=1e-6)
    np.testing.assert_allclose(outputs["log_prob__bits_per_dim"], model.log_prob(images), rtol=1e-5)
    np.testing.assert_array_equal(outputs["sample__images"][0], outputs["sample__images"][1])
    np.testing.assert_allclose(outputs["sample__images"], model.sample_from_seeds(np.array([5, 5])), atol=1e-6)


def _dependencies(network, row, col, size=8):
    inputs = tf.Variable(np.random.default_rng(0).uniform(-1, 1, (1, size, size, 1)).astype("float32"))
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(network(inputs)[0, row, col])
    return np.abs(tape.gradient(value, inputs).numpy()[0, ..., 0]) > 0


def test_gated_pixelcnn_is_causal_and_has_no_blind_spot():
    keras.utils.set_random_seed(0)
    plain = PixelCNN(image_shape=(8, 8, 1), filters=4, num_blocks=2).network
    gated = PixelCNN(image_shape=(8, 8, 1), filters=4, num_blocks=2, gated=True).network
    position = np.arange(64).reshape(8, 8)
    for row, col in [(0, 0), (3, 2), (7, 7), (5, 0)]:
        seen = _dependencies(gated, row, col)
        assert not seen[position >= row * 8 + col].any()
    seen_plain, seen_gated = _dependencies(plain, 6, 2), _dependencies(gated, 6, 2)
    assert not (seen_plain & ~seen_gated).any()  # the gated model sees all the plain one sees
    assert (seen_gated & ~seen_plain).any()  # and more: the plain model's blind spot


def test_pixelcnn_pp_network_sees_exactly_the_earlier_pixels():
    """PixelCNN++'s shifted, strided and transposed convolutions: no pixel sees itself or a
    later one and, through the downsampled stages, two blocks per stage already see every
    earlier pixel of an 8x8 image (the masked network's blind spot and one-row-per-block growth
    are gone)."""
    keras.utils.set_random_seed(0)
    network = PixelCNN(image_shape=(8, 8, 1), filters=4, num_blocks=2, network="pixelcnn++").network
    position = np.arange(64).reshape(8, 8)
    for row, col in [(0, 0), (0, 5), (3, 2), (4, 7), (5, 0), (7, 7)]:
        seen = _dependencies(network, row, col)
        np.testing.assert_array_equal(seen, position < row * 8 + col, err_msg=f"pixel {row, col}")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_pixelcnn_pp_trains_under_mixed_precision(policy):
    keras.mixed_precision.set_global_policy(policy)
    model = PixelCNN(image_shape=(8, 8, 1), filters=4, num_blocks=1, network="pixelcnn++",
                     levels=2)
    model.compile(optimizer=model.default_optimizer())
    images = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    history = model.fit(images, batch_size=4, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][-1])
    assert model.network.get_layer("u_in").compute_dtype == policy.split("_")[1]
    assert keras.ops.convert_to_numpy(model.log_prob(images)).dtype == np.float32


@pytest.mark.parametrize("gated", [False, True])
def test_default_pixelcnn_sees_a_whole_digit_above_the_last_row(gated):
    # A digit spans about 20 of 28 rows. keras.io's 5 blocks see 8 rows above the bottom-centre
    # pixel and sample strokes, not digits; the default must see most of the image.
    network = PixelCNN(image_shape=(28, 28, 1), filters=4, gated=gated).network
    rows_above, left, right = receptive_field(network, (28, 28, 1))
    assert rows_above >= 18 and (left, right) == (0, 27)
    shallow = pixelcnn_network((28, 28, 1), filters=4, num_blocks=5)
    assert receptive_field(shallow, (28, 28, 1))[0] <= 8
