"""VAE: maths against NumPy, training on real MNIST, round trips, generation."""

import keras
import numpy as np
import pytest

from keras_gen import data
from keras_gen.models import VAE
from model_checks import check_config_round_trip, check_keras_file_round_trip


def tiny_vae(**kwargs):
    kwargs = {"latent_dim": 4, "filters": (8, 16), "dense_units": 32, **kwargs}
    return VAE(image_shape=(28, 28, 1), **kwargs)


@pytest.fixture(scope="module")
def mnist_test_batch():
    x, _ = data.load_arrays("mnist_5k", "test")
    return x[::50][:16]


def test_kl_and_total_loss_match_numpy(mnist_test_batch):
    vae = tiny_vae(beta=4.0, seed=7)
    result = vae.compute_losses(mnist_test_batch)
    mean, log_var = (keras.ops.convert_to_numpy(t) for t in vae.encode(mnist_test_batch))
    expected_kl = -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var), axis=-1)
    np.testing.assert_allclose(result["kl_loss"], expected_kl, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        result["loss"], result["reconstruction_loss"] + 4.0 * result["kl_loss"], rtol=1e-6
    )
    assert result["loss"].shape == (16,)


def test_reconstruction_loss_is_bernoulli_nll_of_decoded_sample(mnist_test_batch):
    vae = tiny_vae(seed=3)
    mean, log_var = vae.encode(mnist_test_batch)
    state = vae.seed_generator.state.numpy()
    z = vae.reparameterize(mean, log_var)
    probs = np.clip(keras.ops.convert_to_numpy(vae.decode(z)), 1e-7, 1 - 1e-7)
    x = mnist_test_batch
    expected = -np.sum(x * np.log(probs) + (1 - x) * np.log(1 - probs), axis=(1, 2, 3))
    vae.seed_generator.state.assign(state)  # the same noise as above
    got = vae.compute_losses(x)["reconstruction_loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_reparameterization_has_the_posterior_moments():
    vae = tiny_vae(seed=0)
    mean = np.full((20000, 4), 1.5, "float32")
    log_var = np.full((20000, 4), np.log(0.25), "float32")
    z = keras.ops.convert_to_numpy(vae.reparameterize(mean, log_var))
    assert z.mean() == pytest.approx(1.5, abs=0.01)
    assert z.std() == pytest.approx(0.5, abs=0.01)


def test_loss_decreases_on_real_mnist():
    train = data.load("mnist_5k", "train", batch_size=32, seed=0)
    test = data.load("mnist_5k", "test", batch_size=250)
    vae = tiny_vae(seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    before = vae.negative_elbo(test)
    history = vae.fit(train.repeat(), steps_per_epoch=100, epochs=3, validation_data=test, verbose=0)
    after = vae.negative_elbo(test)
    assert set(history.history) == {
        "loss", "reconstruction_loss", "kl_loss", "val_loss", "val_reconstruction_loss", "val_kl_loss"
    }
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert before > 500  # an untrained decoder: about 784 * log 2 nats
    assert after < 200, after
    assert history.history["val_kl_loss"][-1] > 1.0  # the latent code is used


def test_gaussian_likelihood_trains(mnist_test_batch):
    vae = tiny_vae(likelihood="gaussian")
    vae.compile(optimizer="adam")
    history = vae.fit(mnist_test_batch, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert "log_scale" in [w.name for w in vae.weights]


def test_generation_api_shapes_and_determinism(mnist_test_batch):
    vae = tiny_vae()
    assert tuple(vae.sample(5).shape) == (5, 28, 28, 1)
    first, again = vae.sample(6, seed=1), vae.sample(6, seed=1)
    np.testing.assert_array_equal(first, again)
    assert first.min() >= 0.0 and first.max() <= 1.0
    assert tuple(vae.reconstruct(mnist_test_batch).shape) == mnist_test_batch.shape
    assert tuple(vae(mnist_test_batch).shape) == mnist_test_batch.shape


def test_round_trips(tmp_path, mnist_test_batch):
    vae = tiny_vae(beta=2.0)
    clone = check_config_round_trip(vae)
    assert clone.beta == 2.0 and clone.latent_dim == 4
    vae.compile(optimizer="adam")
    vae.fit(mnist_test_batch, epochs=1, batch_size=8, verbose=0)
    loaded = check_keras_file_round_trip(vae, tmp_path, lambda m: m.reconstruct(mnist_test_batch))
    assert int(loaded.optimizer.iterations) == int(vae.optimizer.iterations) == 2


def test_custom_networks_round_trip(tmp_path, mnist_test_batch):
    from keras_gen.networks import conv_decoder, conv_encoder

    encoder = conv_encoder((28, 28, 1), 3, filters=(4,), dense_units=0)
    decoder = conv_decoder((28, 28, 1), 3, filters=(4,), dense_units=0)
    vae = VAE(image_shape=(28, 28, 1), latent_dim=3, encoder=encoder, decoder=decoder)
    assert vae.encoder is encoder
    check_keras_file_round_trip(vae, tmp_path, lambda m: m.reconstruct(mnist_test_batch))


@pytest.mark.parametrize("shape", [(32, 32, 3), (64, 64, 3)])
def test_other_image_shapes(shape):
    vae = VAE(image_shape=shape, latent_dim=2, filters=(8, 8, 8), dense_units=16)
    x = np.random.default_rng(0).uniform(size=(2, *shape)).astype("float32")
    assert tuple(vae.reconstruct(x).shape) == (2, *shape)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="divisible by 4"):
        VAE(image_shape=(30, 30, 1))
    with pytest.raises(ValueError, match="likelihood"):
        VAE(likelihood="poisson")
    with pytest.raises(ValueError, match="image_shape"):
        VAE(image_shape=(28, 28))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_step_is_finite(policy, mnist_test_batch):
    keras.mixed_precision.set_global_policy(policy)
    vae = tiny_vae()
    vae.compile(optimizer="adam")
    if policy == "mixed_float16":
        assert isinstance(vae.get_optimizer(), keras.optimizers.LossScaleOptimizer)
    history = vae.fit(mnist_test_batch, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert keras.ops.convert_to_numpy(vae.sample(2)).dtype == np.float32
