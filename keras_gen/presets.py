"""Keras-Hub-style presets: a folder that rebuilds a trained model in one line.

A preset folder holds `config.json` (the serialized model, class and config), `model.weights.h5`,
`metadata.json` (library versions, parameter count, training facts) and optionally a README
model card. `save_to_preset(model, folder)` writes one; `VAE.from_preset(folder_or_name)` (any
keras_gen model class) or `load_preset(...)` reads one. Named presets trained on the offline
data ship inside the package (`keras_gen/preset_files/<name>/`, made by
`apps/make_presets.py`), so `VAE.from_preset("vae_mnist")` works without a network.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile

import keras

PRESET_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "preset_files")
CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, README_FILE = (
    "config.json", "model.weights.h5", "metadata.json", "README.md")


def list_presets():
    """`{name: folder}` of the presets shipped with keras_gen.

    Example:
    >>> "vae_mnist" in list_presets()
    True
    """
    if not os.path.isdir(PRESET_ROOT):
        return {}
    return {name: os.path.join(PRESET_ROOT, name) for name in sorted(os.listdir(PRESET_ROOT))
            if os.path.exists(os.path.join(PRESET_ROOT, name, CONFIG_FILE))}


def preset_path(preset):
    """The folder of `preset`: a shipped preset's name, or a path to a preset folder.

    A shipped name always means the shipped preset, even where the working directory holds a
    folder of that name: write `./vae_mnist` for the folder.
    """
    shipped = list_presets()
    if str(preset) in shipped:
        folder = shipped[str(preset)]
    elif os.path.isdir(str(preset)):
        folder = str(preset)
    else:
        raise ValueError(f"unknown preset {preset!r}: not a folder, and not one of {sorted(list_presets())}")
    for required in (CONFIG_FILE, WEIGHTS_FILE):
        if not os.path.exists(os.path.join(folder, required)):
            raise ValueError(f"{folder} is not a preset folder: {required} is missing")
    return folder


def save_to_preset(model, preset_dir, metadata=None, readme=None):
    """Write `model` as a preset folder and return its path (the folder is replaced whole).

    Example:
    >>> import tempfile
    >>> from keras_gen.models import VAE
    >>> folder = save_to_preset(VAE(latent_dim=2), tempfile.mkdtemp() + "/tiny_vae")
    >>> sorted(os.listdir(folder))
    ['config.json', 'metadata.json', 'model.weights.h5']
    """
    if not model.built:
        model.build()
    parent = os.path.dirname(os.path.abspath(preset_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".preset-", dir=parent)
    try:
        with open(os.path.join(staging, CONFIG_FILE), "w") as handle:
            json.dump(keras.saving.serialize_keras_object(model), handle, indent=2)
        # a fresh copy holds the model's weights without its optimizer state
        weights_only = type(model).from_config(model.get_config())
        if not weights_only.built:
            weights_only.build()
        weights_only.set_weights(model.get_weights())
        weights_only.save_weights(os.path.join(staging, WEIGHTS_FILE))
        from keras_gen import __version__

        meta = {"class_name": type(model).__name__, "keras_gen_version": __version__,
                "keras_version": keras.__version__, "parameter_count": int(model.count_params()),
                "saved": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
        meta.update(metadata or {})
        with open(os.path.join(staging, METADATA_FILE), "w") as handle:
            json.dump(meta, handle, indent=2)
        if readme:
            with open(os.path.join(staging, README_FILE), "w") as handle:
                handle.write(readme)
        if os.path.exists(preset_dir):
            shutil.rmtree(preset_dir)
        os.replace(staging, preset_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return preset_dir


def load_preset(preset, expected_class=None):
    """The model stored in a preset (a shipped name or a folder), weights loaded.

    `expected_class` (what `SomeModel.from_preset` passes) must be the stored class or a base
    of it; anything else raises a ValueError naming both.
    """
    folder = preset_path(preset)
    with open(os.path.join(folder, CONFIG_FILE)) as handle:
        config = json.load(handle)
    stored = config.get("class_name")
    if expected_class is not None:
        cls = keras.saving.get_registered_object(config.get("registered_name", ""))
        if cls is None or not issubclass(cls, expected_class):
            raise ValueError(f"preset {preset!r} holds a {stored}, not a {expected_class.__name__}; "
                             f"use {stored}.from_preset or keras_gen.presets.load_preset")
    # compiled after the weights load: a preset stores no optimizer state, so a compiled
    # model would warn that its optimizer's variables were skipped, every time
    compile_config = config.pop("compile_config", None)
    model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    if not model.built:
        model.build()
    model.load_weights(os.path.join(folder, WEIGHTS_FILE))
    if compile_config:
        model.compile_from_config(compile_config)
    return model


def preset_metadata(preset):
    """The `metadata.json` of a preset."""
    with open(os.path.join(preset_path(preset), METADATA_FILE)) as handle:
        return json.load(handle)
