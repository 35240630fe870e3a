"""Callbacks shared by every family."""

from __future__ import annotations

import os
import time

import keras
import numpy as np

from keras_gen.plots import save_image_grid


class SampleGrid(keras.callbacks.Callback):
    """Save a PNG grid of what the model makes after every epoch, as its `preview` trait says.

    Generators (`preview == "samples"`) show `model.sample(num_images, seed)`; the seed is
    fixed, so successive grids show the same draws as training goes on. Models that map images
    to images (`preview` names the method: `reconstruct`, `translate`) show rows of
    `reference_images` (in [0, 1]) above rows of their outputs. With `log_dir`, the grid is
    also written as a TensorBoard image summary. `seconds` adds up what drawing them cost.

    Examples:
        >>> import tempfile
        >>> callback = SampleGrid(tempfile.mkdtemp(), num_images=16)
    """

    def __init__(self, out_dir, num_images=64, seed=0, log_dir=None, every=1,
                 reference_images=None):
        super().__init__()
        self.reference_images = reference_images
        self.out_dir = out_dir
        self.num_images = int(num_images)
        self.seed = seed
        self.log_dir = log_dir
        self.every = max(int(every), 1)
        self.paths = []
        self.seconds = 0.0  # spent drawing and writing grids, for the run's summary
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        started = time.time()
        self._draw(epoch)
        self.seconds += time.time() - started

    def _draw(self, epoch):
        path = os.path.join(self.out_dir, f"samples_epoch_{epoch + 1:03d}.png")
        if self.model.preview == "samples":
            images = np.asarray(self.model.sample(self.num_images, seed=self.seed))
            self.paths.append(save_image_grid(images, path))
        else:
            if self.reference_images is None:
                raise ValueError(f"SampleGrid needs reference_images to preview "
                                 f"{type(self.model).__name__}.{self.model.preview}")
            cols = 8
            count = max(cols, (self.num_images // 2) // cols * cols)
            inputs = np.asarray(self.reference_images[:count])
            cols = min(cols, len(inputs))
            inputs = inputs[: len(inputs) // cols * cols]
            outputs = np.asarray(getattr(self.model, self.model.preview)(inputs))
            rows = [np.concatenate([inputs[i:i + cols], outputs[i:i + cols]])
                    for i in range(0, len(inputs), cols)]
            images = np.concatenate(rows)
            self.paths.append(save_image_grid(images, path, cols=cols))
        if self.log_dir:
            import tensorflow as tf

            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
            with self._writer.as_default():
                tf.summary.image("samples", images[: min(len(images), 16)], step=epoch + 1, max_outputs=16)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class FIDCallback(keras.callbacks.Callback):
    """Every `every` epochs (and at the first epoch of each `fit`), FID of
    `model.sample(num_images)` to `reference_images`.

    Features come from a shipped evaluator (`keras_gen.metrics.ClassifierFeatures`): `extractor`,
    or the one `evaluator_for` picks for the reference images' channels (digits for grey, openmoji
    for colour); the value goes into the epoch's logs as `fid` and into `self.history` as
    (epoch, fid).

    Examples:
        >>> from keras_gen import data
        >>> callback = FIDCallback(data.load_arrays("mnist_5k", "test")[0], every=5)
    """

    def __init__(self, reference_images, every=5, num_images=1000, seed=0, extractor=None):
        super().__init__()
        from keras_gen.metrics import evaluator_features

        channels = int(np.shape(reference_images)[-1])
        self.extractor = extractor or evaluator_features(channels=channels)
        self.reference_features = self.extractor.features(reference_images)
        self.every = max(int(every), 1)
        self.num_images = int(num_images)
        self.seed = seed
        self.history = []

    def on_train_begin(self, logs=None):
        self.first_epoch = True

    def on_epoch_end(self, epoch, logs=None):
        # the first epoch of every fit is measured too: a CSV log takes its columns from its
        # first row, and would otherwise drop `fid` for good
        first, self.first_epoch = getattr(self, "first_epoch", False), False
        if (epoch + 1) % self.every and not first:
            return
        from keras_gen.metrics import frechet_distance_of_features

        images = np.asarray(self.model.sample(self.num_images, seed=self.seed))
        value = frechet_distance_of_features(self.extractor.features(images), self.reference_features)
        self.history.append((epoch + 1, value))
        if logs is not None:
            logs["fid"] = value


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss (raised by `StopOnNonFiniteLoss`)."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop training at the first batch whose logged losses hold a NaN or an infinity.

    Unlike `keras.callbacks.TerminateOnNaN`, which quietly sets `stop_training` and lets the
    caller save a broken model, this raises `NonFiniteLossError` naming every bad loss, the
    epoch and the step, so nothing downstream (checkpoint, export) runs on garbage weights.

    Examples:
        >>> callback = StopOnNonFiniteLoss()
        >>> callback.on_epoch_begin(0)
        >>> callback.on_train_batch_end(3, {"loss": 1.0})  # finite: nothing happens
    """

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.global_step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = int(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self.global_step += 1
        bad = {name: float(value) for name, value in (logs or {}).items()
               if np.ndim(value) == 0 and not np.isfinite(float(value))}
        if bad:
            names = ", ".join(f"{name}={value}" for name, value in sorted(bad.items()))
            raise NonFiniteLossError(
                f"non-finite loss at epoch {self.epoch + 1}, step {int(batch) + 1} "
                f"(global step {self.global_step}): {names}; training stopped")


class TimeBudget(keras.callbacks.Callback):
    """Stop training once `seconds` of wall-clock time have passed since `fit` began.

    Checked after every batch, so training overshoots the budget by at most one step (and the
    end-of-epoch work of the epoch it stops in). `steps` counts the batches trained. With
    `decay`, every optimizer's learning rate also falls linearly with the time spent, from its
    starting value to 0 at the end of the budget (a budget-aware schedule, Li et al. 2020:
    "Budgeted training"), so a fixed-time run ends annealed instead of mid-stride.

    Examples:
        >>> budget = TimeBudget(seconds=0.0)
        >>> budget.on_train_begin()
        >>> budget.on_train_batch_end(0)
        >>> budget.stopped, budget.steps
        (True, 1)
    """

    def __init__(self, seconds, decay=False):
        super().__init__()
        if not float(seconds) >= 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self.seconds = float(seconds)
        self.decay = bool(decay)
        self.start = None
        self.steps = 0
        self.stopped = False
        self.start_rates = []  # (optimizer, its starting learning rate) per slot, when decaying

    def on_train_begin(self, logs=None):
        self.start, self.steps, self.stopped = time.perf_counter(), 0, False
        if self.decay and self.model is not None:
            optimizers = (self.model.unscaled_optimizers()
                          if hasattr(self.model, "unscaled_optimizers") else {"": self.model.optimizer})
            if not all(hasattr(opt.learning_rate, "assign") for opt in optimizers.values()):
                raise ValueError("TimeBudget(decay=True) needs fixed learning rates, not schedules")
            self.start_rates = [(opt, float(keras.ops.convert_to_numpy(opt.learning_rate)))
                                for opt in optimizers.values()]

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        spent = time.perf_counter() - self.start
        if self.start_rates:
            left = max(0.0, 1.0 - spent / self.seconds) if self.seconds else 0.0
            for opt, rate in self.start_rates:
                opt.learning_rate.assign(rate * left)
        if spent >= self.seconds:
            self.stopped = True
            if self.model is not None:
                self.model.stop_training = True


class EpochCheckpoint(keras.callbacks.Callback):
    """Save the weights after every epoch to `pattern.format(epoch=n)` (n from 1), atomically.

    Each file is written under a temporary name and renamed, so a run killed while saving
    leaves the earlier epochs' files whole and no half-written one.

    Examples:
        >>> EpochCheckpoint("runs/vae/checkpoints/epoch_{epoch:03d}.weights.h5").pattern[-11:]
        '.weights.h5'
    """

    def __init__(self, pattern):
        super().__init__()
        if not pattern.endswith(".weights.h5"):
            raise ValueError(f"checkpoint files must end in .weights.h5, got {pattern!r}")
        self.pattern = pattern

    def on_epoch_end(self, epoch, logs=None):
        path = self.pattern.format(epoch=epoch + 1)
        folder, name = os.path.split(path)
        os.makedirs(folder or ".", exist_ok=True)
        staging = os.path.join(folder, f".partial-{name}")
        self.model.save_weights(staging)
        os.replace(staging, path)
