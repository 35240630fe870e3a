"""The shared training core: optimizer slots, loss scaling, trackers and distributed reductions."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen.training import GenerativeModel, reduce_loss


class Regressor(GenerativeModel):
    """A linear model whose per-example loss is the squared error (deterministic)."""

    loss_names = ("loss", "abs_error")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1, kernel_initializer="ones", dtype="float32")

    def call(self, x):
        return self.dense(x)

    def compute_losses(self, data, training=False):
        x, y = data
        error = self(x)[:, 0] - y
        return {"loss": keras.ops.square(error), "abs_error": keras.ops.abs(error)}


class TwoSlots(GenerativeModel):
    """Two sub-networks stepped by two optimizers, like a GAN's generator and discriminator."""

    optimizer_names = ("first", "second")
    loss_names = ("first_loss", "second_loss")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a = keras.layers.Dense(1, kernel_initializer="ones")
        self.b = keras.layers.Dense(1, kernel_initializer="ones")

    def build(self, input_shape=None):
        self.a.build((None, 2))
        self.b.build((None, 2))
        self.built = True

    def train_step(self, data):
        x = data
        with tf.GradientTape(persistent=True) as tape:
            first = keras.ops.square(self.a(x)[:, 0])
            second = keras.ops.square(self.b(x)[:, 0] - 1.0)
            scaled_first = self.scaled_loss("first", first)
            scaled_second = self.scaled_loss("second", second)
        self.optimize("first", tape, scaled_first, self.a.trainable_variables)
        self.optimize("second", tape, scaled_second, self.b.trainable_variables)
        return self.update_trackers({"first_loss": first, "second_loss": second})


def test_default_train_step_reports_every_loss_name():
    model = Regressor()
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    x, y = np.ones((16, 3), "float32"), np.zeros(16, "float32")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y))
    assert set(history.history) == {"loss", "abs_error", "val_loss", "val_abs_error"}
    assert history.history["loss"][0] == pytest.approx(9.0, rel=0.2)  # (3 * 1)^2 at the start
    assert history.history["loss"][1] < history.history["loss"][0]


def test_one_optimizer_is_copied_per_slot_and_dict_is_checked():
    model = TwoSlots()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    first, second = model.get_optimizer("first"), model.get_optimizer("second")
    assert first is not second and second.get_config()["learning_rate"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="missing"):
        model.compile(optimizer={"first": "sgd"})
    with pytest.raises(ValueError, match="unexpected"):
        model.compile(optimizer={"first": "sgd", "second": "sgd", "third": "sgd"})


def test_two_optimizers_each_step_their_own_variables():
    model = TwoSlots()
    model.compile(optimizer={"first": keras.optimizers.SGD(0.1), "second": keras.optimizers.SGD(0.0)})
    model.fit(np.ones((8, 2), "float32"), batch_size=8, epochs=1, verbose=0)
    np.testing.assert_array_less(model.a.kernel.numpy(), 1.0)  # moved by "first"
    np.testing.assert_array_equal(model.b.kernel.numpy(), np.ones((2, 1)))  # lr 0: untouched
    assert model.get_optimizer("first").iterations.numpy() == 1
    assert model.get_optimizer("second").iterations.numpy() == 1


@pytest.mark.parametrize("policy, scaled", [("float32", False), ("mixed_bfloat16", False),
                                            ("mixed_float16", True)])
