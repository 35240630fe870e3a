"""A family is one unit (issue 39): declared once, on its class, and everything else reads it
from `FAMILIES`. A throwaway family defined here joins the app, the exports, the preset
catalogue, the speed benchmark, the shared tests' cases and the generated tables with no other
edit; the guide's list of places is what that takes; every model module is registered."""

import importlib
import os
import pkgutil
import re
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "apps"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import docs_tables  # noqa: E402
import family_cases  # noqa: E402
import make_presets  # noqa: E402
import speed  # noqa: E402
import train  # noqa: E402

import keras_gen.models  # noqa: E402
from keras_gen.export import export  # noqa: E402
from keras_gen.models import FAMILIES, AutoEncoder  # noqa: E402
from keras_gen.training import PresetSpec, Recipe, register_family  # noqa: E402
from keras_gen.training.run import resolve_jit  # noqa: E402

#: What a new family needs beyond its class (the guide, docs/adding-a-family.md, lists these).
PLACES = ["keras_gen/models/<module>.py", "keras_gen/models/__init__.py",
          "keras_gen/networks/<module>.py", "tests/test_<module>.py", "docs/families/<group>.md",
          "keras_gen/preset_files/<preset>/", "benchmarks/speed.py"]


def test_the_guide_lists_exactly_the_places_a_family_touches():
    with open(os.path.join(ROOT, "docs", "adding-a-family.md")) as handle:
        guide = handle.read()
    block = guide.split("<!-- places:")[1].split("<!-- end places -->")[0]
    listed = [re.match(r"- `([^`]+)`", line).group(1)
              for line in block.splitlines() if line.startswith("- ")]
    assert listed == PLACES


def test_every_model_module_is_imported_and_registers_its_families():
    """A module of keras_gen/models/ that `keras_gen.models` does not import would define
    families that nothing (app, tests, presets) sees."""
    for info in pkgutil.iter_modules(keras_gen.models.__path__):
        module = importlib.import_module(f"keras_gen.models.{info.name}")
        declared = [cls for cls in vars(module).values()
                    if isinstance(cls, type) and cls.__module__ == module.__name__
                    and getattr(cls, "family_name", None)]
        for cls in declared:
            assert FAMILIES[cls.family_name] is cls
            assert getattr(keras_gen.models, cls.__name__) is cls, cls.__name__
        assert f"keras_gen.models.{info.name}" in sys.modules


@pytest.fixture
def throwaway():
    """A family defined in this test only, registered for its duration."""

    class Throwaway(AutoEncoder):
        """A throwaway autoencoder family that only this test defines."""

        recipe = Recipe(epochs=1, model_args={"latent_dim": 3, "units": (8,)})
        smoke_config = dict(latent_dim=2, units=(4,))
        deterministic_training = True
        xla_faster_on_cpu = False
        benchmark_config = dict(latent_dim=3, units=(8,))
        benchmark_reference = "autoencoder"
        preset = PresetSpec("throwaway_mnist", "A throwaway autoencoder.", "test_mse")

    cls = register_family("throwaway")(Throwaway)
    try:
        yield cls
    finally:
        FAMILIES.pop("throwaway")


def test_a_new_family_joins_everything_with_no_other_edit(throwaway, tmp_path):
    # the training app: a choice of the command line, its recipe the defaults
    args = train.build_parser(FAMILIES).parse_args(["throwaway"])
    assert train.recipe_run_args(throwaway.recipe, args)["model_args"]["latent_dim"] == 3
    # the shared tests' cases, its own traits included
    assert "throwaway" in family_cases.all_families()
    model, batch = family_cases.make_case("throwaway")
    assert model.declared("deterministic_training") and not resolve_jit("auto", "throwaway")
    # the exports
    model.compile(optimizer=model.default_optimizer())
    model.fit(batch, batch_size=4, epochs=1, verbose=0)
    folder = export(model, str(tmp_path / "throwaway"))
    assert os.path.exists(os.path.join(folder, "saved_model.pb"))
    # the preset catalogue, with its own recipe (no preset recipe declared: the quick one)
    entry = make_presets.catalogue()["throwaway_mnist"]
    assert entry["family"] == "throwaway" and entry["recipe"] == throwaway.recipe
    # the speed benchmark's arguments and reference
    assert speed.family_args("throwaway") == {"latent_dim": 3, "units": (8,)}
    bench = throwaway(image_shape=(28, 28, 1), **speed.family_args("throwaway"))
    assert speed.reference_for("throwaway", bench) is not None
    # the generated family table
    assert "| `throwaway` | `Throwaway` | A throwaway autoencoder family" in docs_tables.family_table({})


def test_family_facts_are_never_inherited_from_a_parent_family():
    """DenoisingAutoEncoder is an AutoEncoder but draws noise and was never measured faster
    with XLA; DCGAN is a GAN but is timed at its own size and ships its own preset."""
    assert FAMILIES["autoencoder"].declared("deterministic_training")
    assert not FAMILIES["denoising_ae"].declared("deterministic_training")
    assert not FAMILIES["denoising_ae"].declared("xla_faster_on_cpu")
    assert FAMILIES["dcgan"].declared("preset").name == "dcgan_mnist"
    for name, cls in FAMILIES.items():  # each declares its own preset and benchmark size
        assert "preset" in vars(cls) and "benchmark_config" in vars(cls), name
    names = [cls.declared("preset").name for cls in FAMILIES.values()]
    assert len(names) == len(set(names))
    assert np.all([isinstance(cls.declared("benchmark_config"), dict) for cls in FAMILIES.values()])
