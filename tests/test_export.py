"""SavedModel export: TF Serving layout, signatures, metadata, and TensorFlow-only loading."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_gen import data, export
from keras_gen.models import VAE
from model_checks import run_saved_model_without_keras


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
    with pytest.raises(FileExistsError):
        export.export(trained_vae, base, version=2)
    assert export.export(trained_vae, base, version=7) == os.path.join(base, "7")
    assert export.next_version(base) == 8


def test_saved_model_runs_with_tensorflow_only(tmp_path, trained_vae):
    path = export.export(trained_vae, str(tmp_path / "vae"))
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 3)).astype("float32")
    images = data.load_arrays("mnist_5k", "test")[0][:4]
    outputs, signatures = run_saved_model_without_keras(
        path,
        {"serving_default__z": z, "decode__z": z, "encode__images": images,
         "reconstruct__images": images},
        tmp_path,
    )
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
