"""SavedModel export in TF Serving's layout: `<base>/<version>/saved_model.pb`.

`export(model, "exported/vae")` writes the model's named signatures (from
`model.serving_endpoints()`) into the next integer version folder, with
`assets/metadata.json` describing the model. The folder is written under a temporary name and
renamed when complete, so a server watching `<base>` never sees half a model. The result
loads with TensorFlow alone (`tf.saved_model.load`), no keras or keras_gen needed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import keras


def version_folders(base_dir):
    """Sorted integer versions already present under `base_dir` (TF Serving's layout)."""
    if not os.path.isdir(base_dir):
        return []
    return sorted(int(name) for name in os.listdir(base_dir) if name.isdigit())


def next_version(base_dir):
    """The version a new export gets: one more than the highest present, or 1."""
    versions = version_folders(base_dir)
    return versions[-1] + 1 if versions else 1


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def export(model, base_dir, version=None, metadata=None, overwrite=False):
    """Write `model` as a SavedModel into `base_dir/<version>` and return that path.

    Args:
        model: a keras_gen model (it must define `serving_endpoints()`).
        base_dir: the model's folder, for example `exported/vae`.
        version: integer version; default: the next free one.
        metadata: extra facts for `assets/metadata.json` (training data, metrics, ...).
        overwrite: replace an existing version folder instead of raising.

    Example:
    >>> import tempfile, keras_gen
    >>> vae = keras_gen.models.VAE(latent_dim=2)
    >>> path = export(vae, tempfile.mkdtemp() + "/vae")
    >>> path.endswith("/vae/1")
    True
    """
    endpoints = model.serving_endpoints()
    if "serving_default" not in endpoints:
        raise ValueError(f"{type(model).__name__}.serving_endpoints() lacks 'serving_default'")
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
        archive.add_endpoint(name, fn, input_signature=input_signature)

    # A dot-prefixed sibling is ignored by TF Serving, and rename within a folder is atomic.
    staging = tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=base_dir)
    try:
        target = os.path.join(staging, "model")
        archive.write_out(target, verbose=False)
        meta = dict(model.export_metadata())
        meta.update(metadata or {})
        meta.update(version=version, signatures=sorted(endpoints))
        os.makedirs(os.path.join(target, "assets"), exist_ok=True)
        with open(os.path.join(target, "assets", "metadata.json"), "w") as handle:
            json.dump(meta, handle, indent=2, default=_json_default)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(target, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def bytes_variant(translate, image_shape):
    """A signature `images_bytes` (PNG/JPEG, `(None,)` strings) -> `images_bytes` (PNG).

    `translate` maps float32 images in [0, 1] of `image_shape` to images in [0, 1]. Each input
    is decoded, resized to `image_shape` and converted to its channel count; each output is
    encoded as PNG. Names end in `_bytes`, so TF Serving's REST API carries them as base64.
    """
    import tensorflow as tf

    height, width, channels = (int(d) for d in image_shape)

    def decode(data):
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        if channels == 1:
            image = tf.image.rgb_to_grayscale(image)
        image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (height, width), antialias=True)
        return tf.clip_by_value(image, 0.0, 1.0)

    def encode(image):
        return tf.io.encode_png(tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8))

    def fn(images_bytes):
        images = tf.map_fn(decode, images_bytes, fn_output_signature=tf.TensorSpec(
            (height, width, channels), tf.float32))
        outputs = tf.cast(translate(images), tf.float32)
        return {"images_bytes": tf.map_fn(encode, outputs, fn_output_signature=tf.string)}

    return fn, [tf.TensorSpec((None,), tf.string, name="images_bytes")]
