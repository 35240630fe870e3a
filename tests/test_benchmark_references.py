"""The keras.io-style references of `benchmarks/speed.py` train keras_gen's own networks.

A speed ratio means something only if the reference runs the same architecture: each
reference step must change the weights of the networks of the keras_gen model it was built
from, and give finite losses on the data `speed.py` feeds it.
"""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

import speed  # noqa: E402

from keras_gen.models import FAMILIES  # noqa: E402

CHEAP = ["vae", "cvae", "sparse_ae", "denoising_ae", "gan", "dbvae"]
COSTLY = [name for name in speed.FAMILY_ARGS if name not in CHEAP]


def check_reference_trains_the_models_networks(name):
    family = FAMILIES[name]
    model = family(image_shape=(28, 28, 1), **speed.FAMILY_ARGS[name])
    model.compile(optimizer=model.default_optimizer())
    built = speed.reference_for(name, model)
    assert built is not None, f"no reference for {name}"
    reference, mapping = built
    dataset = speed.training_data(name, family, batch_size=32)  # DB-VAE: some 7s
    before = [np.array(v) for v in model.trainable_variables]
    history = reference.fit(dataset.map(mapping) if mapping else dataset, steps_per_epoch=1,
                            epochs=1, verbose=0)
    for key, values in history.history.items():
        assert np.isfinite(values[-1]), (name, key, values)
    changed = sum(not np.array_equal(b, np.array(v)) for b, v in zip(before, model.trainable_variables))
    # every network the reference trains is the model's: most of its variables moved
    assert changed >= 0.5 * len(before), f"{name}: {changed} of {len(before)} model variables moved"


@pytest.mark.parametrize("name", CHEAP)
def test_reference_trains_the_models_networks(name):
    check_reference_trains_the_models_networks(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", COSTLY)
def test_reference_trains_the_models_networks_costly(name):
    check_reference_trains_the_models_networks(name)


def test_every_family_has_a_reference():
    assert set(speed.FAMILY_ARGS) == set(FAMILIES)
    for name, family in FAMILIES.items():
        model = family(image_shape=(28, 28, 1), **speed.FAMILY_ARGS[name])
        model.compile(optimizer=model.default_optimizer())
        assert speed.reference_for(name, model) is not None, name


def test_openmoji_benchmark_names_its_models_and_their_variants():
    import openmoji

    family, recipe = openmoji.recipe_for("stylegan+augment")
    assert family == "stylegan" and recipe["model_args"]["augment"] == "color,translation,cutout"
    assert "augment" not in openmoji.recipe_for("stylegan")[1]["model_args"]
    assert openmoji.recipe_for("stylegan+linear")[1]["model_args"] == {
        "max_filters": 64, "output_activation": "linear"}
    assert set(openmoji.RECIPES) <= set(FAMILIES)
    for bad in ("stylegan+noise", "nope"):
        with pytest.raises(ValueError, match="unknown model"):
            openmoji.recipe_for(bad)


def test_openmoji_benchmark_reads_each_models_truncation_in_its_own_terms():
    import openmoji

    stylegan = FAMILIES["stylegan"](image_shape=(16, 16, 3), **FAMILIES["stylegan"].smoke_config)
    assert openmoji.truncation_kind(stylegan)["space"] == "w"
    assert openmoji.truncation_kind(stylegan)["none"] == 1.0
    biggan = FAMILIES["biggan"](image_shape=(16, 16, 3), **FAMILIES["biggan"].smoke_config)
    assert openmoji.truncation_kind(biggan) == {"space": "z", "none": 0.0}
    assert openmoji.truncation_kind(FAMILIES["dcgan"](image_shape=(16, 16, 3), latent_dim=4,
                                                      base_filters=4)) is None
    points = [{"truncation": 1.0, "fid": 5.0, "kid": 0.1}, {"truncation": 0.0, "fid": 90.0, "kid": 3.0}]
    rows = openmoji.sweep_rows("stylegan", {"kind": openmoji.truncation_kind(stylegan), "points": points})
    assert [label for label, _ in rows] == ["stylegan truncation none: FID / KID",
                                           "stylegan truncation psi 0.0: FID / KID"]
