"""SavedModel export in TF Serving's layout: `<base>/<version>/saved_model.pb`.

`export(model, "exported/vae")` writes the model's named signatures (from
`model.serving_endpoints()`) into the next integer version folder, with
`assets/metadata.json` describing the model. Exports running at once each claim their own
version (`claim_version`), and a killed export's leftovers are removed by the next one. Every
named signature that returns `images`
also gets a `<name>_bytes` twin (PNG/JPEG strings in, PNG strings out; TF Serving's REST API
base64-encodes names ending in `_bytes`). The folder is written under a temporary name and
renamed when complete, so a server watching `<base>` never sees half a model, and
`models.config` beside the model folders lists every exported model for
`tensorflow_model_server --model_config_file`. The result loads with TensorFlow alone
(`tf.saved_model.load`), no keras or keras_gen needed.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time

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


#: The most rows one request may hold, in every signature (TF Serving's `max_batch_size` idea):
#: a row costs a network pass, and 10,000 rows of a StyleGAN took 4.75 GB.
DEFAULT_MAX_ROWS = 256


def export(model, base_dir, version=None, metadata=None, overwrite=False, models_config=True,
           max_rows=DEFAULT_MAX_ROWS):
    """Write `model` as a SavedModel into `base_dir/<version>` and return that path.

    Args:
        model: a keras_gen model (it must define `serving_endpoints()`).
        base_dir: the model's folder, for example `exported/vae`.
        version: integer version; default: the next free one.
        metadata: extra facts for `assets/metadata.json` (training data, metrics, ...).
        overwrite: replace an existing version folder instead of raising.
        models_config: also (re)write `models.config` in the folder above `base_dir`.
        max_rows: the most rows one request may hold, in every signature (recorded in the
            metadata as `limits`; a request over it is refused with a message naming it).

    Examples:
        >>> import tempfile, keras_gen
        >>> vae = keras_gen.models.VAE(latent_dim=2)
        >>> path = export(vae, tempfile.mkdtemp() + "/vae")
        >>> path.endswith("/vae/1")
        True
    """
    endpoints = with_bytes_variants(with_serving_default(model))
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise ValueError(f"max_rows must be a whole number >= 1, got {max_rows!r}")
    if version is not None and int(version) < 1:
        raise ValueError(f"version must be a positive integer, got {version}")
    os.makedirs(base_dir, exist_ok=True)
    if not model.built:
        model.build()

    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, input_signature) in endpoints.items():
        archive.add_endpoint(name, with_input_checks(fn, input_signature, max_rows,
                                                     model.input_ranges()),
                             input_signature=input_signature)

    remove_abandoned_exports(base_dir)
    version, claim, lock = claim_version(base_dir, version, overwrite)
    final = os.path.join(base_dir, str(version))
    # A dot-prefixed sibling is ignored by TF Serving, and rename within a folder is atomic.
    staging = tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=base_dir)
    try:
        target = os.path.join(staging, "model")
        archive.write_out(target, verbose=False)
        meta = dict(model.export_metadata())
        meta.update(metadata or {})
        meta.update(version=version, signatures=sorted(endpoints),
                    bytes_signatures=sorted(n for n in endpoints if n.endswith("_bytes")),
                    limits={"max_rows": max_rows, "max_decoded_pixels": MAX_DECODED_PIXELS,
                            "max_request_pixels": MAX_REQUEST_PIXELS})
        os.makedirs(os.path.join(target, "assets"), exist_ok=True)
        with open(os.path.join(target, "assets", "metadata.json"), "w") as handle:
            json.dump(meta, handle, indent=2, default=_json_default)
        if overwrite and os.path.exists(final):  # swap the whole folder, never delete in place
            os.rename(final, os.path.join(staging, "replaced"))
        try:
            os.rename(target, final)  # fails on a non-empty folder: nothing is overwritten
        except OSError as err:
            raise FileExistsError(f"{final} appeared while exporting; nothing was replaced") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _release(claim, lock)
    if models_config:
        write_models_config(os.path.dirname(os.path.abspath(base_dir)))
    return final


def _release(claim, lock):
    try:
        os.remove(claim)
    except FileNotFoundError:
        pass
    os.close(lock)  # closing the descriptor drops the lock


def claim_version(base_dir, version=None, overwrite=False):
    """Claim a version folder name for one export: `(version, claim file, locked descriptor)`.

    The claim is a file `.<version>.claim`, created exclusively and locked (`flock`) for as
    long as the export runs, so two exports at once never pick the same version: with
    `version=None` each takes the next version that is neither a folder nor claimed. An
    explicit version that exists needs `overwrite=True`; one another export has claimed is
    refused. Closing the descriptor (or the process ending) releases the claim's lock.

    Examples:
        >>> import tempfile
        >>> base = tempfile.mkdtemp()
        >>> first, second = claim_version(base), claim_version(base)
        >>> first[0], second[0]
        (1, 2)
    """
    while True:
        if version is None:
            claimed = [int(name[1:-len(".claim")]) for name in os.listdir(base_dir)
                       if name.startswith(".") and name.endswith(".claim")
                       and name[1:-len(".claim")].isdigit()]
            chosen = max([next_version(base_dir), *(number + 1 for number in claimed)])
        else:
            chosen = int(version)
        claim = _claim_path(base_dir, chosen)
        try:
            handle = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if version is not None:
                raise FileExistsError(f"another export is writing version {chosen} of {base_dir}")
            continue  # another export took it first: take the next one
        fcntl.flock(handle, fcntl.LOCK_EX)
        os.write(handle, str(os.getpid()).encode())
        # checked after claiming: a version written by an export that finished a moment ago
        # counts, and is never replaced without overwrite=True
        if os.path.exists(os.path.join(base_dir, str(chosen))) and not overwrite:
            _release(claim, handle)
            if version is not None:
                raise FileExistsError(f"{os.path.join(base_dir, str(chosen))} already exists; "
                                      f"pass overwrite=True or another version")
            continue
        return chosen, claim, handle


def _claim_is_abandoned(path, min_age=60.0):
    """Whether a claim file's exporter is gone: its lock is free and the file is older than
    `min_age` seconds (a claim is locked a moment after it is created)."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        if time.time() - os.fstat(handle).st_mtime < min_age:
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        # unlinked while locked and only if the name still means this file
        same = os.path.exists(path) and os.stat(path).st_ino == os.fstat(handle).st_ino
        if same:
            os.remove(path)
        return True
    finally:
        os.close(handle)


