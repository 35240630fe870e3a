"""SavedModel export: TF Serving layout, signatures, metadata, and TensorFlow-only loading."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from keras_gen import data, export
from keras_gen.models import VAE
from model_checks import call_saved_model


@pytest.fixture(scope="module")
def trained_vae():
    vae = VAE(latent_dim=3, filters=(8, 16), dense_units=32)
    vae.compile(optimizer="adam")
    vae.fit(data.load("mnist_5k", "train", batch_size=32).take(5), epochs=1, verbose=0)
    return vae


def test_versions_metadata_and_no_partial_folders(tmp_path, trained_vae):
    base = str(tmp_path / "vae")
    first = export.export(trained_vae, base, metadata={"training_data": "mnist_5k"})
    second = export.export(trained_vae, base)
    assert first == os.path.join(base, "1") and second == os.path.join(base, "2")
    assert sorted(os.listdir(base)) == ["1", "2"]  # the staging folder is gone
    assert os.path.exists(os.path.join(first, "saved_model.pb"))
    with open(os.path.join(first, "assets", "metadata.json")) as handle:
        meta = json.load(handle)
    assert meta["model"] == "VAE" and meta["latent_dim"] == 3
    assert meta["training_data"] == "mnist_5k" and meta["version"] == 1
    assert {"serving_default", "encode", "decode"} <= set(meta["signatures"])
    assert meta["limits"] == {"max_rows": export.DEFAULT_MAX_ROWS,
                              "max_decoded_pixels": export.MAX_DECODED_PIXELS,
                              "max_request_pixels": export.MAX_REQUEST_PIXELS}
    with pytest.raises(ValueError, match="max_rows must be a whole number >= 1, got 0"):
        export.export(trained_vae, base, max_rows=0)
    with pytest.raises(FileExistsError):
        export.export(trained_vae, base, version=2)
    assert export.export(trained_vae, base, version=7) == os.path.join(base, "7")
    assert export.next_version(base) == 8


def test_saved_model_serves_what_the_vae_computes(tmp_path, trained_vae):
    path = export.export(trained_vae, str(tmp_path / "vae"))
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 3)).astype("float32")
    images = data.load_arrays("mnist_5k", "test")[0][:4]
    outputs, signatures = call_saved_model(
        path,
        {"serving_default__z": z, "decode__z": z, "encode__images": images,
         "reconstruct__images": images})
    assert {"serving_default", "encode", "decode", "reconstruct"} <= set(signatures)
    expected = np.asarray(trained_vae.decode(z))
    np.testing.assert_allclose(outputs["serving_default__images"], expected, atol=1e-5)
    np.testing.assert_allclose(outputs["decode__images"], expected, atol=1e-5)
    mean, log_var = (np.asarray(t) for t in trained_vae.encode(images))
    np.testing.assert_allclose(outputs["encode__mean"], mean, atol=1e-5)
    np.testing.assert_allclose(outputs["encode__log_var"], log_var, atol=1e-5)
    np.testing.assert_allclose(
        outputs["reconstruct__images"], np.asarray(trained_vae.reconstruct(images)), atol=1e-5
    )
    assert outputs["serving_default__images"].dtype == np.float32
    assert 0.0 <= outputs["serving_default__images"].min() <= outputs["serving_default__images"].max() <= 1.0


def test_saved_model_cli_lists_signatures(tmp_path, trained_vae):
    path = export.export(trained_vae, str(tmp_path / "vae"))
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    command = [cli] if os.path.exists(cli) else [
        sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    proc = subprocess.run(command + ["show", "--all", "--dir", path],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("serving_default", "encode", "decode"):
        assert f"signature_def['{name}']" in proc.stdout
    assert "shape: (-1, 3)" in proc.stdout  # z has a None batch dimension
    assert "shape: (-1, 28, 28, 1)" in proc.stdout
    assert "DT_FLOAT" in proc.stdout


def test_export_needs_a_default_signature_among_the_endpoints(tmp_path):
    class Broken(VAE):
        default_signature = "nope"

    with pytest.raises(ValueError, match="default_signature is 'nope'"):
        export.export(Broken(latent_dim=2), str(tmp_path / "broken"))
    assert not (tmp_path / "broken").exists()


EXPORTER = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
from keras_gen import export
from keras_gen.models import VAE
model = VAE(latent_dim=2, filters=(4, 8), dense_units=8)
go = sys.argv[3]
open(sys.argv[4], "w").close()
while not os.path.exists(go):  # both processes start exporting at the same moment
    time.sleep(0.005)
print(export.export(model, sys.argv[2]))
"""


