"""pix2pix and CycleGAN: shapes, pairs, cycle loss, the history pool, data, and bytes exports."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_gen import export
from keras_gen.data import paired
from keras_gen.models import CycleGAN, ImageHistoryPool, Pix2Pix
from keras_gen.networks.patchgan import patchgan_discriminator
from keras_gen.networks.unet import unet_generator
from model_checks import call_saved_model, check_config_round_trip, check_keras_file_round_trip


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3), (256, 256, 3)])
def test_unet_output_shape_equals_input_shape(shape):
    generator = unet_generator(shape, base_filters=4, max_filters=16)
    assert tuple(generator.output.shape) == (None, *shape)
    assert any(isinstance(layer, keras.layers.Concatenate) for layer in generator.layers)  # skips


def test_discriminator_sees_pairs():
    d = patchgan_discriminator((28, 28, 1), condition_channels=1, base_filters=4)
    assert d.get_layer("pair").output.shape[-1] == 2
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    y = np.random.default_rng(1).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    same_target_other_input = np.asarray(d([x[::-1], y])) - np.asarray(d([x, y]))
    assert np.abs(same_target_other_input).max() > 0  # the input half of the pair matters


def test_pix2pix_step_updates_both_networks_with_l1():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    model = Pix2Pix(image_shape=(28, 28, 1), base_filters=4, lambda_l1=100.0)
    g0 = [w.numpy().copy() for w in model.generator.trainable_weights]
    d0 = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    model.compile(optimizer=model.default_optimizer())
    history = model.fit(x, -x, batch_size=4, epochs=1, verbose=0)
    h = history.history
    assert h["g_loss"][0] == pytest.approx(h["g_adversarial"][0] + 100 * h["l1_loss"][0], rel=1e-4)
    assert any(np.abs(a - w.numpy()).max() > 0 for a, w in zip(g0, model.generator.trainable_weights))
    assert any(np.abs(a - w.numpy()).max() > 0 for a, w in zip(d0, model.discriminator.trainable_weights))


def test_training_losses_follow_the_cyclegan_objective():
    """`compute_losses` (what the core's training step minimises) against NumPy formulas from
    the model's own networks: cycle |F(G(x)) - x| + |G(F(y)) - y|, identity, and L_G."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, 16, 16, 1)).astype("float32")
    y = rng.uniform(-1, 1, (3, 16, 16, 1)).astype("float32")
    model = CycleGAN(image_shape=(16, 16, 1), base_filters=4, num_blocks=1, lambda_cycle=7.0,
                     lambda_identity=0.3)
    got = {k: np.asarray(v) for k, v in model.compute_losses((x, y), training=False).items()}
    g = lambda t: np.asarray(model.generator_g(t, training=False))  # noqa: E731
    f = lambda t: np.asarray(model.generator_f(t, training=False))  # noqa: E731
    l1 = lambda a, b: np.abs(a - b).reshape(len(a), -1).mean(axis=1)  # noqa: E731
    cycle = l1(x, f(g(x))) + l1(y, g(f(y)))
    identity = l1(y, g(y)) + l1(x, f(x))
    np.testing.assert_allclose(got["cycle_loss"], cycle, rtol=1e-4, atol=1e-5)
    assert cycle.min() > 0.01  # untrained generators: the check is not vacuous
    np.testing.assert_allclose(got["identity_loss"], identity, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got["g_loss"], got["g_adversarial"] + 7.0 * cycle + 0.3 * 7.0 * identity,
                               rtol=1e-4, atol=1e-4)
    # the cycle term drives the generators' update: its gradient reaches both generators
    with tf.GradientTape() as tape:
        term = tf.reduce_mean(model.compute_losses((x, y), training=True)["cycle_loss"])
    grads = tape.gradient(term, model.variables_for("generators"))
    assert all(grad is not None for grad in grads)


def test_cycle_error_of_identity_generators_is_zero():
    x01 = np.random.default_rng(0).uniform(0, 1, (3, 28, 28, 1)).astype("float32")
    model = CycleGAN(image_shape=(28, 28, 1), base_filters=4, num_blocks=1)
    model.translate_x_to_y = model.translate_y_to_x = lambda t: t  # generators returning their input
    forward, backward = model.cycle_error(x01, x01)
    np.testing.assert_allclose(forward, 0.0)
    np.testing.assert_allclose(backward, 0.0)


def test_history_pool_mixes_new_and_old_images():
    pool = ImageHistoryPool(size=10, image_shape=(2, 2, 1), seed=0)
    first = pool.query(tf.zeros((10, 2, 2, 1)))  # fills the pool, returned as is
    np.testing.assert_array_equal(first, 0.0)
    assert int(pool.count) == 10
    out = pool.query(tf.ones((200, 2, 2, 1))).numpy()[:, 0, 0, 0]
    old = np.mean(out == 0.0)
    assert 0.0 < old < 0.5 and np.mean(out == 1.0) > 0.5  # a mix, about half swapped at first
    assert float(tf.reduce_mean(pool.images)) > 0.5  # new images entered the pool


def test_cyclegan_step_reports_losses_and_fills_pools():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    model = CycleGAN(image_shape=(28, 28, 1), base_filters=4, num_blocks=1, pool_size=3)
    model.compile(optimizer=model.default_optimizer())
    history = model.fit(x, x[::-1], batch_size=2, epochs=1, verbose=0)
    assert set(history.history) == {"g_loss", "d_loss", "g_adversarial", "cycle_loss", "identity_loss"}
    assert int(model.pool_x.count) == 3 and int(model.pool_y.count) == 3


def test_paired_and_unpaired_data():
    edges, digits, labels = paired.edges_to_digits("test")
    assert edges.shape == digits.shape == (1000, 28, 28, 1) and edges.max() == pytest.approx(1.0)
    ds = paired.pairs_from_arrays(edges[:8], digits[:8], batch_size=8, augment=True, shuffle=False)
    a, b = next(iter(ds))
    assert a.shape == b.shape == (8, 28, 28, 1) and float(tf.reduce_min(a)) >= -1.0
    with pytest.raises(ValueError, match="as many"):
        paired.pairs_from_arrays(edges[:3], digits[:4])
    (x, x_labels), (y, _) = paired.digits_to_mnist("test")
    assert x.shape[1:] == y.shape[1:] == (28, 28, 1)
    xb, yb = next(iter(paired.unpaired_from_arrays(x, y, batch_size=5)))
    assert xb.shape == yb.shape == (5, 28, 28, 1)


def test_jitter_keeps_pairs_aligned():
    image = np.zeros((16, 16, 1), "float32")
    image[2:6, 3:9] = 1.0
    a, b = paired.jitter_pair(tf.constant(image), tf.constant(image))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_folders_and_tfds_cycle_gan(tmp_path):
    import tensorflow_datasets as tfds

    side = np.zeros((8, 16, 3), np.uint8)
    side[:, 8:] = 255  # left half black (A), right half white (B)
    Image.fromarray(side).save(tmp_path / "pair.png")
    a, b = next(iter(paired.paired_from_directory(str(tmp_path), image_size=(8, 8), augment=False)))
    assert float(tf.reduce_max(a)) == pytest.approx(-1.0) and float(tf.reduce_min(b)) == pytest.approx(1.0)
    with tfds.testing.mock_data(num_examples=4):
        x, y = next(iter(paired.load_cycle_gan("tfds:cycle_gan/horse2zebra", image_size=(16, 16),
                                               batch_size=2)))
    assert x.shape == y.shape == (2, 16, 16, 3)


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_exports_and_bytes_round_trip(tmp_path):
    model = Pix2Pix(image_shape=(28, 28, 1), base_filters=4)
    path = export.export(model, str(tmp_path / "pix2pix"))
    images = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype("float32")
    pngs = np.array([_png((images[i, ..., 0] * 255).round().astype(np.uint8)) for i in range(2)],
                    dtype=object)
    outputs, signatures = call_saved_model(
        path, {"serving_default__images": images, "translate_bytes__images_bytes": pngs})
    assert {"serving_default", "translate_bytes"} <= set(signatures)
    expected = np.asarray(model.translate(images))
    np.testing.assert_allclose(outputs["serving_default__images"], expected, atol=1e-5)
    decoded = np.stack([np.asarray(Image.open(io.BytesIO(p))) for p in outputs["translate_bytes__images_bytes"]])
    np.testing.assert_allclose(decoded / 255.0, expected[..., 0], atol=2 / 255)
    cyc = CycleGAN(image_shape=(28, 28, 1), base_filters=4, num_blocks=1)
    outputs, signatures = call_saved_model(
        export.export(cyc, str(tmp_path / "cyclegan")),
        {"translate_x_to_y__images": images, "translate_y_to_x__images": images})
    assert {"serving_default", "translate_x_to_y", "translate_y_to_x"} <= set(signatures)
    np.testing.assert_allclose(outputs["translate_y_to_x__images"], cyc.translate_y_to_x(images), atol=1e-5)


def test_round_trips(tmp_path):
    x = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype("float32")
    for model in (Pix2Pix(image_shape=(28, 28, 1), base_filters=4),
                  CycleGAN(image_shape=(28, 28, 1), base_filters=4, num_blocks=1, pool_size=2)):
        check_config_round_trip(model)
        check_keras_file_round_trip(model, tmp_path, lambda m: m.translate(x))


def test_aligned_and_unaligned_folders(tmp_path):
    for name, value in (("a", 0), ("b", 255)):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.full((10, 10), value, np.uint8)).save(tmp_path / name / f"{i}.png")
    a, b = next(iter(paired.paired_from_directories(str(tmp_path / "a"), str(tmp_path / "b"),
                                                    image_size=(8, 8), channels=1, batch_size=3)))
    assert a.shape == b.shape == (3, 8, 8, 1)
    assert float(tf.reduce_max(a)) == pytest.approx(-1.0) and float(tf.reduce_min(b)) == pytest.approx(1.0)
    (tmp_path / "b" / "2.png").unlink()
    with pytest.raises(ValueError, match="as many images"):
        paired.paired_from_directories(str(tmp_path / "a"), str(tmp_path / "b"))
    x, y = next(iter(paired.unpaired_from_directories(str(tmp_path / "a"), str(tmp_path / "b"),
                                                      image_size=(8, 8), channels=1, batch_size=2)))
    assert x.shape == y.shape == (2, 8, 8, 1)
