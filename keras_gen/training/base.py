"""The shared training core: `GenerativeModel`, the base class of every family, and the
family registry `FAMILIES`.

A family is a `GenerativeModel` subclass registered with `@register_family("name")`. It
declares its traits as class attributes (documented on `GenerativeModel`: `value_range`,
`batch_layout`, `preview`, `default_signature`, `layerwise_pretraining`, `smoke_config`),
its optimizer slots and loss names, builds its networks, and implements
`compute_losses(data, training)`; `updates()` says which slot minimises which loss on which
steps. The core does the rest:

- `compile(optimizer=...)` takes one optimizer, or a dict with one per slot
  (`optimizer_names`, for example `("generator", "discriminator")`);
- under the `mixed_float16` policy every optimizer is wrapped in
  `keras.optimizers.LossScaleOptimizer` and gradients are taken of `optimizer.scale_loss(loss)`
  (a no-op in float32 and bfloat16);
- per-example losses are reduced by dividing their sum by the *global* batch size, so gradients
  summed over `tf.distribute` replicas equal the single-device gradient;
- one `keras.metrics.Mean` tracker per loss name, exposed by `metrics` so Keras resets them each
  epoch and `fit` reports them;
- one `train_step` for every family: one forward pass (`compute_losses`) under one tape, then
  each `Update` in order, skipped on the steps it is not due (`every`, as WGAN's `n_critic`),
  followed by the family's `after_update(slot)` hook (EMA copies); one `test_step` that
  records `compute_losses(data, training=False)`.
"""

from __future__ import annotations

import contextlib
import functools
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from keras.src.backend.common.stateless_scope import in_stateless_scope

from keras_gen.training.optimizers import OptimizerSpec, slot_specs
from keras_gen.training.recipe import RECIPE_KINDS, Recipe


def reduce_loss(value):
    """Reduce a loss for gradients: per-example -> sum / global batch; a scalar -> / replicas.

    With one device this is the batch mean. Under `tf.distribute` each replica divides by the
    global batch size, so the sum of replica gradients (what the optimizer applies) is the
    gradient of the mean over the global batch.
    """
    value = tf.cast(value, tf.float32)
    if value.shape.rank == 0:
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return value / float(replicas)
    return tf.nn.compute_average_loss(value)


def global_batch_mean(values):
    """Mean over axis 0 of `values` across the whole global batch, on every replica.

    A batch statistic inside a loss (the sparse autoencoder's mean activation) must be the
    statistic of the global batch for a data-parallel step to equal a one-device step, so
    replicas all-reduce their sums and counts (the all-reduce passes gradients back too).

    Examples:
        >>> float(global_batch_mean(tf.constant([[1.0], [3.0]]))[0])
        2.0
    """
    values = tf.cast(values, tf.float32)
    total = tf.reduce_sum(values, axis=0)
    count = tf.cast(tf.shape(values)[0], tf.float32)
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        total, count = context.all_reduce(tf.distribute.ReduceOp.SUM, [total, count])
    return total / count


def run_when(condition, step, *args):
    """Run `step(*args)` (which applies gradients) only where the boolean `condition` holds.

    One device: a plain `tf.cond`. Under a multi-replica `tf.distribute` strategy an optimizer
    step inside a replica-context `tf.cond` is not allowed (it holds a `merge_call`), so the
    condition is taken in cross-replica context and the step runs for each replica there, as
    Keras's LossScaleOptimizer does. `condition` must be the same on every replica.
    """
    context = tf.distribute.get_replica_context()
    if (context is None or context.num_replicas_in_sync == 1
            or tf.__internal__.distribute.strategy_supports_no_merge_call()):
        tf.cond(condition, lambda: step(*args), lambda: None)
        return

    def cross_replica(distribution, condition, *args):
        flag = distribution.experimental_local_results(condition)[0]
        tf.cond(flag, lambda: distribution.extended.call_for_each_replica(step, args=args),
                lambda: None)

    context.merge_call(cross_replica, args=(condition, *args))