def test_loss_scaling_wraps_every_optimizer_only_for_float16(policy, scaled):
    keras.mixed_precision.set_global_policy(policy)
    model = TwoSlots()
    model.compile(optimizer="adam")
    for slot in model.optimizer_names:
        opt = model.get_optimizer(slot)
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer) is scaled
        value = float(opt.scale_loss(tf.constant(2.0)))
        assert (value > 2.0) if scaled else value == 2.0
    history = model.fit(np.ones((8, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["first_loss"][0])


def test_reduce_loss_divides_by_global_batch_under_mirrored_strategy(mirrored_strategy):
    strategy = mirrored_strategy
    per_replica_values = [tf.constant([1.0, 2.0, 3.0]), tf.constant([4.0, 5.0, 6.0])]
    values = strategy.experimental_distribute_values_from_function(
        lambda ctx: per_replica_values[ctx.replica_id_in_sync_group]
    )
    reduced = strategy.run(reduce_loss, args=(values,))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, reduced, axis=None)
    assert float(total) == pytest.approx(np.mean([1, 2, 3, 4, 5, 6]))
    scalar = strategy.run(lambda: reduce_loss(tf.constant(8.0)))
    assert float(strategy.reduce(tf.distribute.ReduceOp.SUM, scalar, axis=None)) == pytest.approx(8.0)


def test_mirrored_training_matches_single_device(mirrored_strategy):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = rng.normal(size=32).astype("float32")

    def train(strategy):
        with strategy.scope():
            model = Regressor()
            model.compile(optimizer=keras.optimizers.SGD(0.05))
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
        history = model.fit(ds, epochs=3, verbose=0)
        return model.dense.kernel.numpy(), history.history["loss"]

    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    single_kernel, single_loss = train(tf.distribute.OneDeviceStrategy(devices[0]))
    mirrored_kernel, mirrored_loss = train(mirrored_strategy)
    np.testing.assert_allclose(mirrored_kernel, single_kernel, rtol=1e-5)
    np.testing.assert_allclose(mirrored_loss, single_loss, rtol=1e-5)


def test_training_requires_compile():
    with pytest.raises(RuntimeError, match="compiled"):
        TwoSlots().get_optimizer()


def test_float16_step_unscales_gradients_like_float32():
    x, y = np.ones((8, 3), "float32"), np.zeros(8, "float32")
    kernels = {}
    for policy in ("float32", "mixed_float16"):
        keras.mixed_precision.set_global_policy(policy)
        model = Regressor()
        model.compile(optimizer=keras.optimizers.SGD(0.01))
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        kernels[policy] = model.dense.kernel.numpy()
    # a missing unscale would multiply the step by the loss scale (32768)
    np.testing.assert_allclose(kernels["mixed_float16"], kernels["float32"], rtol=1e-3)
    assert not np.allclose(kernels["float32"], 1.0)


def test_networks_take_the_model_dtype_policy():
    from keras_gen.models import VAE, AutoEncoder

    vae = VAE(latent_dim=2, filters=(4, 4), dense_units=8, dtype="mixed_float16")
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert vae.encoder.get_layer("conv_0").compute_dtype == "float16"
    assert vae.encoder.get_layer("mean").compute_dtype == "float32"
    ae = AutoEncoder(latent_dim=2, units=(4,), dtype="mixed_bfloat16")
    assert ae.encoder.layers[2].compute_dtype == "bfloat16"


def test_a_time_budget_stops_training_after_the_step_that_spends_it():
    from keras_gen.training import TrainingRun

    run = TrainingRun("autoencoder", epochs=50, steps_per_epoch=3, time_budget_s=1e-6, verbose=0,
                      validation=False, model_args={"latent_dim": 2, "units": (8,)})
    summary = run.run()
    assert summary["train_steps"] == 1 and summary["stopped_by_time_budget"] is True
    long = TrainingRun("autoencoder", epochs=2, steps_per_epoch=3, time_budget_s=3600.0, verbose=0,
                       validation=False, model_args={"latent_dim": 2, "units": (8,)}).run()
    assert long["train_steps"] == 6 and long["stopped_by_time_budget"] is False
    with pytest.raises(ValueError, match="time_budget_s must be a finite number of seconds > 0"):
        TrainingRun("autoencoder", time_budget_s=0)


def test_a_decaying_time_budget_lowers_every_slots_learning_rate_with_the_time_spent(monkeypatch):
    from keras_gen import callbacks
    from keras_gen.models import GAN

    model = GAN(latent_dim=4, units=(16,), image_shape=(8, 8, 1), dtype="mixed_float16")
    model.compile(optimizer={"generator": keras.optimizers.Adam(2e-3),
                             "discriminator": keras.optimizers.Adam(1e-3)})
    clock = [100.0]
    monkeypatch.setattr(callbacks.time, "perf_counter", lambda: clock[0])
    budget = callbacks.TimeBudget(10.0, decay=True)
    budget.set_model(model)
    budget.on_train_begin()

    def rates():  # through the loss-scale wrappers mixed_float16 adds
        return {name: float(opt.inner_optimizer.learning_rate)
                for name, opt in model.optimizers_by_name.items()}

    clock[0] = 102.5
    budget.on_train_batch_end(0)
    np.testing.assert_allclose(list(rates().values()), [1.5e-3, 0.75e-3], rtol=1e-6)
    assert not budget.stopped
    clock[0] = 111.0
    budget.on_train_batch_end(1)
    assert rates() == {"generator": 0.0, "discriminator": 0.0} and budget.stopped
    model.compile(optimizer=keras.optimizers.Adam(
        keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5)))
    with pytest.raises(ValueError, match="needs fixed learning rates"):
        budget.on_train_begin()
    from keras_gen.training import TrainingRun

    run = TrainingRun("autoencoder", epochs=1, steps_per_epoch=2, time_budget_s=3600.0,
                      decay_over_budget=True, learning_rate=1e-3, verbose=0, validation=False,
                      model_args={"latent_dim": 2, "units": (8,)})
    monkeypatch.undo()
    run.run()
    assert 0.0 < float(run.model.get_optimizer().learning_rate) < 1e-3  # a little of it spent
    with pytest.raises(ValueError, match="decay_over_budget needs time_budget_s"):
        TrainingRun("autoencoder", decay_over_budget=True)
