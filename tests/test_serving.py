"""The serving contract, models.config, and the REST/gRPC client against a TF Serving stand-in."""

import io
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import keras_gen
from keras_gen.export import export, write_models_config
from keras_gen.models import VAE
from keras_gen.serving import Client, LocalClient, check_saved_model

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps"))
import serve_check  # noqa: E402
from fake_tf_serving import FakeTFServing  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exported")
    keras_gen.training.base.keras.utils.set_random_seed(0)
    export(VAE(latent_dim=3, filters=(4, 8), dense_units=16), str(root / "vae"))
    return root


def png(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_export_writes_models_config_parsed_by_tf_serving_protos(exported):
    assert serve_check.check_models_config(str(exported), ["vae"]) == []
    assert serve_check.check_models_config(str(exported), ["vae", "gan"]) == [
        "models.config does not list 'gan'"]
    text = (exported / "models.config").read_text()
    assert 'base_path: "/models/vae"' in text


def test_models_config_lists_only_versioned_folders(tmp_path):
    (tmp_path / "a" / "1").mkdir(parents=True)
    (tmp_path / "b" / "notes").mkdir(parents=True)
    (tmp_path / ".staging" / "1").mkdir(parents=True)
    text = open(write_models_config(str(tmp_path), base_path="/srv/")).read()
    assert 'name: "a"' in text and 'base_path: "/srv/a"' in text
    assert '"b"' not in text and "staging" not in text


def test_every_image_signature_has_a_bytes_twin(exported):
    client = LocalClient(str(exported / "vae"))
    assert client.signature_names() == sorted([
        "serving_default", "decode", "decode_bytes", "encode", "reconstruct", "reconstruct_bytes",
        "sample", "sample_bytes"])
    images = client.signatures["sample"](seeds=[3, 4])["images"]
    files = client.signatures["sample_bytes"](seeds=[3, 4])["images_bytes"]
    decoded = np.stack([np.asarray(Image.open(io.BytesIO(f))) for f in files])
    np.testing.assert_array_equal(decoded, np.round(images[..., 0] * 255).astype(np.uint8))
    # bytes in: any size and channel count is converted to the model's input
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[10:30, 10:30] = 255
    out = client.signatures["reconstruct_bytes"](images_bytes=np.array([png(rgb)], dtype=object))
    assert np.asarray(Image.open(io.BytesIO(out["images_bytes"][0]))).shape == (28, 28)


def test_contract_check_passes_a_keras_gen_export(exported):
    report = check_saved_model(str(exported / "vae"))
    assert report["problems"] == []
    assert "sample_bytes" in report["signatures"]
    assert serve_check.main([str(exported)]) == 0


def test_contract_check_names_each_breach(tmp_path):
    module = tf.Module()
    module.scale = tf.Variable(2.0)

    @tf.function(input_signature=[tf.TensorSpec((), tf.float32, name="x")])
    def scalar(x):
        return {"y": x * module.scale}

    @tf.function(input_signature=[tf.TensorSpec((None, 2), tf.uint8, name="pixels")])
    def small_ints(pixels):
        return {"y": tf.cast(pixels, tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="text")])
    def text(text):
        return {"length": tf.strings.length(text)}

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.float32, name="x")])
    def python(x):
        return {"y": tf.py_function(lambda v: v * 2.0, [x], tf.float32)}

    path = str(tmp_path / "bad" / "1")
    tf.saved_model.save(module, path, signatures={"serving_default": scalar, "small_ints": small_ints,
                                                  "text": text, "python": python})
    problems = check_saved_model(path)["problems"]
    assert "the graph calls back into Python (EagerPyFunc), which TF Serving cannot run" in problems
    assert "serving_default: input 'x' is not batched (shape [])" in problems
    assert "small_ints: input 'pixels' has dtype uint8, not JSON-representable" in problems
    assert "text: string input 'text' is not named *_bytes" in problems
    assert serve_check.main([str(tmp_path)]) == 1


@pytest.mark.parametrize("transport", ["row", "columnar", "grpc"])
def test_client_matches_the_in_process_model(exported, transport):
    local = LocalClient(str(exported / "vae"))
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    calls = {
        "serving_default": {"z": np.random.default_rng(1).standard_normal((3, 3)).astype(np.float32)},
        "sample": {"seeds": np.array([0, 5, 9], np.int32)},
        "encode": {"images": images},  # two outputs
        "reconstruct_bytes": {"images_bytes": np.array(
            [png((im[..., 0] * 255).astype(np.uint8)) for im in images], dtype=object)},
    }
    with FakeTFServing({"vae": str(exported / "vae")}) as server:
        url = server.grpc_url if transport == "grpc" else server.rest_url
        client = Client(url, "vae", format="columnar" if transport == "columnar" else "row")
        assert "sample_bytes" in client.signature_names()
        for signature, inputs in calls.items():
            expected = local.signatures[signature](**inputs)
            got = client.signatures[signature](**inputs)
            assert sorted(got) == sorted(expected), signature
            for key in expected:
                if expected[key].dtype == object:
                    assert [bytes(b) for b in got[key]] == [bytes(b) for b in expected[key]]
                else:
                    np.testing.assert_allclose(np.asarray(got[key], np.float32), expected[key], atol=1e-6)
        with pytest.raises(Exception, match="labels|no signature|not found|invalid|Unexpected|argument"):
            client.signatures["sample"](seeds=np.array([1], np.int32), labels=np.array([1], np.int32))


def test_client_reports_server_errors(exported):
    with FakeTFServing({"vae": str(exported / "vae")}) as server:
        with pytest.raises(RuntimeError, match="404"):
            Client(server.rest_url, "nope").predict(z=np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="format"):
        Client("http://localhost:1", "vae", format="csv")
