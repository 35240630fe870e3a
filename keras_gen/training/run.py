"""One training run of any registered family: data, strategy, precision, XLA, callbacks, fit,
save, export and a run summary; the command-line app, the presets and the benchmarks all
train through it.

    run = TrainingRun("vae", epochs=5, out="runs/vae", export_dir="exported")
    summary = run.run()          # run.model and run.history hold the trained model

With `out=None` nothing is written (no checkpoints, logs or grids) and with `export_dir=None`
nothing is exported: a benchmark gets the model, its data and `fit` exactly as a user does.

Writes under `out`: `checkpoints/epoch_NNN.weights.h5` (one per epoch), `logs/` (TensorBoard,
with sample images), `samples/samples_epoch_NNN.png`, `history.csv`, `curves.png`,
`model.keras` and `summary.json`; then the SavedModel to `<export_dir>/<name>/<version>/`.
Killed mid-run, the same run resumes from the last completed epoch (`backup/`, Keras's
BackupAndRestore). A NaN or infinite loss raises `keras_gen.callbacks.NonFiniteLossError`
before anything is saved or exported.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_gen import data
from keras_gen.callbacks import (
    EpochCheckpoint,
    FIDCallback,
    SampleGrid,
    StopOnNonFiniteLoss,
    TimeBudget,
)
from keras_gen.export import export
from keras_gen.plots import plot_history
from keras_gen.training import footprint
from keras_gen.training.base import FAMILIES, first_element

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multiworker")


def resolve_jit(choice, family_name, strategy_name="default"):
    """XLA on or off: `"auto"` follows the measurements per device kind and family, `"on"`
    / `"off"` (or a bool) force it.

    Examples:
        >>> resolve_jit("off", "autoencoder"), resolve_jit("on", "vae")
        (False, True)
    """
    if isinstance(choice, bool):
        return choice
    if choice == "auto":
        if tf.config.list_physical_devices("GPU"):
            return True
        # as measured per family on CPUs (`xla_faster_on_cpu`); with a GPU, on for all
        return FAMILIES[family_name].declared("xla_faster_on_cpu") and strategy_name == "default"
    return choice == "on"


def make_strategy(name):
    """`(strategy, is_chief, worker_index)` for a strategy name (`STRATEGIES`).

    `multiworker` reads the cluster from the `TF_CONFIG` environment variable; it must be
    made before any other TensorFlow op runs.
    """
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(), True, 0
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("the multiworker strategy needs the TF_CONFIG environment variable")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        resolver = strategy.cluster_resolver
        task_type, index = resolver.task_type, int(resolver.task_id or 0)
        has_chief = "chief" in resolver.cluster_spec().as_dict()
        is_chief = task_type == "chief" or (task_type == "worker" and index == 0 and not has_chief)
        return strategy, is_chief, index
    return tf.distribute.get_strategy(), True, 0


def read_backup_epoch(backup_dir):
    """Epochs completed by an interrupted run whose BackupAndRestore folder is `backup_dir`."""
    path = os.path.join(backup_dir, "training_metadata.json")
    try:
        with open(path) as handle:
            return int(json.load(handle)["epoch"])
    except (OSError, ValueError, KeyError):
        return None


def trim_history(path, epochs_done):
    r"""Keep the header and the rows of the first `epochs_done` epochs of the CSV history at
    `path` (a row of a later epoch, even half written, was left by a run killed between that
    row and the backup that marks its epoch done; the resumed run writes it again).

    Examples:
        >>> import tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "history.csv")
        >>> _ = open(path, "w").write("epoch,loss\n0,0.5\n1,0.4\n2,0.3\n2,0.")
        >>> trim_history(path, 2); open(path).read()
        'epoch,loss\n0,0.5\n1,0.4\n'
    """
    if not os.path.exists(path):
        return
    with open(path) as handle:
        lines = handle.read().splitlines()
    kept = lines[:1]
    for line in lines[1:]:
        try:
            epoch = int(line.split(",", 1)[0])
        except ValueError:
            continue
        if epoch < epochs_done:
            kept.append(line)
    with open(path + ".tmp", "w") as handle:
        handle.write("".join(line + "\n" for line in kept))
    os.replace(path + ".tmp", path)


@dataclasses.dataclass
class TrainingRun:
    """Train family `family` (a name in `FAMILIES`) on `dataset` with `model.fit`.

    `model_args` go to the family's constructor (after what the data decides, such as
    `num_classes`); without `optimizer` (one optimizer, or a dict with one per
    slot) the model compiles with its family's declared optimizers (`optimizer_spec`),
    `learning_rate` then being every slot's rate and `learning_rates` (`{slot: rate}`) the rates
    of the slots it names.
    `jit_compile` is `"auto"`, `"on"`, `"off"` or a bool. `time_budget_s` stops training after that much wall-clock time (`epochs` is then
    the most it runs); `decay_over_budget` also lowers the learning rates linearly to 0 over
    it. Errors in the data or the model's arguments raise `ValueError` before training, and so
    does a model whose estimated training memory (`footprint.estimate`) passes
    `memory_budget_gb`, before it is built.

    Examples:
        >>> run = TrainingRun("autoencoder", epochs=1, steps_per_epoch=2, verbose=0,
        ...                   model_args={"latent_dim": 4, "units": (16,)})
        >>> sorted(run.run()["final_metrics"])[:2]
        ['loss', 'mse']
    """

    family: str = "vae"
    dataset: str = "mnist_5k"
    epochs: int = 40
    batch_size: int = 64
    steps_per_epoch: int | None = None
    learning_rate: float | None = None
    learning_rates: dict | None = None
    optimizer: object = None
    model_args: dict = dataclasses.field(default_factory=dict)
    image_size: tuple | None = None
    validation: bool = True
    drop_remainder: bool = False
    precision: str = "float32"
    jit_compile: object = "auto"
    strategy: str = "default"
    steps_per_execution: int = 1
    pretrain_epochs: int = 0
    fid_every: int = 0
    time_budget_s: float | None = None
    decay_over_budget: bool = False
    memory_budget_gb: float = footprint.DEFAULT_BUDGET_GB
    seed: int = 0
    out: str | None = None
    export_dir: str | None = None
    export_name: str | None = None
    verbose: int = 1

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; registered: {sorted(FAMILIES)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        for name, least in (("epochs", 1), ("batch_size", 1), ("steps_per_epoch", 1),
                            ("steps_per_execution", 1), ("pretrain_epochs", 0), ("fid_every", 0)):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < least):
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        if self.time_budget_s is not None and not 0 < float(self.time_budget_s) < math.inf:
            raise ValueError(f"time_budget_s must be a finite number of seconds > 0, got "
                             f"{self.time_budget_s!r}")
        # raises on a bad rate or a slot the family does not have, before anything is built
        self.family_class.optimizer_specs(self.learning_rate, self.learning_rates)
        if not 0 < float(self.memory_budget_gb) < math.inf:
            raise ValueError(f"memory_budget_gb must be a finite number of GB > 0, got "
                             f"{self.memory_budget_gb!r}")
        if self.decay_over_budget and self.time_budget_s is None:
            raise ValueError("decay_over_budget needs time_budget_s")
        if self.image_size is not None:
            self.image_size = tuple(self.image_size)
            if len(self.image_size) != 2 or min(self.image_size) < 4:
                raise ValueError(f"image_size must be (height, width), each at least 4, "
                                 f"got {self.image_size!r}")
        self.model = self.history = self.task = self.budget = None
        self.summary = {}

    @property
    def family_class(self):
        return FAMILIES[self.family]

    # ------------------------------------------------------------------ the steps
    def build(self):
        """Make the strategy, load the data and build and compile the model in its scope."""
        strategy, self.is_chief, worker_index = make_strategy(self.strategy)
        keras.utils.set_random_seed(self.seed)
        keras.mixed_precision.set_global_policy(self.precision)
        if self.out is not None and not self.is_chief:
            self.out = os.path.join(self.out, f"worker_{worker_index}")
        family = self.family_class
        if self.pretrain_epochs and not family.layerwise_pretraining:
            raise ValueError(f"{self.family} has no layer-wise pretraining")
        self.task = data.training_data(family, self.dataset, batch_size=self.batch_size,
                                       seed=self.seed, image_size=self.image_size,
                                       validation=self.validation,
                                       drop_remainder=self.drop_remainder,
                                       model_args=self.model_args)
        self.check_epoch_length()
        model_args = {**self.task.model_args, **self.model_args}
        try:  # the arguments' errors and a model too large for the budget, before building
            footprint.check(footprint.estimate(family, self.task.image_shape, self.batch_size,
                                               **model_args),
                            self.memory_budget_gb, what=f"{self.family} at these sizes")
        except (TypeError, ValueError) as err:
            raise ValueError(f"cannot build {self.family}: {err}") from err
        with strategy.scope():
            self.model = family(image_shape=self.task.image_shape, **model_args)
            optimizer = self.optimizer
            if optimizer is None:
                optimizer = self.model.default_optimizer(self.learning_rate, self.learning_rates)
            self.model.compile(optimizer=optimizer,
                               jit_compile=resolve_jit(self.jit_compile, self.family, self.strategy),
                               steps_per_execution=self.steps_per_execution)
        return self.model

    def check_epoch_length(self):
        """Refuse a batch size that leaves no whole batch of the training data, and a
        `steps_per_execution` longer than an epoch (Keras would run whole executions and so
        stretch the epoch past its steps)."""
        batches = int(self.task.train.cardinality())
        if batches == 0:
            raise ValueError(f"batch_size {self.batch_size} leaves no whole batch of the "
                             f"training data of {self.dataset!r}; use a smaller batch size")
        steps = self.steps_per_epoch or self.task.steps_per_epoch or (batches if batches > 0 else None)
        if steps and self.steps_per_execution > steps:
            raise ValueError(f"steps_per_execution {self.steps_per_execution} is more than the "
                             f"{steps} steps of one epoch; use at most {steps}")

    def callbacks(self):
        """The run folder's callbacks (none without `out`), after the data's own."""
        callbacks = [StopOnNonFiniteLoss(), *self.task.callbacks]
        if self.time_budget_s is not None:
            self.budget = TimeBudget(self.time_budget_s, decay=self.decay_over_budget)
            callbacks.append(self.budget)
        if self.out is None:
            return callbacks
        out, model = self.out, self.model
        reference = None
        if model.preview != "samples":  # images -> images: show inputs above outputs
            batch = next(iter(self.task.validation or self.task.train))
            low, high = model.value_range
            reference = (np.asarray(first_element(batch)) - low) / (high - low)
        backup_dir = os.path.join(out, "backup")
        # Order matters for a kill at any moment: an epoch's checkpoint and history row are
        # written before the backup that marks the epoch done (a kill in between re-runs it,
        # and `fit` first drops the rows of epochs the backup does not mark done).
        callbacks += [
            EpochCheckpoint(os.path.join(out, "checkpoints", "epoch_{epoch:03d}.weights.h5")),
            keras.callbacks.TensorBoard(os.path.join(out, "logs")),
            keras.callbacks.CSVLogger(os.path.join(out, "history.csv"), append=True),
            SampleGrid(os.path.join(out, "samples"), num_images=model.grid_images,
                       log_dir=os.path.join(out, "logs"), reference_images=reference),
            keras.callbacks.BackupAndRestore(backup_dir, save_freq="epoch",
                                             delete_checkpoint=True, double_checkpoint=True),
        ]
        if (self.fid_every and model.preview == "samples"
                and self.dataset in data.OFFLINE_SOURCES):
            # first, so CSVLogger and TensorBoard see the value in the same epoch; it reads the
            # test split itself, so it runs with or without per-epoch validation
            callbacks.insert(0, FIDCallback(data.load_arrays(self.dataset, "test",
                                                             image_size=self.image_size)[0],
                                            every=self.fid_every, num_images=1000))
        return callbacks

    def fit(self):
        """Pretrain (if asked), then `model.fit` with the run's callbacks."""
        resumed = None
        if self.out is not None:
            os.makedirs(os.path.join(self.out, "checkpoints"), exist_ok=True)
            resumed = read_backup_epoch(os.path.join(self.out, "backup"))
            if resumed is None and os.path.exists(os.path.join(self.out, "history.csv")):
                os.remove(os.path.join(self.out, "history.csv"))  # fresh; a resumed run appends
            if resumed is not None:
                trim_history(os.path.join(self.out, "history.csv"), resumed)
                print(f"resuming from the backup in {os.path.join(self.out, 'backup')}: "
                      f"{resumed} of {self.epochs} epochs done", flush=True)
        callbacks = self.callbacks()
        start = time.time()
        if self.pretrain_epochs:
            self.model.pretrain_layerwise(self.task.train, epochs_per_layer=self.pretrain_epochs,
                                          steps_per_epoch=self.steps_per_epoch, verbose=self.verbose)
        train = self.task.train
        if self.steps_per_epoch and int(train.cardinality()) >= 0:
            train = train.repeat()  # an epoch of steps_per_epoch may span several passes
        self.history = self.model.fit(
            train, epochs=self.epochs,
            steps_per_epoch=self.steps_per_epoch or self.task.steps_per_epoch,
            validation_data=self.task.validation, callbacks=callbacks,
            shuffle=False,  # the pipelines shuffle already
            verbose=self.verbose)
        self.summary = {"family": self.family, "dataset": self.dataset, "epochs": self.epochs,
                        "data_attribution": data.attribution(self.dataset),
                        "resumed_from_epoch": resumed,
                        "train_seconds": round(time.time() - start, 1),
                        # of which drawing the end-of-epoch grids
                        "sample_grid_seconds": round(sum(c.seconds for c in callbacks
                                                         if isinstance(c, SampleGrid)), 1),
                        "final_metrics": {k: float(v[-1]) for k, v in self.history.history.items()},
                        "run_dir": self.out}
        if self.budget is not None:
            self.summary.update(time_budget_s=self.time_budget_s, train_steps=self.budget.steps,
                                stopped_by_time_budget=self.budget.stopped)
        return self.history

    def export_metadata(self):
        """What the export records of the run: data (and its licence's attribution), epochs,
        precision, final metrics."""
        meta = {"training_data": self.dataset, "epochs": self.epochs,
                "precision": self.precision, "metrics": self.summary["final_metrics"]}
        attribution = data.attribution(self.dataset)
        if attribution:
            meta["data_attribution"] = attribution
        return meta

    def finish(self):
        """Save the curves, the `.keras` file and `summary.json`, and export (chief only)."""
        if self.out is not None:
            plot_history(self.history.history, os.path.join(self.out, "curves.png"))
            self.model.save(os.path.join(self.out, "model.keras"))
        if self.export_dir is not None and self.is_chief:
            self.summary["export"] = export(
                self.model, os.path.join(self.export_dir, self.export_name or self.family),
                metadata=self.export_metadata())
        if self.out is not None:
            with open(os.path.join(self.out, "summary.json"), "w") as handle:
                json.dump(self.summary, handle, indent=2)
        return self.summary

    def run(self):
        """Build, fit and finish; return the summary (the model is `self.model`)."""
        previous = keras.mixed_precision.global_policy()
        try:
            self.build()
            self.fit()
            return self.finish()
        finally:
            keras.mixed_precision.set_global_policy(previous)