def warmed_up_decay(decay, steps):
    """EMA decay with the usual warm-up, `min(decay, (1 + n) / (10 + n))` after n updates, so
    early averages are not dominated by the random initial weights (0.999 ** 1000 is still
    0.37).

    Examples:
        >>> round(float(warmed_up_decay(0.999, 0)), 3), round(float(warmed_up_decay(0.999, 10 ** 6)), 3)
        (0.1, 0.999)
    """
    steps = tf.cast(steps, tf.float32)
    return tf.minimum(tf.cast(decay, tf.float32), (1.0 + steps) / (10.0 + steps))


def update_moving_average(average_model, model, decay):
    """Move every weight of `average_model` towards the same weight of `model` (an EMA copy)."""
    for average, current in zip(average_model.weights, model.weights):
        average.assign(decay * average + (1.0 - decay) * tf.cast(current, average.dtype))


def start_average(average_model, model):
    """Start an EMA copy at `model`'s weights. Under a stateless scope (a footprint estimate,
    which builds a model without allocating it) there are no values to copy, and reading them
    would allocate them."""
    if not in_stateless_scope():
        average_model.set_weights(model.get_weights())


def _replica_mean(value):
    """The value a tracker records: this replica's batch mean (trackers average replicas)."""
    value = tf.cast(value, tf.float32)
    return value if value.shape.rank == 0 else tf.reduce_mean(value)


def first_element(data):
    """The images of a batch that may be `images`, `(images,)` or `(images, labels, ...)`."""
    if isinstance(data, (tuple, list)):
        return data[0]
    return data


FAMILIES = {}

BATCH_LAYOUTS = ("images", "labelled", "paired", "unpaired", "debiasing")


def register_family(name):
    """Class decorator: register a `GenerativeModel` subclass as family `name` in `FAMILIES`
    (what the training run's command line, the shared tests and the benchmarks enumerate) and as a Keras
    serializable class (package `keras_gen`), so `.keras` files and presets load it.

    Examples:
        >>> FAMILIES["vae"].__name__
        'VAE'
    """
    def register(cls):
        if FAMILIES.get(name, cls) is not cls:
            raise ValueError(f"family {name!r} is already registered to {FAMILIES[name].__name__}")
        if cls.batch_layout not in BATCH_LAYOUTS:
            raise ValueError(f"{cls.__name__}.batch_layout must be one of {BATCH_LAYOUTS}, "
                             f"got {cls.batch_layout!r}")
        cls = keras.saving.register_keras_serializable(package="keras_gen")(cls)
        cls.family_name = name
        FAMILIES[name] = cls
        return cls

    return register


class Update(NamedTuple):
    """One optimizer step of a training step: slot `slot` minimises `losses[loss]`.

    `every=k` applies it only on training steps whose index (`training_steps()`, counted
    before the step) is a multiple of k: WGAN's generator takes one step per `n_critic`
    critic steps. Several updates of one slot are summed into one step of that slot, each
    while it is due: a lazy regulariser (StyleGAN's R1 every 16 steps) is
    `Update("discriminator", "r1_penalty", every=16)` beside the slot's every-step loss. A loss
    that is not due is multiplied by 0, so it must be finite on every step: compute a costly
    or unstable one only when `is_due(every)` (under `tf.cond`), returning 0 otherwise.

    Examples:
        >>> Update("generator", "g_loss", every=5).every
        5
    """

    slot: str
    loss: str
    every: int = 1


#: The largest latent value (`z`, `w`) an exported signature takes (`input_ranges`).
LATENT_LIMIT = 1e4
#: The largest truncation (threshold or psi) an exported signature takes.
MAX_TRUNCATION = 10.0