def test_two_exports_at_once_get_two_whole_versions(tmp_path, repo_root):
    base, go = tmp_path / "exported" / "vae", tmp_path / "go"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    ready = [tmp_path / f"ready_{i}" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", EXPORTER, repo_root, str(base), str(go), str(r)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for r in ready]
    deadline = time.time() + 120
    while not all(r.exists() for r in ready) and time.time() < deadline:
        time.sleep(0.05)
    go.write_text("")
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err[-2000:] for _, err in outputs]
    paths = sorted(out.strip().splitlines()[-1] for out, _ in outputs)
    assert paths == [str(base / "1"), str(base / "2")]
    for path in paths:
        assert os.path.exists(os.path.join(path, "saved_model.pb"))
        assert json.loads(open(os.path.join(path, "assets", "metadata.json")).read())["version"] \
            == int(path[-1])
    assert sorted(os.listdir(base)) == ["1", "2"]  # no claims or staging folders left


def test_next_export_removes_what_a_killed_export_left(tmp_path):
    base = tmp_path / "vae"
    os.makedirs(base / "1")
    (base / ".2.claim").write_text("12345")  # a claim nobody holds a lock on, from long ago
    os.utime(base / ".2.claim", (time.time() - 3600, time.time() - 3600))
    os.makedirs(base / ".2.tmp-abc" / "model")
    version, _, lock = export.claim_version(str(base))  # a running export (this process)
    assert version == 3
    os.makedirs(base / ".3.tmp-xyz")
    os.utime(base / ".3.claim", (time.time() - 3600, time.time() - 3600))  # old, but locked
    assert export.remove_abandoned_exports(str(base)) == [".2.claim", ".2.tmp-abc"]
    assert (base / ".3.claim").exists() and (base / ".3.tmp-xyz").exists()
    assert export.claim_version(str(base))[0] == 4  # versions only grow
    with pytest.raises(FileExistsError, match="another export is writing version 3"):
        export.claim_version(str(base), 3)
    with pytest.raises(FileExistsError, match="already exists"):
        export.claim_version(str(base), 1)
    os.close(lock)  # the export of version 3 dies: its claim is abandoned
    assert ".3.claim" in export.remove_abandoned_exports(str(base))


def _png_header(width, height):
    """A PNG signature and IHDR chunk declaring `width` x `height` (no image data follows)."""
    import struct
    import zlib

    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))


