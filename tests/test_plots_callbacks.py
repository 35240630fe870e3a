"""Image grids and the SampleGrid callback."""

import numpy as np
import pytest
from PIL import Image

from keras_gen.callbacks import SampleGrid
from keras_gen.models import VAE
from keras_gen.plots import image_grid, plot_history, save_image_grid


def test_image_grid_places_images_in_rows():
    images = np.stack([np.full((2, 3, 1), i / 10.0) for i in range(5)])
    grid = image_grid(images, cols=3, padding=1, pad_value=1.0)
    assert grid.shape == (2 * 2 + 1, 3 * 3 + 2, 1)
    assert grid[0, 0, 0] == pytest.approx(0.0) and grid[0, 4, 0] == pytest.approx(0.1)
    assert grid[3, 4, 0] == pytest.approx(0.4) and grid[2, 0, 0] == 1.0  # padding row
    assert grid[3, 8, 0] == 1.0  # the empty sixth cell is padding


def test_save_image_grid_writes_exact_pixels(tmp_path):
    images = np.zeros((4, 2, 2, 1))
    images[1] = 1.0
    path = save_image_grid(images, str(tmp_path / "g.png"), cols=2, scale=1)
    pixels = np.asarray(Image.open(path))
    assert pixels.shape == (5, 5) and pixels[0, 3] == 255 and pixels[0, 0] == 0


def test_sample_grid_callback_uses_fixed_seed(tmp_path):
    vae = VAE(latent_dim=2, filters=(4, 4), dense_units=8)
    callback = SampleGrid(str(tmp_path), num_images=4, seed=5)
    callback.set_model(vae)
    callback.on_epoch_end(0)
    callback.on_epoch_end(1)
    first, second = (np.asarray(Image.open(p)) for p in callback.paths)
    np.testing.assert_array_equal(first, second)  # same weights, same seed -> same grid
    assert callback.seconds > 0  # what drawing them cost, for the run's summary


def test_a_run_draws_its_familys_grid_and_says_what_it_cost(tmp_path):
    """Autoregressive families draw pixel by pixel: their end-of-epoch grid holds 16 images,
    not 64, and the summary reports the seconds the grids took (issue 37)."""
    from keras_gen.models import FAMILIES
    from keras_gen.training import TrainingRun

    assert FAMILIES["pixelrnn"].grid_images == FAMILIES["pixelcnn"].grid_images == 16
    assert FAMILIES["dcgan"].grid_images == 64
    run = TrainingRun("pixelrnn", epochs=1, steps_per_epoch=1, batch_size=4, validation=False,
                      image_size=(8, 8), model_args={"units": 2, "num_layers": 1, "levels": 2},
                      out=str(tmp_path / "run"), verbose=0)
    run.build()
    run.fit()
    grid = np.asarray(Image.open(tmp_path / "run" / "samples" / "samples_epoch_001.png"))
    scale = grid.shape[1] // (4 * 8 + 3)  # 4 x 4 images of 8 px, 1 px apart
    assert grid.shape[:2] == (scale * (4 * 8 + 3),) * 2
    assert 0 < run.summary["sample_grid_seconds"] <= run.summary["train_seconds"]


def test_plot_history(tmp_path):
    path = plot_history({"loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2]}, str(tmp_path / "c.png"))
    assert Image.open(path).size[0] > 100


def test_fid_callback_measures_the_first_epoch_then_every_n():
    """The first epoch of each fit is measured too, so a CSV log (whose columns come from its
    first row) keeps the `fid` column; the preset's curve was lost from history.csv without it."""
    from keras_gen.callbacks import FIDCallback

    class Features:
        def features(self, images):
            return np.asarray(images, np.float64).reshape(len(images), -1)[:, :4]

    class Sampler:
        def sample(self, count, seed=0):
            return np.random.default_rng(seed).uniform(size=(count, 2, 2, 1))

    reference = np.random.default_rng(9).uniform(size=(50, 2, 2, 1))
    callback = FIDCallback(reference, every=3, num_images=50, extractor=Features())
    callback.set_model(Sampler())
    logs = []
    callback.on_train_begin()
    for epoch in range(6):
        logs.append({})
        callback.on_epoch_end(epoch, logs[-1])
    assert [epoch for epoch, _ in callback.history] == [1, 3, 6]
    assert "fid" in logs[0] and "fid" not in logs[1]
    callback.on_train_begin()  # a resumed fit: its first epoch is measured again
    callback.on_epoch_end(6, {})
    assert callback.history[-1][0] == 7
