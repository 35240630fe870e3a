"""The family contract, checked the same way for every family in `FAMILIES`: declared traits,
config and `.keras` (safe mode) round trips, and the shared training step's schedule. (The
SavedModel half, every family's export run with TensorFlow alone, is checked on the exports of
the app's family runs: `app_family_runs.check_exports_run_with_tensorflow_alone`.) A family
registered with `register_family` is checked here with no edit to this file; one that does not
declare what the contract needs fails."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from family_cases import DETERMINISTIC, SHAPE, all_families, default_outputs, make_case
from keras_gen.models import FAMILIES
from keras_gen.training import BATCH_LAYOUTS, GenerativeModel, Update, register_family
from model_checks import check_config_round_trip, check_keras_file_round_trip


def test_the_registry_holds_every_family():
    assert {"vae", "beta_vae", "cvae", "dbvae", "autoencoder", "stacked_ae", "sparse_ae",
            "denoising_ae", "gan", "dcgan", "cgan", "wgan_gp", "pix2pix", "cyclegan", "pixelcnn",
            "pixelrnn", "diffusion", "sagan", "biggan", "progan", "stylegan"} <= set(FAMILIES)
    for name, family in FAMILIES.items():
        assert family.family_name == name
        assert keras.saving.get_registered_object(f"keras_gen>{family.__name__}") is family


@pytest.mark.parametrize("family", all_families())
def test_family_declares_its_traits(family):
    cls = FAMILIES[family]
    assert isinstance(cls.smoke_config, dict), f"{family} declares no smoke_config"
    assert cls.batch_layout in BATCH_LAYOUTS
    assert cls.value_range in ((0.0, 1.0), (-1.0, 1.0))
    model, _ = make_case(family)
    assert model.image_shape == SHAPE
    assert model.default_signature in model.serving_endpoints()
    assert "serving_default" not in model.serving_endpoints()  # export adds it
    if cls.preview == "samples":
        images = model.sample(2, seed=3)
        assert isinstance(images, np.ndarray) and images.shape == (2, *SHAPE)
        assert images.dtype == np.float32 and 0.0 <= images.min() <= images.max() <= 1.0
        np.testing.assert_array_equal(images, model.sample(2, seed=3))
        conditions = {"labels": np.array([0, 1])} if cls.batch_layout == "labelled" else {}
        seeded = np.asarray(model.sample_from_seeds(np.array([5, 6], "int32"), **conditions))
        assert seeded.shape == (2, *SHAPE)
    else:
        assert callable(getattr(model, cls.preview))
    # no train_step of its own: every family trains through the core's step
    assert cls.train_step is GenerativeModel.train_step, f"{family} overrides train_step"
    assert cls.test_step is GenerativeModel.test_step, f"{family} overrides test_step"
    overrides_pretraining = cls.pretrain_layerwise is not GenerativeModel.pretrain_layerwise
    assert cls.layerwise_pretraining == overrides_pretraining, family


@pytest.mark.parametrize("family", all_families())
def test_config_and_keras_file_round_trips(family, tmp_path):
    model, _ = make_case(family)
    model.compile(optimizer=model.default_optimizer())
    check_config_round_trip(model)
    check_keras_file_round_trip(model, tmp_path, lambda m: list(default_outputs(m).values())[0])


@pytest.mark.parametrize("family", DETERMINISTIC)
def test_deterministic_families_draw_no_noise_in_training(family):
    """Two models with the same weights take the same step under different random seeds."""
    results = []
    for seed in (1, 2):
        keras.utils.set_random_seed(0)
        model, batch = make_case(family)
        model.compile(optimizer=model.default_optimizer())
        keras.utils.set_random_seed(seed)
        model.fit(tf.data.Dataset.from_tensor_slices(batch).batch(8), epochs=1, verbose=0)
        results.append([w.numpy() for w in model.trainable_weights])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


class _Counter(GenerativeModel):
    """Two slots: "a" every step, "b" every third step, and a lazy loss of "a" every second."""

    optimizer_names = ("a", "b")
    loss_names = ("loss_a", "loss_b", "lazy_a")
    batch_layout = "images"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.weight_a = self.add_weight(shape=(), initializer="zeros", name="weight_a")
        self.weight_b = self.add_weight(shape=(), initializer="zeros", name="weight_b")
        self.after = self.add_weight(shape=(), initializer="zeros", trainable=False, name="after")
        self.built = True

    def variables_for(self, slot):
        return [self.weight_a] if slot == "a" else [self.weight_b]

    def updates(self):
        return (Update("a", "loss_a"), Update("b", "loss_b", every=3), Update("a", "lazy_a", every=2))

    def compute_losses(self, data, training=False):
        ones = tf.ones((tf.shape(data)[0],))
        return {"loss_a": -self.weight_a * ones, "loss_b": -self.weight_b * ones,
                "lazy_a": -10.0 * self.weight_a * ones}

    def after_update(self, slot):
        if slot == "b":
            self.after.assign_add(1.0)


def test_the_core_step_follows_each_update_schedule():
    model = _Counter()
    model.compile(optimizer={"a": keras.optimizers.SGD(1.0), "b": keras.optimizers.SGD(1.0)})
    model.fit(np.zeros((7, 1), "float32"), batch_size=1, epochs=1, shuffle=False, verbose=0)
    # a: 7 steps of gradient 1, plus the lazy gradient 10 on steps 0, 2, 4, 6
    assert float(model.weight_a.numpy()) == pytest.approx(7 + 4 * 10)
    # b: steps 0, 3, 6 (counted in a's steps before each step), each followed by after_update
    assert float(model.weight_b.numpy()) == pytest.approx(3)
    assert float(model.after.numpy()) == 3
    assert int(model.get_optimizer("b").iterations.numpy()) == 3


def test_register_family_refuses_a_second_class_under_one_name():
    with pytest.raises(ValueError, match="already registered"):
        register_family("vae")(type("OtherVAE", (GenerativeModel,), {}))


def test_docstring_examples_are_collected():
    """The README's promise that docstring examples run rests on --doctest-modules in the
    default test run (pyproject.toml): keep it there."""
    import pathlib
    import tomllib

    config = tomllib.loads((pathlib.Path(__file__).parents[1] / "pyproject.toml").read_text())
    options = config["tool"]["pytest"]["ini_options"]
    assert "keras_gen" in options["testpaths"] and "--doctest-modules" in options["addopts"]
    assert ">>>" in inspect.getdoc(FAMILIES["vae"])
