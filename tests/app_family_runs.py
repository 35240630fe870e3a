"""Every registered family through the training app (`apps/train.py`'s `main`, in process),
shared by `test_train_app_families_{1,2}.py`: the cases are split over two files so that the
two test workers (whole files each) share them. Each file ends by loading every SavedModel its
runs exported in one TensorFlow-only interpreter (the family contract's export check), so each
family's small model is trained, saved and exported once for all of these checks."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps"))
import keras  # noqa: E402
import serve_check  # noqa: E402
import train  # noqa: E402
from family_cases import all_families, default_outputs, signature_inputs  # noqa: E402

from keras_gen import data  # noqa: E402
from keras_gen.export import with_bytes_variants, with_serving_default  # noqa: E402
from keras_gen.models import FAMILIES  # noqa: E402

VAE_SIGNATURES = {"serving_default", "encode", "decode", "decode_bytes", "reconstruct",
                  "reconstruct_bytes", "sample", "sample_bytes"}
AE_SIGNATURES = {"serving_default", "encode", "decode", "decode_bytes", "reconstruct",
                 "reconstruct_bytes", "anomaly_score"}
GAN_SIGNATURES = {"serving_default", "generate", "generate_bytes", "sample", "sample_bytes"}
# What each family exported before the family contract (stop 14): the refactor keeps it.
AUTOREGRESSIVE_SIGNATURES = {"serving_default", "log_prob", "sample", "sample_bytes", "inpaint",
                             "inpaint_bytes"}
PINNED_SIGNATURES = {
    "vae": VAE_SIGNATURES, "beta_vae": VAE_SIGNATURES, "cvae": VAE_SIGNATURES,
    "dbvae": VAE_SIGNATURES | {"classify"},
    "autoencoder": AE_SIGNATURES, "stacked_ae": AE_SIGNATURES, "sparse_ae": AE_SIGNATURES,
    "denoising_ae": AE_SIGNATURES | {"denoise", "denoise_bytes"},
    "gan": GAN_SIGNATURES, "dcgan": GAN_SIGNATURES, "cgan": GAN_SIGNATURES, "wgan_gp": GAN_SIGNATURES,
    "pix2pix": {"serving_default", "translate", "translate_bytes"},
    "cyclegan": {"serving_default", "translate_x_to_y", "translate_y_to_x",
                 "translate_x_to_y_bytes", "translate_y_to_x_bytes"},
    "pixelcnn": AUTOREGRESSIVE_SIGNATURES, "pixelrnn": AUTOREGRESSIVE_SIGNATURES,
    "diffusion": {"serving_default", "sample", "sample_bytes"},
    "sagan": GAN_SIGNATURES, "biggan": GAN_SIGNATURES, "progan": GAN_SIGNATURES,
    "stylegan": GAN_SIGNATURES | {"mapping", "synthesis", "synthesis_bytes", "style_mix",
                                  "style_mix_bytes"},
}
# Variety beyond each family's smoke_config (optional: every registered family runs anyway).
EXTRA_ARGS = {
    "autoencoder": ["--set", "architecture='conv'", "--set", "units=(8, 16)"],
    "stacked_ae": ["--pretrain-epochs", "1"],
    "denoising_ae": ["--set", "noise='masking'"],
    "dcgan": ["--fid-every", "1"],
    "pixelcnn": ["--no-validation"],
    "pixelrnn": ["--no-validation"],
    "cyclegan": ["--no-validation"],
    "sagan": ["--set", "conditional=True"],  # the app feeds it the emoji groups as labels
}


# The families whose layout has a digit task of its own (edges -> digits, digits <-> mnist_5k,
# "is it a 7?") also run it; every family runs in colour.
DIGIT_TASKS = [("pix2pix", "mnist_5k"), ("cyclegan", "mnist_5k"), ("dbvae", "mnist_5k")]
CASES = [(family, "openmoji") for family in all_families()] + DIGIT_TASKS


def check_family_trains_and_exports(family, dataset, tmp_path, capsys):
    """Every registered family, at its smoke_config, trains through the app on colour openmoji
    at 16x16 (or its layout's colour task), writes a colour sample grid and exports every
    signature it declares, with the data's attribution. The app's `main` runs in this process
    (a fresh interpreter per family cost 16 TensorFlow starts; `test_train_app_writes_everything`
    runs it as a subprocess)."""
    extra = EXTRA_ARGS.get(family, []) + (
        ["--dataset", "openmoji", "--image-size", "16", "16"] if dataset == "openmoji"
        else ["--dataset", dataset])
    config = {**FAMILIES[family].smoke_config}
    config.pop("num_classes", None)  # the data decides it (10 digits, 10 emoji groups)
    settings = [arg for key, value in config.items() if f"{key}=" not in " ".join(extra)
                for arg in ("--set", f"{key}={value!r}")]
    out, exported = tmp_path / "run", tmp_path / "exported"
    status = train.main([family, "--epochs", "1", "--batch-size", "16", "--steps-per-epoch", "2",
                         "--out", str(out), "--export-dir", str(exported), "--verbose", "0",
                         *settings, *extra])
    assert status == 0, capsys.readouterr().err[-3000:]
    meta = json.loads((exported / family / "1" / "assets" / "metadata.json").read_text())
    assert meta.get("data_attribution") == data.attribution(dataset)
    model = keras.saving.load_model(str(out / "model.keras"))
    channels = 3 if dataset == "openmoji" else 1
    assert model.image_shape[-1] == channels and meta["image_shape"][-1] == channels
    # the export writes the signatures pinned here (a family not pinned yet: those it declares)
    declared = PINNED_SIGNATURES.get(family) or set(with_bytes_variants(with_serving_default(model)))
    assert set(meta["signatures"]) == declared
    # the serving contract (apps/serve_check.py) holds for what the app exported
    reports, problems = serve_check.check_export_root(str(exported))
    assert problems == [] and reports[0]["signatures"] == sorted(declared)
    grid = np.asarray(Image.open(out / "samples" / "samples_epoch_001.png"))
    assert grid.shape[0] > 50 and grid.std() > 0
    assert grid.ndim == (3 if channels == 3 else 2) and (grid.ndim == 2 or grid.shape[-1] == 3)
    if meta["config"].get("conditional"):  # labels through the app, and into the export
        assert meta["num_classes"] == 10 and {"seeds", "labels", "truncation"} <= set(meta["inputs"])
    if "--fid-every" in extra:
        history = (out / "history.csv").read_text()
        assert "fid" in history.splitlines()[0]
    # what each signature gave in process, for the TensorFlow-only check of this export, and
    # what serving_default gives from the keras model itself
    _, specs = with_serving_default(model)["serving_default"]
    inputs = {spec.name: value for spec, value in zip(specs, signature_inputs(specs))}
    EXPORTS[(family, dataset)] = {
        "path": str(exported / family / "1"), "signatures": set(meta["signatures"]),
        "examples": {**reports[0]["examples"], "keras": (inputs, {
            k: np.asarray(v) for k, v in default_outputs(model).items()})}}


#: What each run above exported, by (family, dataset): its path, its signatures, and example
#: `(inputs, outputs)` by signature (as served in process, and "keras": the model's own
#: serving_default).
EXPORTS = {}

# Loads SavedModels in one fresh interpreter where keras and keras_gen cannot be imported and
# calls every signature (one process for all: each start costs seconds); "keras" examples are
# serving_default's inputs.
TF_ONLY_ALL = r"""
import json, pickle, sys
sys.modules["keras"] = None
sys.modules["keras_gen"] = None
import tensorflow as tf
cases = json.load(open(sys.argv[1]))
for case in cases:
    loaded = tf.saved_model.load(case["path"])
    with open(case["inputs"], "rb") as handle:
        examples = pickle.load(handle)
    outputs = {}
    for name, inputs in examples.items():
        function = loaded.signatures["serving_default" if name == "keras" else name]
        got = function(**{k: tf.constant(v) for k, v in inputs.items()})
        outputs[name] = {k: v.numpy() for k, v in got.items()}
    with open(case["outputs"], "wb") as handle:
        pickle.dump(outputs, handle)
    case["signatures"] = sorted(loaded.signatures.keys())
json.dump(cases, open(sys.argv[2], "w"))
"""


def check_exports_run_with_tensorflow_alone(cases, tmp_path, capsys):
    """The family contract for SavedModels: each export of `cases` loads with TensorFlow alone
    (no keras, no keras_gen), every signature runs and gives what it gave in process, its
    serving_default gives what the keras model gives, and it lists the signatures its
    metadata names. The exports are those of this file's
    app runs; a case not run yet in this process (a test picked on its own) is run here first."""
    for family, dataset in cases:
        if (family, dataset) not in EXPORTS:
            check_family_trains_and_exports(family, dataset, tmp_path / f"{family}_{dataset}", capsys)
    manifest = []
    for index, case in enumerate(cases):
        export = EXPORTS[case]
        with open(tmp_path / f"in_{index}.pkl", "wb") as handle:
            pickle.dump({name: inputs for name, (inputs, _) in export["examples"].items()}, handle)
        manifest.append({"case": list(case), "path": export["path"],
                         "inputs": str(tmp_path / f"in_{index}.pkl"),
                         "outputs": str(tmp_path / f"out_{index}.pkl")})
    (tmp_path / "cases.json").write_text(json.dumps(manifest))
    proc = subprocess.run([sys.executable, "-c", TF_ONLY_ALL, str(tmp_path / "cases.json"),
                           str(tmp_path / "done.json")], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = json.loads((tmp_path / "done.json").read_text())
    assert [tuple(case["case"]) for case in done] == list(cases)
    for case in done:
        export = EXPORTS[tuple(case["case"])]
        assert set(case["signatures"]) == export["signatures"], case["case"]
        assert set(export["examples"]) == export["signatures"] | {"keras"}, case["case"]
        with open(case["outputs"], "rb") as handle:
            got = pickle.load(handle)
        for signature, (_, expected) in export["examples"].items():
            assert set(got[signature]) == set(expected), (case["case"], signature)
            for name, value in expected.items():
                where = f"{case['case']} {signature} {name}"
                if value.dtype == object:  # encoded images: the same bytes
                    assert list(got[signature][name].reshape(-1)) == list(value.reshape(-1)), where
                else:
                    np.testing.assert_allclose(got[signature][name], value, atol=1e-5, err_msg=where)
