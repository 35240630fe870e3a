"""SavedModel export in TF Serving's layout: `<base>/<version>/saved_model.pb`.

`export(model, "exported/vae")` writes the model's named signatures (from
`model.serving_endpoints()`) into the next integer version folder, with
`assets/metadata.json` describing the model. Every named signature that returns `images`
also gets a `<name>_bytes` twin (PNG/JPEG strings in, PNG strings out; TF Serving's REST API
base64-encodes names ending in `_bytes`). The folder is written under a temporary name and
renamed when complete, so a server watching `<base>` never sees half a model, and
`models.config` beside the model folders lists every exported model for
`tensorflow_model_server --model_config_file`. The result loads with TensorFlow alone
(`tf.saved_model.load`), no keras or keras_gen needed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import keras
import tensorflow as tf


def version_folders(base_dir):
    """Sorted integer versions already present under `base_dir` (TF Serving's layout)."""
    if not os.path.isdir(base_dir):
        return []
    return sorted(int(name) for name in os.listdir(base_dir) if name.isdigit())


def model_folders(root):
    """Sorted names of the model folders in an export root: those holding a version folder."""
    return sorted(name for name in os.listdir(root)
                  if not name.startswith(".") and version_folders(os.path.join(root, name)))


def next_version(base_dir):
    """The version a new export gets: one more than the highest present, or 1."""
    versions = version_folders(base_dir)
    return versions[-1] + 1 if versions else 1


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def export(model, base_dir, version=None, metadata=None, overwrite=False, models_config=True):
    """Write `model` as a SavedModel into `base_dir/<version>` and return that path.

    Args:
        model: a keras_gen model (it must define `serving_endpoints()`).
        base_dir: the model's folder, for example `exported/vae`.
        version: integer version; default: the next free one.
        metadata: extra facts for `assets/metadata.json` (training data, metrics, ...).
        overwrite: replace an existing version folder instead of raising.
        models_config: also (re)write `models.config` in the folder above `base_dir`.

    Example:
    >>> import tempfile, keras_gen
    >>> vae = keras_gen.models.VAE(latent_dim=2)
    >>> path = export(vae, tempfile.mkdtemp() + "/vae")
    >>> path.endswith("/vae/1")
    True
    """
    endpoints = with_bytes_variants(with_serving_default(model))
    version = next_version(base_dir) if version is None else int(version)
    if version < 1:
        raise ValueError(f"version must be a positive integer, got {version}")
    final = os.path.join(base_dir, str(version))
    if os.path.exists(final) and not overwrite:
        raise FileExistsError(f"{final} already exists; pass overwrite=True or another version")
    os.makedirs(base_dir, exist_ok=True)
    if not model.built:
        model.build()

    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, input_signature) in endpoints.items():
        archive.add_endpoint(name, with_input_checks(fn, input_signature), input_signature=input_signature)

    # A dot-prefixed sibling is ignored by TF Serving, and rename within a folder is atomic.
    staging = tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=base_dir)
    try:
        target = os.path.join(staging, "model")
        archive.write_out(target, verbose=False)
        meta = dict(model.export_metadata())
        meta.update(metadata or {})
        meta.update(version=version, signatures=sorted(endpoints),
                    bytes_signatures=sorted(n for n in endpoints if n.endswith("_bytes")))
        os.makedirs(os.path.join(target, "assets"), exist_ok=True)
        with open(os.path.join(target, "assets", "metadata.json"), "w") as handle:
            json.dump(meta, handle, indent=2, default=_json_default)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(target, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if models_config:
        write_models_config(os.path.dirname(os.path.abspath(base_dir)))
    return final


def with_serving_default(model):
    """`model.serving_endpoints()` with `serving_default` added: the endpoint that the model's
    `default_signature` names (TF Serving calls it when a request names no signature).

    Example:
    >>> import keras_gen
    >>> endpoints = with_serving_default(keras_gen.models.VAE(latent_dim=2))
    >>> endpoints["serving_default"] is endpoints["decode"]
    True
    """
    endpoints = dict(model.serving_endpoints())
    name = model.default_signature
    if name not in endpoints:
        raise ValueError(f"{type(model).__name__}.default_signature is {name!r}, which is not one "
                         f"of its serving endpoints {sorted(endpoints)}")
    return {"serving_default": endpoints[name], **endpoints}


def with_input_checks(fn, specs):
    """`fn` behind assertions that each input has its spec's rank and non-batch shape and at
    least one row.

    A SavedModel signature only checks dtypes when called: a wrong rank or image size would
    otherwise fail deep inside the network (or abort the process in a native kernel). The
    network waits on the assertions, whose message names the input and the shape it needs.
    """
    def check(arg, spec):
        dims = spec.shape[1:]
        shape = tf.shape(arg)
        wanted = ", ".join(["batch >= 1", *(str(d) for d in dims.as_list())])
        ok = tf.logical_and(tf.equal(tf.size(shape), spec.shape.rank), shape[0] > 0)
        if dims.rank and dims.is_fully_defined():
            expected = tf.constant(dims.as_list(), tf.int32)
            ok = tf.cond(ok, lambda: tf.reduce_all(tf.equal(shape[1:], expected)), lambda: ok)
        assertion = tf.debugging.Assert(ok, [f"input {spec.name} must have shape ({wanted}); got", shape])
        with tf.control_dependencies([assertion]):
            return tf.identity(arg)

    def checked(*args):
        return fn(*[check(arg, spec) for arg, spec in zip(args, specs)])

    return checked


def write_models_config(root, base_path="/models"):
    """Write `<root>/models.config`: TF Serving's model list for every model folder in `root`.

    A model folder is one holding at least one integer version folder. `base_path` is where
    `root` is seen by the server (the docker image's `/models` by default), so
    `docker run -v "$PWD/exported:/models" tensorflow/serving
    --model_config_file=/models/models.config` serves them all. Returns the file's path.

    Example:
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(root, "vae", "1"))
    >>> print(open(write_models_config(root)).read().strip().splitlines()[2])
        name: "vae"
    """
    names = model_folders(root)
    lines = ["model_config_list {"]
    for name in names:
        lines += ["  config {", f'    name: "{name}"', f'    base_path: "{base_path.rstrip("/")}/{name}"',
                  '    model_platform: "tensorflow"', "  }"]
    lines.append("}")
    path = os.path.join(root, "models.config")
    staging = path + ".tmp"
    with open(staging, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(staging, path)
    return path


def with_bytes_variants(endpoints):
    """`endpoints` plus a `<name>_bytes` twin of each named one whose outputs include `images`.

    `serving_default` gets none (its named twin does). Outputs are found by tracing each
    function on its input signature.
    """
    result = dict(endpoints)
    for name, (fn, specs) in endpoints.items():
        if name == "serving_default" or name.endswith("_bytes") or f"{name}_bytes" in endpoints:
            continue
        outputs = tf.function(fn).get_concrete_function(*specs).structured_outputs
        if isinstance(outputs, dict) and "images" in outputs:
            result[f"{name}_bytes"] = bytes_variant(fn, specs)
    return result


def _is_image_spec(spec):
    return spec.name == "images" and spec.shape.rank == 4


def bytes_variant(fn, specs):
    """`(function, specs)` of the bytes twin of an endpoint that returns `images`.

    Each `images` input becomes `images_bytes` (a `(None,)` string tensor of PNG/JPEG/GIF/BMP
    files, decoded, converted to the expected channel count and resized to the expected size);
    the `images` output becomes `images_bytes` (PNG). Other inputs and outputs pass through.
    """

    def decoder(spec):
        height, width, channels = (int(d) for d in spec.shape[1:])

        def decode(data):
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            if channels == 1:
                image = tf.image.rgb_to_grayscale(image)
            image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (height, width), antialias=True)
            return tf.clip_by_value(image, 0.0, 1.0)

        return lambda batch: tf.map_fn(decode, batch, fn_output_signature=tf.TensorSpec(
            (height, width, channels), tf.float32))

    def encode(image):
        return tf.io.encode_png(tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8))

    decoders = [decoder(spec) if _is_image_spec(spec) else None for spec in specs]
    new_specs = [tf.TensorSpec((None,), tf.string, name="images_bytes") if _is_image_spec(spec)
                 else spec for spec in specs]

    def variant(*args):
        inputs = [convert(arg) if convert else arg for convert, arg in zip(decoders, args)]
        outputs = dict(fn(*inputs))
        images = tf.cast(outputs.pop("images"), tf.float32)
        outputs["images_bytes"] = tf.map_fn(encode, images, fn_output_signature=tf.string)
        return outputs

    return variant, new_specs


