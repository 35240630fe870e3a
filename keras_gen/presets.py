"""Keras-Hub-style presets: a folder that rebuilds a trained model in one line.

A preset folder holds `config.json` (the serialized model, class and config), `model.weights.h5`
(float32, or float16 with `weights_dtype="float16"`, which halves the file),
`metadata.json` (library versions, parameter count, training facts), `check.npz` (the model's
default signature on fixed inputs, which `check_preset` compares a reload against) and
optionally a README model card. `save_to_preset(model, folder)` writes one; `VAE.from_preset(folder_or_name)` (any
keras_gen model class) or `load_preset(...)` reads one. Named presets trained on the offline
data ship inside the package (`keras_gen/preset_files/<name>/`, made by
`apps/make_presets.py`), so `VAE.from_preset("vae_mnist")` works without a network.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import warnings

import h5py
import keras
import numpy as np

PRESET_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "preset_files")
CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, README_FILE, CHECK_FILE = (
    "config.json", "model.weights.h5", "metadata.json", "README.md", "check.npz")
WEIGHTS_DTYPES = ("float32", "float16")


def _shipped_folders():
    if not os.path.isdir(PRESET_ROOT):
        return {}
    return {name: os.path.join(PRESET_ROOT, name) for name in sorted(os.listdir(PRESET_ROOT))
            if os.path.exists(os.path.join(PRESET_ROOT, name, CONFIG_FILE))}


def preset_size(folder):
    """Bytes of every file in a preset folder."""
    return sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder)
               if os.path.isfile(os.path.join(folder, name)))


def list_presets():
    """`{name: facts}` of the presets shipped with keras_gen. Facts: `folder`, `family`,
    `class_name`, `data`, `bytes` (the folder's size) and `headline` (`{"name", "value",
    "split"}`, the figure its card leads with, measured on held-out data), from its metadata.

    Examples:
        >>> facts = list_presets()["vae_mnist"]
        >>> facts["family"], facts["data"], facts["bytes"] < 2_000_000
        ('vae', 'mnist_5k', True)
    """
    listed = {}
    for name, folder in _shipped_folders().items():
        meta = _read_metadata(folder)
        listed[name] = {"folder": folder, "family": meta.get("family"),
                        "class_name": meta.get("class_name"), "data": meta.get("training_data"),
                        "bytes": preset_size(folder), "headline": meta.get("headline")}
    return listed


def preset_path(preset):
    """The folder of `preset`: a shipped preset's name, or a path to a preset folder.

    A shipped name always means the shipped preset, even where the working directory holds a
    folder of that name: write `./vae_mnist` for the folder.
    """
    shipped = _shipped_folders()
    if str(preset) in shipped:
        folder = shipped[str(preset)]
    elif os.path.isdir(str(preset)):
        folder = str(preset)
    else:
        raise ValueError(f"unknown preset {preset!r}: not a folder, and not one of {sorted(shipped)}")
    for required in (CONFIG_FILE, WEIGHTS_FILE):
        if not os.path.exists(os.path.join(folder, required)):
            raise ValueError(f"{folder} is not a preset folder: {required} is missing")
    return folder


def _rounded_to(weights, dtype):
    """Each float32 array rounded through `dtype` where that stays finite (step counters and
    other large values keep float32)."""
    if dtype == "float32":
        return list(weights)
    rounded = []
    for array in weights:
        array = np.asarray(array)
        if array.dtype == np.float32:
            narrow = array.astype(dtype)
            if np.all(np.isfinite(narrow)):
                array = narrow.astype(np.float32)
        rounded.append(array)
    return rounded


def _store_weights_as(path, dtype):
    """Rewrite a `.weights.h5` file with its float32 arrays stored as `dtype` (exactly, as
    `_rounded_to` already rounded them); Keras casts them back to the variables' dtype on
    loading."""
    narrow_path = path + ".narrow"

    def copy(source, target):
        target.attrs.update(dict(source.attrs))
        for key, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, target.create_group(key))
                continue
            array = item[()]
            if isinstance(array, np.ndarray) and array.dtype == np.float32:
                narrow = array.astype(dtype)
                if np.array_equal(narrow.astype(np.float32), array):
                    array = narrow
            stored = target.create_dataset(key, data=array)
            stored.attrs.update(dict(item.attrs))

    with h5py.File(path, "r") as source, h5py.File(narrow_path, "w") as target:
        copy(source, target)
    os.replace(narrow_path, path)


def _call_default_signature(model, inputs):
    """`{output name: NumPy array}` of the model's `default_signature` endpoint on `inputs`
    (`{input name: array}`)."""
    fn, specs = model.serving_endpoints()[model.default_signature]
    outputs = fn(*[inputs[spec.name] for spec in specs])
    return {name: np.asarray(value) for name, value in outputs.items()}


def default_outputs(model, batch=2, seed=0):
    """`{"input/<name>": ..., "output/<name>": ...}`: the model's `default_signature` endpoint
    on fixed example inputs (`keras_gen.serving.example_inputs`), as NumPy arrays."""
    from keras_gen.serving import example_inputs

    _, specs = model.serving_endpoints()[model.default_signature]
    inputs = example_inputs({spec.name: spec for spec in specs}, model.export_metadata(),
                            batch=batch, seed=seed)
    outputs = _call_default_signature(model, inputs)
    return {**{f"input/{k}": np.asarray(v) for k, v in inputs.items()},
            **{f"output/{k}": v for k, v in outputs.items()}}


def save_to_preset(model, preset_dir, metadata=None, readme=None, weights_dtype="float32"):
    """Write `model` as a preset folder and return its path (the folder is replaced whole).

    `weights_dtype="float16"` rounds every float32 weight to float16 and stores it so; the
    stored check outputs are those of the rounded model, which is what loading gives back.

    Examples:
        >>> import tempfile
        >>> from keras_gen.models import VAE
        >>> folder = save_to_preset(VAE(latent_dim=2), tempfile.mkdtemp() + "/tiny_vae")
        >>> sorted(os.listdir(folder))
        ['check.npz', 'config.json', 'metadata.json', 'model.weights.h5']
    """
    if weights_dtype not in WEIGHTS_DTYPES:
        raise ValueError(f"weights_dtype must be one of {WEIGHTS_DTYPES}, got {weights_dtype!r}")
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
        weights_only.set_weights(_rounded_to(model.get_weights(), weights_dtype))
        weights_only.save_weights(os.path.join(staging, WEIGHTS_FILE))
        if weights_dtype != "float32":
            _store_weights_as(os.path.join(staging, WEIGHTS_FILE), weights_dtype)
        if weights_only.default_signature is not None:
            np.savez(os.path.join(staging, CHECK_FILE), **default_outputs(weights_only))
        from keras_gen import __version__

        meta = {"class_name": type(model).__name__, "keras_gen_version": __version__,
                "keras_version": keras.__version__, "parameter_count": int(model.count_params()),
                "weights_dtype": weights_dtype,
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
    path = os.path.join(folder, CONFIG_FILE)
    try:
        with open(path) as handle:
            config = json.load(handle)
    except RecursionError:
        raise ValueError(f"{path} nests too deeply to be a preset config") from None
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object")
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
        try:
            model.compile_from_config(compile_config)
        except ValueError as err:
            raise ValueError(f"preset {preset!r}: {err}") from None
    return model


def _read_metadata(folder):
    with open(os.path.join(folder, METADATA_FILE)) as handle:
        return json.load(handle)


def preset_metadata(preset):
    """The `metadata.json` of a preset."""
    return _read_metadata(preset_path(preset))


def check_preset(preset, model=None):
    """`{output name: largest absolute difference}` between the preset's stored check outputs
    and those of `model` (default: the preset loaded afresh) on the same inputs; all 0 up to
    float round-off when the preset reloads as it was saved.

    Examples:
        >>> max(check_preset("vae_mnist").values()) < 1e-4
        True
    """
    folder = preset_path(preset)
    model = load_preset(folder) if model is None else model
    with np.load(os.path.join(folder, CHECK_FILE)) as stored:
        stored = dict(stored)
    inputs = {key[len("input/"):]: value for key, value in stored.items()
              if key.startswith("input/")}
    outputs = _call_default_signature(model, inputs)
    return {name: float(np.max(np.abs(value.astype(np.float64) - stored[f"output/{name}"])))
            for name, value in outputs.items()}


def presets_cache():
    """Where the studio keeps the shipped presets exported as SavedModels:
    `$KERAS_GEN_CACHE/presets` (default `~/.cache/keras_gen/presets`)."""
    root = os.environ.get("KERAS_GEN_CACHE",
                          os.path.join(os.path.expanduser("~"), ".cache", "keras_gen"))
    return os.path.join(root, "presets")


def export_presets(root=None, names=None):
    """Export shipped presets (all, or `names`) as `<root>/<name>/1` SavedModels and return
    `root` (default `presets_cache()`). A preset already exported from the same saved preset is
    kept; one exported from an older save is replaced whole (the export is atomic, so a reader
    never sees a half-written folder). A preset that fails to export is reported and skipped.

    Examples:
        >>> import tempfile
        >>> root = export_presets(tempfile.mkdtemp(), names=["vae_mnist"])
        >>> sorted(os.listdir(os.path.join(root, "vae_mnist")))
        ['1']
    """
    from keras_gen.export import export

    root = presets_cache() if root is None else root
    shipped = _shipped_folders()
    unknown = sorted(set(names or ()) - set(shipped))
    if unknown:
        raise ValueError(f"unknown presets {unknown}; shipped: {sorted(shipped)}")
    os.makedirs(root, exist_ok=True)
    for name in names or sorted(shipped):
        digest = preset_digest(name)
        current = os.path.join(root, name, "1", "assets", "metadata.json")
        # one process exports a preset at a time, holding a lock on its model folder; another
        # waits for it (the lock goes with the process, so a killed exporter never blocks the
        # next) and then finds it current
        os.makedirs(os.path.join(root, name), exist_ok=True)
        lock = os.open(os.path.join(root, name), os.O_RDONLY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if os.path.exists(current):
                with open(current) as handle:
                    if json.load(handle).get("preset_digest") == digest:
                        continue
            try:
                export(load_preset(name), os.path.join(root, name), version=1, overwrite=True,
                       metadata={"preset": name, "preset_digest": digest})
            except (OSError, ValueError) as error:  # a full disk, a broken preset
                warnings.warn(f"preset {name} was not exported: {error}", stacklevel=2)
        finally:
            os.close(lock)
    return root


def preset_digest(preset):
    """SHA-256 of a preset's config and weights: what an export of it was made from."""
    folder = preset_path(preset)
    digest = hashlib.sha256()
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        with open(os.path.join(folder, name), "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()
