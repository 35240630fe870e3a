"""GAN family: losses against formulas, one generator pass per step, stabilisers, export."""

import keras
import numpy as np
import pytest

from keras_gen import data, export, losses
from keras_gen.models import DCGAN, GAN, WGAN_GP, ConditionalGAN
from model_checks import call_saved_model, check_config_round_trip, check_keras_file_round_trip

rng = np.random.default_rng(0)
REAL, FAKE = rng.normal(size=(6, 1)).astype("float32"), rng.normal(size=(6, 1)).astype("float32")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("kind, d_expected, g_expected", [
    ("minimax", -np.log(sigmoid(REAL)) - np.log(1 - sigmoid(FAKE)), np.log(1 - sigmoid(FAKE))),
    ("non_saturating", -np.log(sigmoid(REAL)) - np.log(1 - sigmoid(FAKE)), -np.log(sigmoid(FAKE))),
    ("least_squares", 0.5 * (REAL - 1) ** 2 + 0.5 * FAKE**2, 0.5 * (FAKE - 1) ** 2),
    ("hinge", np.maximum(0, 1 - REAL) + np.maximum(0, 1 + FAKE), -FAKE),
    ("wasserstein", FAKE - REAL, -FAKE),
])
def test_adversarial_losses_match_formulas(kind, d_expected, g_expected):
    np.testing.assert_allclose(losses.discriminator_loss(kind, REAL, FAKE), d_expected[:, 0], rtol=1e-5)
    np.testing.assert_allclose(losses.generator_loss(kind, FAKE), g_expected[:, 0], rtol=1e-5, atol=1e-6)


def test_label_smoothing_and_extreme_logits():
    smoothed = losses.discriminator_loss("minimax", REAL, FAKE, real_label=0.9)
    p = sigmoid(REAL[:, 0])
    expected = -(0.9 * np.log(p) + 0.1 * np.log(1 - p)) - np.log(1 - sigmoid(FAKE[:, 0]))
    np.testing.assert_allclose(smoothed, expected, rtol=1e-5)
    extreme = np.array([[300.0], [-300.0]], "float32")
    assert np.isfinite(losses.discriminator_loss("minimax", extreme, -extreme)).all()
    assert np.isfinite(losses.generator_loss("minimax", extreme)).all()
    with pytest.raises(ValueError, match="unknown adversarial loss"):
        losses.generator_loss("kl", FAKE)


def test_gradient_penalty_of_a_linear_critic():
    w = np.array([3.0, 4.0], "float32")  # |grad| = 5 everywhere
    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    critic.layers[0].kernel.assign(w[:, None])
    real, fake = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    penalty = losses.gradient_penalty(critic, real, fake, np.full(4, 0.3))
    np.testing.assert_allclose(penalty, np.full(4, 16.0), rtol=1e-5)


@pytest.fixture(scope="module")
def digits():
    x, y = data.load_arrays("mnist_5k", "test")
    return (x[::20][:48] * 2 - 1).astype("float32"), y[::20][:48]


class CountingGAN(GAN):
    generator_calls = 0

    def generator_inputs(self, z, labels):
        CountingGAN.generator_calls += 1
        return z


def test_one_generator_pass_per_step_and_both_networks_move(digits):
    x, _ = digits
    model = CountingGAN(latent_dim=4, units=(16,))
    g_before = [w.numpy().copy() for w in model.generator.trainable_weights]
    d_before = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
    CountingGAN.generator_calls = 0
    model.fit(x[:24], batch_size=8, epochs=1, verbose=0)
    assert CountingGAN.generator_calls == 3  # 3 batches, one generator forward each
    assert any(np.abs(b - w.numpy()).max() > 0 for b, w in zip(g_before, model.generator.trainable_weights))
    assert any(np.abs(b - w.numpy()).max() > 0 for b, w in zip(d_before, model.discriminator.trainable_weights))


def test_n_critic_steps_per_generator_step(digits):
    x, _ = digits
    model = WGAN_GP(latent_dim=4, base_filters=4, n_critic=3)
    model.compile(optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9))
    history = model.fit(x, batch_size=8, epochs=1, verbose=0)  # 6 critic steps
    assert int(model.get_optimizer("discriminator").iterations) == 6
    assert int(model.get_optimizer("generator").iterations) == 2
    assert "gradient_penalty" in history.history
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.discriminator.layers)


def test_separate_learning_rates(digits):
    x, _ = digits
    model = GAN(latent_dim=4, units=(16,))
    model.compile(optimizer={"generator": keras.optimizers.Adam(1e-4),
                             "discriminator": keras.optimizers.Adam(4e-4)})
    assert float(model.get_optimizer("discriminator").learning_rate) == pytest.approx(4e-4)
    assert float(model.get_optimizer("generator").learning_rate) == pytest.approx(1e-4)


def test_instance_noise_anneals_to_zero(digits):
    x, _ = digits
    model = GAN(latent_dim=4, units=(16,), instance_noise=0.5, instance_noise_steps=4)
    model.compile(optimizer="adam")
    assert float(model.instance_noise_stddev()) == pytest.approx(0.5)
    model.fit(x[:16], batch_size=8, epochs=1, verbose=0)
    assert float(model.instance_noise_stddev()) == pytest.approx(0.25)
    model.fit(x[:16], batch_size=8, epochs=2, verbose=0)
    assert float(model.instance_noise_stddev()) == 0.0


