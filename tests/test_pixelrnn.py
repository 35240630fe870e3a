"""PixelRNN: causality of both LSTM variants by gradients, learning on real digits, exports."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import data, export
from keras_gen.models import PixelRNN
from keras_gen.networks.pixelrnn import DiagonalBiLSTM, RowLSTM, skew, unskew
from model_checks import call_saved_model, check_config_round_trip, check_keras_file_round_trip

SIZE = 7


def _dependency_map(network, shape=(SIZE, SIZE)):
    """`seen(row, col)`: which input pixels the logits at (row, col) have a non-zero gradient
    from, over eight random images (one image can hide a path behind ReLUs that are all off
    there). The gradient is traced once for every position (eagerly, each costs a pass)."""
    inputs = tf.constant(np.random.default_rng(0).uniform(-1, 1, (8, *shape, 1)).astype("float32"))

    @tf.function
    def gradient_at(row, col):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            value = tf.reduce_sum(network(inputs)[:, row, col])
        return tape.gradient(value, inputs)

    return lambda row, col: np.abs(
        gradient_at(tf.constant(row), tf.constant(col)).numpy()[..., 0]).sum(axis=0) > 0


def _dependencies(network, row, col, shape=(SIZE, SIZE)):
    return _dependency_map(network, shape)(row, col)


@pytest.mark.parametrize("variant", ["row", "diagonal"])
def test_no_pixel_sees_itself_or_a_later_pixel(variant):
    keras.utils.set_random_seed(0)
    network = PixelRNN(image_shape=(SIZE, SIZE, 1), variant=variant, units=4, num_layers=2).network
    position = np.arange(SIZE * SIZE).reshape(SIZE, SIZE)
    dependencies = _dependency_map(network)
    for row in range(SIZE):
        for col in range(SIZE):
            seen = dependencies(row, col)
            here = row * SIZE + col
            assert not seen[position >= here].any(), (variant, row, col)
            assert col == 0 or seen[row, col - 1]  # the left neighbour
            assert row == 0 or seen[row - 1, col]  # and the pixel above: always seen


def test_the_diagonal_bilstm_sees_what_the_row_lstm_cannot():
    keras.utils.set_random_seed(0)
    shape = (5, 20)  # wider than the Row LSTM's triangle is at the top
    row = PixelRNN(image_shape=(*shape, 1), variant="row", units=4, num_layers=2).network
    diagonal = PixelRNN(image_shape=(*shape, 1), variant="diagonal", units=4,
                        num_layers=2).network
    # bottom-left pixel: the Row LSTM sees a triangle above it, narrower further up ...
    seen_row = _dependencies(row, 4, 0, shape)
    widths = [int(np.nonzero(seen_row[r])[0].max()) for r in range(4)]
    assert widths == sorted(widths, reverse=True) and widths[0] < 19 and not seen_row[4].any()
    # ... the Diagonal BiLSTM every earlier pixel but the end of the row just above (beyond
    # the 7x7 first layer's reach, and no later position of that row exists to carry it)
    seen_diagonal = _dependencies(diagonal, 4, 0, shape)
    assert seen_diagonal[:3].all() and seen_diagonal[3, :19].all()
    assert not seen_diagonal[3, 19] and not seen_diagonal[4].any()


@pytest.mark.parametrize("variant", ["row", "diagonal"])
def test_cached_sampler_draws_what_the_naive_sampler_draws(variant):
    """Pixel-at-a-time evaluation with cached activations and LSTM states (the diagonal
    variant's right-to-left pass a row at a time) gives the naive sampler's draws: the same
    seeds, the same images; inpainting replays the known rows and keeps them."""
    keras.utils.set_random_seed(0)
    x, _ = data.load_arrays("mnist_5k", "test", image_size=(SIZE, 6))
    model = PixelRNN(image_shape=(SIZE, 6, 1), variant=variant, units=4, num_layers=2, levels=4)
    assert model.cached_network.replays_known
    seeds = np.arange(4, dtype=np.int32)
    fast = np.asarray(model.sample_from_seeds(seeds))
    np.testing.assert_array_equal(fast, np.asarray(model.sample_from_seeds(seeds, cached=False)))
    assert len({tuple(image.ravel()) for image in fast}) == 4
    known = tf.constant([0, 2, 5, SIZE])
    levels = model.to_levels(x[:4])
    complete = tf.function(lambda cached: model._complete(levels, seeds, known, cached))
    cached, naive = np.asarray(complete(True)), np.asarray(complete(False))
    np.testing.assert_array_equal(cached, naive)
    quantised = np.round(x[:4] * 3) / 3
    for i, rows in enumerate([0, 2, 5, SIZE]):
        np.testing.assert_allclose(cached[i, :rows], quantised[i, :rows], atol=1e-6)


def test_skew_then_unskew_is_the_identity_and_columns_are_diagonals():
    x = np.random.default_rng(1).normal(size=(2, 4, 5, 3)).astype("float32")
    skewed = np.asarray(skew(x))
    assert skewed.shape == (2, 4, 8, 3)
    np.testing.assert_array_equal(np.asarray(unskew(skewed, 5)), x)
    for i in range(4):
        np.testing.assert_array_equal(skewed[:, i, i:i + 5], x[:, i])
        assert not skewed[:, i, :i].any() and not skewed[:, i, i + 5:].any()


@pytest.mark.parametrize("layer_class", [RowLSTM, DiagonalBiLSTM])
def test_lstm_layers_run_under_mixed_precision(layer_class):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    layer = layer_class.from_config(layer_class(3).get_config())
    out = layer(np.ones((2, 4, 4, 6), "float32"))
    assert out.dtype == "bfloat16" and out.shape == (2, 4, 4, 3)
    assert np.isfinite(np.asarray(tf.cast(out, tf.float32))).all()


@pytest.mark.parametrize("variant", ["row", "diagonal"])
def test_pixelrnn_learns_real_digits_samples_inpaints_and_exports(variant, tmp_path):
    x, _ = data.load_arrays("mnist_5k", "test", image_size=(8, 8))
    model = PixelRNN(image_shape=(8, 8, 1), variant=variant, units=8, num_layers=1)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x[:256], batch_size=32, epochs=3, verbose=0)
    assert history.history["bits_per_dim"][-1] < history.history["bits_per_dim"][0] < 8.5
    np.testing.assert_array_equal(model.sample(2, seed=4), model.sample(2, seed=4))
    completed = np.asarray(model.inpaint(x[:2], known_rows=4))
    np.testing.assert_allclose(completed[:, :4], np.round(x[:2, :4] * 255) / 255, atol=1e-6)
    check_config_round_trip(model)
    check_keras_file_round_trip(model, tmp_path, lambda m: m.log_prob(x[:3]))
    outputs, signatures = call_saved_model(
        export.export(model, str(tmp_path / "pixelrnn")),
        {"log_prob__images": x[:3], "sample__seeds": np.array([5, 5], "int32")})
    assert {"serving_default", "log_prob", "sample"} <= set(signatures)
    np.testing.assert_allclose(outputs["log_prob__bits_per_dim"], model.log_prob(x[:3]), rtol=1e-5)
    np.testing.assert_allclose(outputs["sample__images"], model.sample_from_seeds(np.array([5, 5])),
                               atol=1e-6)


@pytest.mark.slow
def test_killed_pixelrnn_app_run_resumes_and_exports(tmp_path, repo_root):
    """apps/train.py pixelrnn killed after two epochs resumes from its backup, finishes the
    remaining epochs and exports (the shared BackupAndRestore path; PixelRNN keeps no state
    beyond its weights and optimizer)."""
    import os
    import sys

    from killed_runs import kill_and_resume

    out, exported = tmp_path / "run", tmp_path / "exported"
    command = [sys.executable, os.path.join(repo_root, "apps", "train.py"), "pixelrnn",
               "--dataset", "mnist_5k", "--image-size", "8", "8", "--epochs", "5",
               "--steps-per-epoch", "4", "--batch-size", "16", "--set", "units=4",
               "--set", "num_layers=1", "--set", "variant='diagonal'", "--no-validation",
               "--out", str(out), "--export-dir", str(exported), "--verbose", "0"]
    kill_and_resume(command, out, 5, dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), repo_root)
    model = keras.saving.load_model(str(out / "model.keras"))
    assert model.variant == "diagonal" and int(model.optimizer.iterations) == 20
    assert (exported / "pixelrnn" / "1" / "saved_model.pb").exists()