def remove_abandoned_exports(base_dir, min_age=60.0):
    """Delete what killed exports left in `base_dir`: claims no export holds any more and the
    staging folders of versions that no live claim covers. Returns the removed names."""
    removed = []
    names = sorted(os.listdir(base_dir))
    for name in names:
        if name.startswith(".") and name.endswith(".claim"):
            path = os.path.join(base_dir, name)
            if _claim_is_abandoned(path, min_age):
                removed.append(name)
    for name in names:
        if name.startswith(".") and ".tmp-" in name:
            version = name[1:].split(".tmp-", 1)[0]
            claim = _claim_path(base_dir, version)
            if not os.path.exists(claim) or name in removed:
                shutil.rmtree(os.path.join(base_dir, name), ignore_errors=True)
                removed.append(name)
    return removed


def _claim_path(base_dir, version):
    return os.path.join(base_dir, f".{version}.claim")


def with_serving_default(model):
    """`model.serving_endpoints()` with `serving_default` added: the endpoint that the model's
    `default_signature` names (TF Serving calls it when a request names no signature).

    Examples:
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


def with_input_checks(fn, specs, max_rows=DEFAULT_MAX_ROWS, ranges=None):
    """`fn` behind assertions that each input has its spec's rank and non-batch shape and from
    one to `max_rows` rows, that float inputs are finite, that inputs named in `ranges`
    (`{name: (low, high)}`, the model's `input_ranges()`) lie within them, and that all inputs
    have as many rows.

    A SavedModel signature only checks dtypes when called: a wrong rank or image size would
    otherwise fail deep inside the network (or abort the process in a native kernel). The
    network waits on the assertions, whose message names the input and the shape it needs.
    """
    def check(arg, spec):
        dims = spec.shape[1:]
        # TF Serving feeds tensors of any shape, but the graph knows the spec's rank and would
        # fold a rank test to True: read the shape through an op whose shape it cannot know.
        dynamic = tf.raw_ops.PlaceholderWithDefault(input=arg, shape=tf.TensorShape(None))
        shape = tf.shape(dynamic)
        wanted = ", ".join(["batch >= 1", *(str(d) for d in dims.as_list())])
        rank_ok = tf.equal(tf.size(shape), spec.shape.rank)
        ok = tf.cond(rank_ok, lambda: shape[0] > 0, lambda: rank_ok)
        if dims.rank and dims.is_fully_defined():
            expected = tf.constant(dims.as_list(), tf.int32)
            ok = tf.cond(ok, lambda: tf.reduce_all(tf.equal(shape[1:], expected)), lambda: ok)
        assertions = [tf.debugging.Assert(ok, [f"input {spec.name} must have shape ({wanted}); got",
                                               shape])]
        with tf.control_dependencies(assertions):  # shape[0] exists once the rank is right
            assertions.append(tf.debugging.Assert(
                shape[0] <= max_rows,
                [f"input {spec.name}: at most {max_rows} rows per request (max_rows, set at "
                 f"export); got", shape[0]]))
        if spec.dtype.is_floating:
            assertions.append(tf.debugging.Assert(
                tf.reduce_all(tf.math.is_finite(tf.reshape(dynamic, [-1]))),
                [f"input {spec.name} must be finite: it holds NaN or infinite values"]))
        if spec.name in (ranges or {}):
            low, high = ranges[spec.name]
            with tf.control_dependencies(assertions):  # a value is only read once it is finite
                values = tf.cast(tf.reshape(dynamic, [-1]), tf.float64)
                assertions.append(tf.debugging.Assert(
                    tf.reduce_all((values >= low) & (values <= high)),
                    [f"input {spec.name} must be in [{low:g}, {high:g}]"]))
        with tf.control_dependencies(assertions):
            return tf.identity(arg)

    def checked(*args):
        args = [check(arg, spec) for arg, spec in zip(args, specs)]
        if len(args) > 1:  # one row per request: every input must have as many rows
            rows = tf.stack([tf.shape(arg)[0] for arg in args])
            names = ", ".join(spec.name for spec in specs)
            same = tf.debugging.Assert(tf.reduce_all(tf.equal(rows, rows[0])),
                                       [f"inputs {names} must have the same number of rows; got",
                                        rows])
            with tf.control_dependencies([same]):
                args = [tf.identity(arg) for arg in args]
        return fn(*args)

    return checked


def write_models_config(root, base_path="/models"):
    """Write `<root>/models.config`: TF Serving's model list for every model folder in `root`.

    A model folder is one holding at least one integer version folder. `base_path` is where
    `root` is seen by the server (the docker image's `/models` by default), so
    `docker run -v "$PWD/exported:/models" tensorflow/serving
    --model_config_file=/models/models.config` serves them all. Returns the file's path.

    Examples:
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
    handle, staging = tempfile.mkstemp(prefix=".models.config.", dir=root)  # one per writer
    with os.fdopen(handle, "w") as out:
        out.write("\n".join(lines) + "\n")
    os.chmod(staging, 0o644)  # a server in another account reads it
    os.replace(staging, path)
    return path


def with_bytes_variants(endpoints):
    """`endpoints` plus a `<name>_bytes` twin of each named one whose outputs include `images`.

    `serving_default` gets none (its named twin does). Outputs are found by tracing each
    function on its input signature. Every function comes back as a `tf.function` holding that
    trace, so the signatures that call it (its own, `serving_default`, its bytes twin) reuse it
    instead of tracing the model again.
    """
    traced, result = {}, {}
    for name, (fn, specs) in endpoints.items():
        key = (id(fn), tuple(specs))
        if key not in traced:
            function = tf.function(fn, input_signature=specs, autograph=False)
            traced[key] = (function, function.get_concrete_function().structured_outputs)
        function, outputs = traced[key]
        result[name] = (function, specs)
        if name == "serving_default" or name.endswith("_bytes") or f"{name}_bytes" in endpoints:
            continue
        if isinstance(outputs, dict) and "images" in outputs:
            result[f"{name}_bytes"] = bytes_variant(function, specs)
    return result


def _is_image_spec(spec):
    return spec.name == "images" and spec.shape.rank == 4


# The most pixels a `*_bytes` signature decodes per image (as the studio's upload limit): a
# small compressed file can declare a huge bitmap (a 379 KiB PNG of 20000 x 20000 took 7 GB).
MAX_DECODED_PIXELS = 4096 * 4096
# The most pixels all the images of one `*_bytes` request may declare together (sixteen
# 4096 x 4096 images in one request took 11 s and 380 MB).
MAX_REQUEST_PIXELS = 4096 * 4096


def encoded_image_size(data):
    """`(height, width)` (int64) of a PNG, JPEG, GIF or BMP file read from its header, without
    decoding it; an error naming `images_bytes` for anything else.

    Examples:
        >>> png = tf.io.encode_png(tf.zeros((3, 5, 1), tf.uint8))
        >>> [int(v) for v in encoded_image_size(png)]
        [3, 5]
    """
    data = tf.convert_to_tensor(data, tf.string)
    padded = tf.strings.join([data, tf.constant(b"\0" * 32)])  # short files read as zeros

    def field(start, length, big_endian):
        values = tf.cast(tf.io.decode_raw(tf.strings.substr(padded, start, length), tf.uint8),
                         tf.int64)
        weights = 256 ** tf.range(length, dtype=tf.int64)
        return tf.reduce_sum(values * (tf.reverse(weights, [0]) if big_endian else weights))

    def signed32(value):
        return tf.abs(tf.where(value >= 2 ** 31, value - 2 ** 32, value))

    magic = tf.strings.substr(padded, 0, 4)
    png = tf.equal(magic, b"\x89PNG")
    gif = tf.equal(tf.strings.substr(padded, 0, 3), b"GIF")
    bmp = tf.equal(tf.strings.substr(padded, 0, 2), b"BM")
    jpeg = tf.equal(tf.strings.substr(padded, 0, 2), b"\xff\xd8")
    known = tf.reduce_any(tf.stack([png, gif, bmp, jpeg]))
    check = tf.debugging.assert_equal(
        known, True, message="images_bytes: not a PNG, JPEG, GIF or BMP file")
    with tf.control_dependencies([check]):
        size = tf.case([
            (png, lambda: tf.stack([field(20, 4, True), field(16, 4, True)])),
            (gif, lambda: tf.stack([field(8, 2, False), field(6, 2, False)])),
            (bmp, lambda: tf.stack([signed32(field(22, 4, False)), signed32(field(18, 4, False))])),
        ], default=lambda: tf.cast(tf.io.extract_jpeg_shape(data)[:2], tf.int64), exclusive=True)
    return size


def bytes_variant(fn, specs):
    """`(function, specs)` of the bytes twin of an endpoint that returns `images`.

    Each `images` input becomes `images_bytes` (a `(None,)` string tensor of PNG/JPEG/BMP
    files, decoded, converted to the expected channel count and resized to the expected size);
    the `images` output becomes `images_bytes` (PNG). Other inputs and outputs pass through.
    """

    def decoder(spec):
        height, width, channels = (int(d) for d in spec.shape[1:])

        def decode(data):
            # every frame of a GIF is decoded, and its header gives only the screen size
            checks = [tf.debugging.Assert(
                tf.not_equal(tf.strings.substr(data, 0, 3), b"GIF"),
                ["images_bytes: GIF files are refused (all their frames would be decoded); "
                 "send PNG, JPEG or BMP"])]
            with tf.control_dependencies(checks):
                data = tf.identity(data)
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            if channels == 1:
                image = tf.image.rgb_to_grayscale(image)
            image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (height, width), antialias=True)
            return tf.clip_by_value(image, 0.0, 1.0)

        def decode_all(batch):
            # every header is read first: a request over the pixel budget decodes nothing
            sizes = tf.map_fn(encoded_image_size, batch, fn_output_signature=tf.int64)
            pixels = sizes[:, 0] * sizes[:, 1]
            largest = tf.argmax(pixels)
            each = tf.debugging.Assert(
                pixels[largest] <= MAX_DECODED_PIXELS,
                [f"images_bytes: an image over {MAX_DECODED_PIXELS} pixels is refused before "
                 f"decoding; height and width:", sizes[largest]])
            with tf.control_dependencies([each]):
                budget = tf.debugging.Assert(
                    tf.reduce_sum(pixels) <= MAX_REQUEST_PIXELS,
                    [f"images_bytes: the images of one request may hold at most "
                     f"{MAX_REQUEST_PIXELS} pixels together; got", tf.reduce_sum(pixels)])
            with tf.control_dependencies([budget]):
                batch = tf.identity(batch)
            # one image at a time: each may be decoded at up to MAX_DECODED_PIXELS first
            return tf.map_fn(decode, batch, parallel_iterations=1,
                             fn_output_signature=tf.TensorSpec((height, width, channels),
                                                               tf.float32))

        return decode_all

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