def test_ema_generator_is_used_for_sampling(digits):
    x, _ = digits
    model = GAN(latent_dim=4, units=(16,), ema_decay=0.5, spectral_norm=True)
    assert any(isinstance(layer, keras.layers.SpectralNormalization) for layer in model.discriminator.layers)
    start = [w.numpy().copy() for w in model.generator.weights]
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x[:8], batch_size=8, epochs=1, verbose=0)
    # one step: the warmed-up decay is min(0.5, (1 + 1) / (10 + 1)) = 2 / 11
    decay = 2.0 / 11.0
    for s, g, e in zip(start, model.generator.weights, model.ema_generator.weights):
        np.testing.assert_allclose(e.numpy(), decay * s + (1 - decay) * g.numpy(), rtol=1e-5, atol=1e-6)
    z = np.ones((2, 4), "float32")
    expected = (np.asarray(model.ema_generator(z)) + 1) / 2
    np.testing.assert_allclose(model.generate_from(z), np.clip(expected, 0, 1), atol=1e-6)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_sizes(shape):
    model = DCGAN(image_shape=shape, latent_dim=8, base_filters=4)
    images = model.sample(2)
    assert images.shape == (2, *shape) and images.min() >= 0 and images.max() <= 1
    assert tuple(model.discriminator.output.shape) == (None, 1)


def test_conditional_gan_joins_labels(digits, tmp_path):
    x, y = digits
    model = ConditionalGAN(architecture="dcgan", latent_dim=4, base_filters=4)
    assert model.discriminator.get_layer("join_condition").output.shape[-1] == 1 + 10
    model.compile(optimizer="adam")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    z = np.zeros((2, 4), "float32")
    assert np.abs(np.asarray(model.generate_from(z, [1, 1])) - np.asarray(model.generate_from(z, [8, 8]))).max() > 0
    with pytest.raises(ValueError, match="labels must be in"):
        model.sample(1, labels=[10])
    # without labels, sample cycles the classes 0..9
    np.testing.assert_array_equal(model.sample(10, seed=3), model.sample(10, seed=3, labels=np.arange(10)))
    assert np.abs(model.sample(2, seed=3, labels=[2, 7]) - model.sample(2, seed=3, labels=[7, 2])).max() > 0
    with pytest.raises(ValueError, match="labels"):
        model.fit(x, batch_size=16, epochs=1, verbose=0)
    check_keras_file_round_trip(model, tmp_path, lambda m: m.sample(3, labels=[0, 5, 9]))


@pytest.mark.parametrize("cls, kwargs", [
    (GAN, {"latent_dim": 4, "units": (16,), "ema_decay": 0.9}),
    (DCGAN, {"latent_dim": 4, "base_filters": 4}),
    (WGAN_GP, {"latent_dim": 4, "base_filters": 4}),
])
def test_round_trips(cls, kwargs, digits, tmp_path):
    model = cls(**kwargs)
    check_config_round_trip(model)
    model.compile(optimizer="adam")
    model.fit(digits[0][:16], batch_size=8, epochs=1, verbose=0)
    check_keras_file_round_trip(model, tmp_path, lambda m: m.sample(3, seed=1))


def test_export_serves_what_the_generators_compute(tmp_path):
    model = GAN(latent_dim=4, units=(16,), ema_decay=0.9)
    cgan = ConditionalGAN(latent_dim=4, units=(16,))
    z = rng.normal(size=(3, 4)).astype("float32")
    seeds = np.array([7, 7, 8], "int32")
    outputs, signatures = call_saved_model(
        export.export(model, str(tmp_path / "gan")),
        {"serving_default__z": z, "sample__seeds": seeds})
    assert {"serving_default", "sample"} <= set(signatures)
    np.testing.assert_allclose(outputs["serving_default__images"], model.generate_from(z), atol=1e-5)
    sampled = outputs["sample__images"]
    np.testing.assert_array_equal(sampled[0], sampled[1])  # same seed, same image
    assert np.abs(sampled[0] - sampled[2]).max() > 0 and 0 <= sampled.min() and sampled.max() <= 1
    labels = np.array([2, 3, 4], "int32")
    outputs, _ = call_saved_model(
        export.export(cgan, str(tmp_path / "cgan")),
        {"serving_default__z": z, "serving_default__labels": labels})
    np.testing.assert_allclose(outputs["serving_default__images"], cgan.generate_from(z, labels), atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_scales_both_optimizers(policy, digits):
    keras.mixed_precision.set_global_policy(policy)
    model = DCGAN(latent_dim=4, base_filters=4)
    model.compile(optimizer="adam")
    for slot in model.optimizer_names:
        wrapped = isinstance(model.get_optimizer(slot), keras.optimizers.LossScaleOptimizer)
        assert wrapped is (policy == "mixed_float16")
    history = model.fit(digits[0][:16], batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all() and np.isfinite(history.history["g_loss"]).all()
    assert model.sample(2).dtype == np.float32
