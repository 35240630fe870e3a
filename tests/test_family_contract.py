"""The family contract, checked the same way for every family in `FAMILIES`: declared traits,
config, `.keras` (safe mode) and SavedModel (TensorFlow only) round trips, and the shared
training step's schedule. A family registered with `register_family` is checked here with no
edit to this file; one that does not declare what the contract needs fails."""

import inspect
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from family_cases import (
    DETERMINISTIC,
    SHAPE,
    all_families,
    default_outputs,
    make_case,
    signature_inputs,
)
from keras_gen import export
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


# Loads every family's SavedModel in one fresh interpreter where keras and keras_gen cannot be
# imported, and calls its serving_default (one process for all: each start costs seconds).
TF_ONLY_ALL = r"""
import json, sys
sys.modules["keras"] = None
sys.modules["keras_gen"] = None
import numpy as np
import tensorflow as tf
cases = json.load(open(sys.argv[1]))
for case in cases:
    loaded = tf.saved_model.load(case["path"])
    inputs = {k: tf.constant(v) for k, v in np.load(case["inputs"]).items()}
    outputs = loaded.signatures["serving_default"](**inputs)
    np.savez(case["outputs"], **{k: v.numpy() for k, v in outputs.items()})
    case["signatures"] = sorted(loaded.signatures.keys())
json.dump(cases, open(sys.argv[2], "w"))
"""


def test_every_family_exports_a_saved_model_that_runs_with_tensorflow_alone(tmp_path):
    import json
    import subprocess
    import sys

    cases, expected = [], {}
    for family in all_families():
        model, _ = make_case(family)
        path = export.export(model, str(tmp_path / "exported" / family))
        _, specs = export.with_serving_default(model)["serving_default"]
        inputs = {spec.name: value for spec, value in zip(specs, signature_inputs(specs))}
        np.savez(tmp_path / f"{family}_in.npz", **inputs)
        cases.append({"family": family, "path": path, "inputs": str(tmp_path / f"{family}_in.npz"),
                      "outputs": str(tmp_path / f"{family}_out.npz")})
        # the signatures the export wrote down (from the model's declaration, `with_bytes_variants`)
        with open(os.path.join(path, "assets", "metadata.json")) as handle:
            listed = set(json.load(handle)["signatures"])
        expected[family] = (listed, {k: np.asarray(v) for k, v in default_outputs(model).items()})
    manifest = tmp_path / "cases.json"
    manifest.write_text(json.dumps(cases))
    proc = subprocess.run([sys.executable, "-c", TF_ONLY_ALL, str(manifest), str(tmp_path / "done.json")],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    for case in json.loads((tmp_path / "done.json").read_text()):
        signatures, outputs = expected[case["family"]]
        assert set(case["signatures"]) == signatures, case["family"]
        got = np.load(case["outputs"])
        for name, value in outputs.items():
            np.testing.assert_allclose(got[name], value, atol=1e-5, err_msg=f"{case['family']} {name}")
    assert sorted(case["family"] for case in cases) == all_families()


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