class GenerativeModel(keras.Model):
    """Base class of keras_gen models (traits, optimizer slots, loss scaling, trackers, steps).

    Subclasses set `optimizer_names` and `loss_names`, implement `compute_losses`, and
    override `updates()` when they step more than one optimizer (the default minimises the
    first loss name with the first slot). The class attributes below are the family's traits,
    read by the data side, the training run, callbacks, export and the shared tests.

    Generation uses one vocabulary in every family that generates:
    `sample(num_images, seed=0, **conditions)` (NumPy images in [0, 1] from a fixed seed),
    `sample_from_seeds(seeds, **conditions)` (one image per integer seed, traceable: the
    exported `sample` signature), and, in families with a latent code,
    `generate_from(z, **conditions)`. Conditions are keywords such as `labels=`.

    Examples:
        >>> import keras, numpy as np
        >>> class Regressor(GenerativeModel):
        ...     loss_names = ("loss",)
        ...     def __init__(self, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.dense = keras.layers.Dense(1)
        ...     def call(self, x):
        ...         return self.dense(x)
        ...     def compute_losses(self, data, training=False):
        ...         x, y = data
        ...         return {"loss": keras.ops.square(self(x)[:, 0] - y)}
        >>> model = Regressor()
        >>> model.compile(optimizer="sgd")
        >>> history = model.fit(np.ones((8, 2)), np.ones(8), verbose=0)
        >>> sorted(history.history)
        ['loss']
    """

    optimizer_names = ("optimizer",)
    #: What `default_optimizer` builds: one `OptimizerSpec` for every slot, or `{slot: spec}`.
    optimizer_spec = OptimizerSpec(1e-3)
    loss_names = ("loss",)

    #: The family's name in `FAMILIES` (set by `register_family`).
    family_name = None
    #: Range of the training images the model expects; the data loaders scale to it. What the
    #: model returns to users (samples, reconstructions, exports) is always in [0, 1].
    value_range = (0.0, 1.0)
    #: What one training batch holds: "images"; "labelled" `(images, int labels)`; "paired"
    #: `(inputs, targets)`, aligned; "unpaired" `(x, y)` from two domains; "debiasing"
    #: `(images, 0/1 labels)` resampled each epoch by the model's latent density (DB-VAE).
    batch_layout = "images"
    #: What sample grids show: "samples" (`sample`), or the name of an images -> images method
    #: ("reconstruct", "translate") shown below the images it was given.
    preview = "samples"
    #: Images in the training run's end-of-epoch grid (`keras_gen.callbacks.SampleGrid`).
    grid_images = 64
    #: The exported signature that `serving_default` repeats (a key of `serving_endpoints()`).
    default_signature = None
    #: Whether `pretrain_layerwise` trains anything (greedy layer-wise pretraining).
    layerwise_pretraining = False
    #: The smallest constructor arguments that build the family on 16x16x1 images; the shared
    #: tests build every registered family from it.
    smoke_config = None
    #: Image shape `(height, width, channels)` the model works on (set by each family).
    image_shape = None
    #: The family's default run (`keras_gen.training.recipe.Recipe`): what `apps/train.py`
    #: and the family's shipped preset train when nothing says otherwise.
    recipe = Recipe()
    #: The recipe the family's shipped preset is trained with (`apps/make_presets.py`,
    #: `apps/train.py <family> --recipe preset`): the best its benchmark found for a long
    #: budget; `None`: the quick `recipe` is also the preset's. A family's own, never
    #: inherited (ProGAN is a WGAN_GP but does not train on WGAN-GP's digits).
    preset_recipe = None
    # Facts measured or chosen per family, read with `declared` (a family's own, never a
    # parent's: a subclass that inherited them would claim its parent's measurements).
    #: Training draws no noise inside `train_step`: two replicas equal one device exactly
    #: (the shared tests check it of every family that says so).
    deterministic_training = False
    #: XLA measured faster than plain graphs for this family on a CPU in every fresh process
    #: of `benchmarks/speed_spread.py`; `jit_compile="auto"` turns it on there.
    xla_faster_on_cpu = False
    #: Constructor arguments of `benchmarks/speed.py` (28x28 digits, at the sizes the docs use).
    benchmark_config = None
    #: The keras.io-style reference `benchmarks/speed.py` times the family against, on the
    #: same networks (a key of `benchmarks/reference_models.REFERENCES`; None: no reference).
    benchmark_reference = None
    #: The family's shipped preset (`keras_gen.presets.PresetSpec`): its name, card text and
    #: headline; None: the family ships none.
    preset = None

    @classmethod
    def declared(cls, name):
        """A family fact that is the family's own (`deterministic_training`,
        `xla_faster_on_cpu`, `benchmark_config`, `benchmark_reference`, `preset`,
        `preset_recipe`): the class's own value, or the base class's default, never a parent
        family's.

        Examples:
            >>> FAMILIES["dcgan"].declared("benchmark_config") == FAMILIES["gan"].benchmark_config
            False
        """
        return vars(cls)[name] if name in vars(cls) else getattr(GenerativeModel, name)

    @classmethod
    def recipe_named(cls, kind):
        """The family's `"quick"` default (`recipe`) or its `"preset"` recipe (`preset_recipe`,
        or the quick one where the family declares none).

        Examples:
            >>> FAMILIES["vae"].recipe_named("preset") == FAMILIES["vae"].recipe
            True
        """
        if kind not in RECIPE_KINDS:
            raise ValueError(f"recipe must be one of {RECIPE_KINDS}, got {kind!r}")
        own = cls.declared("preset_recipe")
        return cls.recipe if kind == "quick" or own is None else own

    @classmethod
    def layout_for(cls, config):
        """The batch layout of a model built with constructor arguments `config`: the class's
        `batch_layout`, unless a family's layout depends on its arguments (SAGAN takes
        `(images, labels)` only when `conditional=True`); such a family sets `batch_layout`
        on the instance to match. The data side asks this before the model exists.

        Examples:
            >>> FAMILIES["vae"].layout_for({})
            'images'
        """
        return cls.batch_layout

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}
        self.optimizers_by_name = {}

    @contextlib.contextmanager
    def network_policy(self):
        """Build networks inside this block so their layers take the model's dtype policy.

        `VAE(dtype="mixed_float16")`, or a `.keras` file saved under that policy and loaded in
        a float32 process, then computes in float16 like the model says.
        """
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(self.dtype_policy)
        try:
            yield
        finally:
            keras.mixed_precision.set_global_policy(previous)

    # ------------------------------------------------------------------ input checks
    def check_training_data(self, x, y=None):
        """Raise a ValueError naming the problem when `fit` data cannot suit this model:
        images of the wrong rank, size or channel count, or labels out of range."""
        expected = self.image_shape
        if expected is None or x is None:
            return
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            first = spec[0] if isinstance(spec, (tuple, list)) else spec
            actual = tuple(first.shape)
            labels = None
        else:
            first = x[0] if isinstance(x, (tuple, list)) else x
            actual = tuple(np.shape(first))
            labels = y if y is not None else (x[1] if isinstance(x, (tuple, list)) and len(x) > 1 else None)
        name = type(self).__name__
        wanted = f"(batch, {', '.join(str(d) for d in expected)})"
        if len(actual) != len(expected) + 1:
            raise ValueError(f"{name} expects batches of images shaped {wanted}; the training data "
                             f"has rank {len(actual)} (shape {actual})")
        if any(a is not None and a != e for a, e in zip(actual[1:-1], expected[:-1])):
            raise ValueError(f"{name} expects images of size {tuple(expected[:-1])}; the training "
                             f"data has {tuple(actual[1:-1])} (resize it, or build the model with "
                             f"image_shape={tuple(actual[1:])})")
        if actual[-1] is not None and actual[-1] != expected[-1]:
            raise ValueError(f"{name} expects {expected[-1]} channel(s); the training data has "
                             f"{actual[-1]}")
        if (labels is not None and self.batch_layout == "labelled"
                and not isinstance(labels, tf.data.Dataset)):
            self.one_hot(np.asarray(labels))  # raises on labels out of range

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, after `check_training_data` (so bad data fails before training)."""
        self.check_training_data(x, y)
        return super().fit(x, y, *args, **kwargs)

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="adam", **kwargs):
        """Configure training with one optimizer, or a dict `{slot: optimizer}` for each slot.

        With one optimizer and several slots, each slot gets its own copy (from its config).
        Other keyword arguments (`jit_compile`, `steps_per_execution`, `run_eagerly`) go to
        `keras.Model.compile`.
        """
        kwargs.pop("loss", None)
        self._compile_options = {key: kwargs[key] for key in
                                 ("jit_compile", "steps_per_execution", "run_eagerly") if key in kwargs}
        if isinstance(optimizer, dict):
            missing = set(self.optimizer_names) - set(optimizer)
            extra = set(optimizer) - set(self.optimizer_names)
            if missing or extra:
                raise ValueError(
                    f"{type(self).__name__} needs optimizers for {self.optimizer_names}; "
                    f"missing {sorted(missing)}, unexpected {sorted(extra)}"
                )
            chosen = {name: keras.optimizers.get(optimizer[name]) for name in self.optimizer_names}
        else:
            base = keras.optimizers.get(optimizer)
            chosen = {self.optimizer_names[0]: base}
            for name in self.optimizer_names[1:]:
                chosen[name] = type(base).from_config(base.get_config())
        if self.dtype_policy.name == "mixed_float16":
            chosen = {
                name: opt
                if isinstance(opt, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(opt, name=f"{name}_loss_scale")
                for name, opt in chosen.items()
            }
        self.optimizers_by_name = chosen
        # Keras drives iteration counts, callbacks and checkpoints from `self.optimizer`.
        super().compile(
            optimizer=chosen[self.optimizer_names[0]], auto_scale_loss=False, **kwargs
        )
        for name, opt in chosen.items():
            if name != self.optimizer_names[0]:
                setattr(self, f"{name}_optimizer", opt)
        if self.built:
            # built now, outside any tf.function, so a step may apply one conditionally
            # (tf.cond) and a `.keras` file's optimizer state can be restored
            for name, opt in chosen.items():
                if not opt.built:
                    opt.build(self.variables_for(name))

    @classmethod
    def optimizer_specs(cls, learning_rate=None, learning_rates=None):
        """`{slot: OptimizerSpec}`: the family's `optimizer_spec`, with `learning_rate` for
        every slot and then `learning_rates` (`{slot: rate}`) on top (`keras_gen.training.optimizers`)."""
        return slot_specs(cls.optimizer_spec, cls.optimizer_names, learning_rate, learning_rates,
                          owner=cls.__name__)

    def default_optimizer(self, learning_rate=None, learning_rates=None):
        """`{slot: optimizer}` built from `optimizer_specs(learning_rate, learning_rates)`:
        what a `TrainingRun` compiles with."""
        return {slot: spec.build()
                for slot, spec in self.optimizer_specs(learning_rate, learning_rates).items()}

    def unscaled_optimizers(self):
        """`{slot: optimizer}` with any loss-scale wrapper taken off (what holds the learning
        rate and what a config stores)."""
        return {name: opt.inner_optimizer if isinstance(opt, keras.optimizers.LossScaleOptimizer)
                else opt for name, opt in self.optimizers_by_name.items()}

    def get_compile_config(self):
        if not self.optimizers_by_name:
            return None
        optimizers = {name: keras.optimizers.serialize(opt)
                      for name, opt in self.unscaled_optimizers().items()}
        return {"optimizer": optimizers, **getattr(self, "_compile_options", {})}

    def compile_from_config(self, config):
        """Compile from a saved compile config: one serialized Keras optimizer per slot of
        `optimizer_names`; anything else (a string, a layer, a missing slot) raises a
        `ValueError` naming what is wrong, before anything is deserialized."""
        if not isinstance(config, dict) or not isinstance(config.get("optimizer"), dict):
            raise ValueError(f"compile config must hold an 'optimizer' object with one "
                             f"optimizer per slot {list(self.optimizer_names)}")
        config = dict(config)
        saved = config.pop("optimizer")
        if sorted(saved) != sorted(self.optimizer_names):
            raise ValueError(f"compile config names optimizers {sorted(saved)}; "
                             f"{type(self).__name__}'s are {sorted(self.optimizer_names)}")
        optimizers = {}
        for name, value in saved.items():
            known = isinstance(value, dict) and isinstance(value.get("class_name"), str) and (
                isinstance(getattr(keras.optimizers, value["class_name"], None), type)
                and issubclass(getattr(keras.optimizers, value["class_name"]),
                               keras.optimizers.Optimizer))
            if not known:
                raise ValueError(f"compile config: optimizer {name!r} must be a serialized "
                                 f"Keras optimizer, got {str(value)[:80]}")
            optimizers[name] = keras.optimizers.deserialize(value)
        self.compile(optimizer=optimizers, **config)

    # ------------------------------------------------------------------ presets
    @classmethod
    def from_preset(cls, preset):
        """A trained model from a preset: a shipped name (`keras_gen.presets.list_presets()`)
        or a folder written by `save_to_preset`.

        Examples:
            >>> from keras_gen.models import VAE
            >>> VAE.from_preset("vae_mnist").latent_dim
            16
        """
        from keras_gen.presets import load_preset

        return load_preset(preset, expected_class=cls)

    def save_to_preset(self, preset_dir, metadata=None, readme=None, weights_dtype="float32"):
        """Write this model as a preset folder (config, weights in `weights_dtype`, metadata,
        check outputs, optional README)."""
        from keras_gen.presets import save_to_preset

        return save_to_preset(self, preset_dir, metadata=metadata, readme=readme,
                              weights_dtype=weights_dtype)

    def variables_for(self, slot):
        """The trainable variables optimizer `slot` updates (all of them for one slot)."""
        if len(self.optimizer_names) == 1:
            return self.trainable_variables
        raise NotImplementedError(f"{type(self).__name__} must say which variables {slot!r} updates")

    def get_optimizer(self, name=None):
        """The (possibly loss-scaled) optimizer of slot `name` (default: the first slot)."""
        if not self.optimizers_by_name:
            raise RuntimeError(f"{type(self).__name__} must be compiled before training")
        return self.optimizers_by_name[name or self.optimizer_names[0]]

    # ------------------------------------------------------------------ training
    @property
    def metrics(self):
        return list(self.trackers.values())

    def compute_losses(self, data, training=False):
        """Return `{loss_name: per-example (batch,) or scalar tensor}` for one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_losses")

    def scaled_loss(self, slot, loss):
        """`reduce_loss(loss)` multiplied by slot's loss scale; call it inside the tape."""
        return self.get_optimizer(slot).scale_loss(reduce_loss(loss))

    def optimize(self, slot, tape, scaled_loss, variables):
        """Take gradients of `scaled_loss` (from `scaled_loss`) and step the slot's optimizer.

        The LossScaleOptimizer unscales the gradients, skips the step on non-finite gradients
        and adapts its scale.
        """
        gradients = tape.gradient(scaled_loss, variables)
        self.get_optimizer(slot).apply_gradients(zip(gradients, variables))

    def optimize_when(self, condition, slot, tape, scaled_loss, variables, after=None):
        """`optimize(slot, ...)` (then `after()`) only on steps where `condition` holds.

        Under several replicas the gradients are taken on every step (outside the condition,
        which `tf.distribute` requires); on one device only when the step runs.
        """
        def step(gradients=None):
            if gradients is None:
                gradients = tape.gradient(scaled_loss, variables)
            self.get_optimizer(slot).apply_gradients(zip(gradients, variables))
            if after is not None:
                after()

        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            run_when(condition, step, tape.gradient(scaled_loss, variables))
        else:
            run_when(condition, step)

    def update_trackers(self, losses):
        """Record each named loss (replica batch mean) and return every tracker's value."""
        for name, value in losses.items():
            if name in self.trackers:
                self.trackers[name].update_state(_replica_mean(value))
        results = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces multi-worker step outputs with a MEAN along axis 0, which a scalar
            # lacks: hand it one-element vectors (the reduction returns scalars).
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    def updates(self):
        """The optimizer steps of one training step, in order (a tuple of `Update`).

        Default: the first slot minimises the first loss name, every step.
        """
        return (Update(self.optimizer_names[0], self.loss_names[0]),)

    def training_steps(self):
        """Training steps taken so far: the iteration count of the first slot that `updates()`
        steps every time (a step the loss scaler skips does not count)."""
        every_step = [update.slot for update in self.updates() if update.every == 1]
        if not every_step:
            raise ValueError(f"{type(self).__name__}.updates() needs one update with every=1")
        return self.get_optimizer(every_step[0]).iterations

    def is_due(self, every):
        """Whether an `Update(..., every=every)` applies on this step (a bool tensor), for
        families that also skip computing a lazy loss on the other steps."""
        return ops.equal(self.training_steps() % int(every), 0)

    def after_update(self, slot):
        """Called after each step of optimizer `slot` (EMA copies follow their network here)."""

    def before_step(self, data):
        """Called at the start of each training step with its batch: state that follows the
        training data rather than a gradient moves here (ProGAN's image count and growth,
        StyleGAN's mean w). Under `tf.distribute` it runs on every replica; a model variable
        it assigns needs an aggregation (`"only_first_replica"`)."""

    def train_step(self, data):
        self.before_step(data)
        updates = self.updates()
        slots = list(dict.fromkeys(update.slot for update in updates))
        # due flags are read before any optimizer steps (the step counter moves with them)
        due = {update: None if update.every == 1 else self.is_due(update.every)
               for update in updates}
        with tf.GradientTape(persistent=len(slots) > 1) as tape:
            losses = self.compute_losses(data, training=True)
            scaled = {}
            for slot in slots:
                total = 0.0
                for update in updates:
                    if update.slot == slot:
                        value = reduce_loss(losses[update.loss])
                        if due[update] is not None:
                            value = value * tf.cast(due[update], value.dtype)
                        total = total + value
                scaled[slot] = self.get_optimizer(slot).scale_loss(total)
        for slot in slots:
            flags = [due[update] for update in updates if update.slot == slot]
            variables = self.variables_for(slot)
            if any(flag is None for flag in flags):
                self.optimize(slot, tape, scaled[slot], variables)
                self.after_update(slot)
            else:
                condition = functools.reduce(tf.logical_or, flags)
                self.optimize_when(condition, slot, tape, scaled[slot], variables,
                                   after=functools.partial(self.after_update, slot))
        del tape
        return self.update_trackers(losses)

    def test_step(self, data):
        return self.update_trackers(self.compute_losses(data, training=False))

    # ------------------------------------------------------------------ generation hooks
    def sample(self, num_images, seed=0, **conditions):
        """`num_images` float32 images in [0, 1] (NumPy) drawn from the fixed seed `seed`."""
        raise NotImplementedError(f"{type(self).__name__} does not generate images")

    def sample_from_seeds(self, seeds, **conditions):
        """One image in [0, 1] per integer seed (a tensor; the same seed gives the same image)."""
        raise NotImplementedError(f"{type(self).__name__} does not generate images")

    def generate_from(self, z, **conditions):
        """Images in [0, 1] from latent codes `z`, in families with a latent code."""
        raise NotImplementedError(f"{type(self).__name__} has no latent code to generate from")

    def serving_endpoints(self):
        """`{signature_name: (function, [tf.TensorSpec, ...])}` for `keras_gen.export`.

        Functions return dicts of named float32 tensors; `default_signature` names the one
        that `serving_default` repeats.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no serving signatures")

    def input_ranges(self):
        """`{input name: (low, high)}`: the values each exported signature input may hold
        (inclusive; inputs not named here are checked for shape and finiteness only). A
        request outside them is refused with the range in its message, never clamped: latent
        codes within +-10,000 (a standard normal never comes near; 1e30 overflows to NaN
        images), truncation within +-10 (beyond about 4 it changes nothing). Families add
        their own (diffusion's `steps`, StyleGAN's `crossover`, PixelCNN's `known_rows`).

        Examples:
            >>> FAMILIES["vae"](latent_dim=2).input_ranges()["z"]
            (-10000.0, 10000.0)
        """
        return {"z": (-LATENT_LIMIT, LATENT_LIMIT), "w": (-LATENT_LIMIT, LATENT_LIMIT),
                "truncation": (-MAX_TRUNCATION, MAX_TRUNCATION)}

    def pretrain_layerwise(self, dataset, epochs_per_layer=1, steps_per_epoch=None, verbose=0):
        """Greedy layer-wise pretraining, in families whose `layerwise_pretraining` is True."""
        raise NotImplementedError(f"{type(self).__name__} has no layer-wise pretraining")

    def export_metadata(self):
        """Facts written to `assets/metadata.json` beside an exported SavedModel.

        The model's name and config, the shape and dtype of every signature input, and the
        image shape, latent size and output range where the model has them.
        """
        inputs, ranges = {}, self.input_ranges()
        for _, specs in self.serving_endpoints().values():
            for spec in specs:
                inputs[spec.name] = {"shape": [None, *spec.shape[1:]], "dtype": spec.dtype.name}
                if spec.name in ranges:
                    inputs[spec.name]["range"] = list(ranges[spec.name])
        meta = {"model": type(self).__name__, "config": self.get_config(), "inputs": inputs}
        if self.image_shape is not None:
            meta.update(image_shape=list(self.image_shape), output_range=[0.0, 1.0])
        if hasattr(self, "latent_dim"):
            meta["latent_dim"] = self.latent_dim
        if hasattr(self, "num_classes"):
            meta["num_classes"] = self.num_classes
        return meta