def test_bytes_signatures_refuse_decompression_bombs_before_decoding():
    import tensorflow as tf

    model = VAE(latent_dim=2, filters=(4, 8), dense_units=8)
    function, _ = export.with_bytes_variants(export.with_serving_default(model))["reconstruct_bytes"]
    small = tf.io.encode_png(tf.zeros((28, 28, 1), tf.uint8))
    assert function(tf.stack([small]))["images_bytes"].shape == (1,)
    sizes = export.encoded_image_size(tf.constant(_png_header(20000, 20000)))
    assert [int(v) for v in sizes] == [20000, 20000]
    with pytest.raises(tf.errors.InvalidArgumentError, match="refused before decoding"):
        function(tf.constant([_png_header(20000, 20000) + b"\0" * 1000]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a PNG, JPEG, GIF or BMP"):
        function(tf.constant([b"hello, not an image"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="GIF files are refused"):
        function(tf.constant([b"GIF89a" + b"\0" * 100]))
    for encode, header in ((tf.io.encode_jpeg, None), (None, "GIF"), (None, "BMP")):
        if encode is not None:
            data = encode(tf.zeros((7, 9, 3), tf.uint8)).numpy()
        else:
            from io import BytesIO

            from PIL import Image

            buffer = BytesIO()
            Image.new("RGB", (9, 7)).save(buffer, format=header)
            data = buffer.getvalue()
        assert [int(v) for v in export.encoded_image_size(tf.constant(data))] == [7, 9]


def _signature(model, name):
    """The checked endpoint as a SavedModel would serve it (static shapes from its specs)."""
    import tensorflow as tf

    fn, specs = export.with_serving_default(model)[name]
    return tf.function(export.with_input_checks(fn, specs, ranges=model.input_ranges()),
                       input_signature=specs)


def test_requests_over_the_row_limit_are_refused_before_the_network_runs():
    import tensorflow as tf

    model = VAE(latent_dim=2, filters=(4, 8), dense_units=8)
    fn, specs = export.with_serving_default(model)["decode"]
    decode = tf.function(export.with_input_checks(fn, specs, max_rows=4), input_signature=specs)
    assert decode(tf.zeros((4, 2)))["images"].shape == (4, 28, 28, 1)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"input z: at most 4 rows per request \(max_rows, set at export\)"):
        decode(tf.zeros((5, 2)))


def test_a_bytes_request_over_the_pixel_budget_decodes_nothing():
    """Each image is under the per-image limit, together they are over the request's."""
    import tensorflow as tf

    model = VAE(latent_dim=2, filters=(4, 8), dense_units=8)
    function, _ = export.with_bytes_variants(export.with_serving_default(model))["reconstruct_bytes"]
    side = int((export.MAX_REQUEST_PIXELS * 0.6) ** 0.5)
    assert side * side <= export.MAX_DECODED_PIXELS
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=f"may hold at most {export.MAX_REQUEST_PIXELS} pixels together"):
        function(tf.constant([_png_header(side, side)] * 2))


def test_signature_inputs_that_are_errors_name_the_input():
    import tensorflow as tf

    from keras_gen.models import ConditionalGAN, DiffusionModel

    decode = _signature(VAE(latent_dim=2, filters=(4, 8), dense_units=8), "decode")
    assert decode(tf.zeros((1, 2)))["images"].shape == (1, 28, 28, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="input z must be finite"):
        decode(tf.constant([[0.0, float("nan")]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="input z must be finite"):
        decode(tf.constant([[float("inf"), 0.0]]))
    generate = _signature(ConditionalGAN(num_classes=3, latent_dim=4, units=(8,)), "generate")
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="inputs z, labels must have the same number of rows"):
        generate(tf.zeros((3, 4)), tf.constant([0, 1], tf.int32))
    sample = _signature(DiffusionModel(image_shape=(8, 8, 1), timesteps=10, base_filters=8), "sample")
    assert sample(tf.constant([1, 2]), tf.constant([3, 3]))["images"].shape == (2, 8, 8, 1)
    for steps in (0, -2, 10 ** 6):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"input steps must be in \[1, 10\]"):
            sample(tf.constant([1]), tf.constant([steps]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="inputs seeds, steps must have the same"):
        sample(tf.constant([1, 2]), tf.constant([3]))


def test_out_of_range_inputs_are_refused_not_clamped():
    """Issue 38: finite but absurd latents and truncations, and out-of-range crossovers and
    known rows, are refused with the range in the message (never NaN images, never clamped)."""
    import tensorflow as tf

    from keras_gen.models import PixelCNN, StyleGAN

    decode = _signature(VAE(latent_dim=2, filters=(4, 8), dense_units=8), "decode")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input z must be in \[-10000, 10000\]"):
        decode(tf.constant([[1e30, 0.0]]))
    style = StyleGAN(image_shape=(8, 8, 1), latent_dim=4, base_filters=2, max_filters=4)
    assert style.input_ranges()["crossover"] == (0, style.num_ws)
    sample = _signature(style, "sample")
    assert np.isfinite(sample(tf.constant([1]), tf.constant([0.5]))["images"].numpy()).all()
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input truncation must be in \[-10, 10\]"):
        sample(tf.constant([1]), tf.constant([3e38]))
    mix = _signature(style, "style_mix")
    mix(tf.constant([1]), tf.constant([2]), tf.constant([style.num_ws]))
    for crossover in (-1, style.num_ws + 1):
        with pytest.raises(tf.errors.InvalidArgumentError, match="input crossover must be in"):
            mix(tf.constant([1]), tf.constant([2]), tf.constant([crossover]))
    inpaint = _signature(PixelCNN(image_shape=(4, 4, 1), filters=4, num_blocks=1), "inpaint")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input known_rows must be in \[0, 4\]"):
        inpaint(tf.zeros((1, 4, 4, 1)), tf.constant([5]), tf.constant([0]))


def _run_unchecked(path, signature, **inputs):
    """Call a SavedModel signature the way TF Serving does: a C++ session run that feeds
    tensors of any shape (Python's signature call would check shapes first)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2

    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
        definition = meta.signature_def[signature]
        options = config_pb2.CallableOptions()
        names = sorted(inputs)
        options.feed.extend(definition.inputs[name].name for name in names)
        options.fetch.extend(output.name for output in definition.outputs.values())
        return session._make_callable_from_options(options)(*[inputs[name] for name in names])


def test_wrong_ranks_fed_as_tf_serving_does_get_the_shape_message(tmp_path):
    import tensorflow as tf

    path = export.export(VAE(latent_dim=2, filters=(4, 8), dense_units=8), str(tmp_path / "vae"))
    assert _run_unchecked(path, "decode", z=np.zeros((1, 2), np.float32))[0].shape == (1, 28, 28, 1)
    for value in (np.zeros((3,), np.float32), np.zeros((2, 2, 2), np.float32)):
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"input z must have shape \(batch >= 1, 2\)"):
            _run_unchecked(path, "decode", z=value)
    with pytest.raises(tf.errors.InvalidArgumentError, match="input images must have shape"):
        _run_unchecked(path, "reconstruct", images=np.zeros((28, 28), np.float32))
