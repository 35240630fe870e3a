"""apps/train.py end to end in a subprocess: checkpoints, logs, sample PNGs and the export."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps"))
import serve_check  # noqa: E402
import train  # noqa: E402


def run_app(repo_root, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, os.path.join(repo_root, "apps", "train.py"), *args],
                          capture_output=True, text=True, env=env, timeout=600, cwd=repo_root)


def test_train_app_writes_everything(tmp_path, repo_root):
    out, exported = tmp_path / "run", tmp_path / "exported"
    proc = run_app(repo_root, "vae", "--dataset", "mnist_5k", "--epochs", "2", "--batch-size", "16",
                   "--steps-per-epoch", "4", "--out", str(out), "--export-dir", str(exported),
                   "--set", "latent_dim=4", "--set", "filters=(8, 16)", "--verbose", "0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(os.listdir(out / "checkpoints")) == ["epoch_001.weights.h5", "epoch_002.weights.h5"]
    assert sorted(os.listdir(out / "samples")) == ["samples_epoch_001.png", "samples_epoch_002.png"]
    grid = np.asarray(Image.open(out / "samples" / "samples_epoch_002.png"))
    assert grid.ndim == 2 and grid.shape[0] > 100 and grid.std() > 0
    for sub in ("train", "validation", "samples"):
        assert any(f.startswith("events.out.tfevents") for f in os.listdir(out / "logs" / sub))
    assert (out / "curves.png").exists() and (out / "model.keras").exists()
    assert (exported / "vae" / "1" / "saved_model.pb").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["export"].endswith(os.path.join("vae", "1"))
    assert set(summary["final_metrics"]) >= {"loss", "kl_loss", "reconstruction_loss", "val_loss"}
    meta = json.loads((exported / "vae" / "1" / "assets" / "metadata.json").read_text())
    assert meta["latent_dim"] == 4 and meta["training_data"] == "mnist_5k"


@pytest.mark.parametrize(
    "args, message",
    [(["vae", "--dataset", "nope"], "unknown dataset 'nope'"),
     (["vae", "--set", "latent_dim"], "--set expects key=value"),
     (["vae", "--set", "colour=3"], "cannot build vae"),
     (["vaex"], "invalid choice: 'vaex'")],
)
def test_bad_arguments_fail_clearly(tmp_path, repo_root, args, message):
    proc = run_app(repo_root, *args, "--out", str(tmp_path / "run"),
                   "--export-dir", str(tmp_path / "exp"), "--epochs", "1")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not (tmp_path / "exp").exists()


def test_parse_overrides():
    assert train.parse_overrides(["latent_dim=8", "beta=4.5", "filters=(8, 16)", "likelihood=gaussian"]) == {
        "latent_dim": 8, "beta": 4.5, "filters": (8, 16), "likelihood": "gaussian"}
    with pytest.raises(ValueError):
        train.parse_overrides(["=3"])


VAE_SIGNATURES = {"serving_default", "encode", "decode", "decode_bytes", "reconstruct",
                  "reconstruct_bytes", "sample", "sample_bytes"}
AE_SIGNATURES = {"serving_default", "encode", "decode", "decode_bytes", "reconstruct",
                 "reconstruct_bytes", "anomaly_score"}
GAN_SIGNATURES = {"serving_default", "generate", "generate_bytes", "sample", "sample_bytes"}
FAMILY_CASES = {
    "beta_vae": (["--set", "latent_dim=3", "--set", "filters=(8, 16)"], VAE_SIGNATURES),
    "cvae": (["--set", "latent_dim=3", "--set", "filters=(8, 16)"], VAE_SIGNATURES),
    "dbvae": (["--set", "latent_dim=3", "--set", "filters=(8, 16)"], VAE_SIGNATURES | {"classify"}),
    "autoencoder": (["--set", "latent_dim=8", "--set", "architecture='conv'", "--set", "units=(8, 16)"],
                    AE_SIGNATURES),
    "stacked_ae": (["--set", "units=(32, 16)", "--pretrain-epochs", "1"], AE_SIGNATURES),
    "sparse_ae": (["--set", "units=(32,)", "--set", "latent_dim=16"], AE_SIGNATURES),
    "denoising_ae": (["--set", "units=(32,)", "--set", "noise='masking'"],
                     AE_SIGNATURES | {"denoise", "denoise_bytes"}),
    "gan": (["--set", "units=(32,)", "--set", "ema_decay=0.9"], GAN_SIGNATURES),
    "dcgan": (["--set", "base_filters=8", "--fid-every", "1"], GAN_SIGNATURES),
    "cgan": (["--set", "units=(32,)"], GAN_SIGNATURES),
    "wgan_gp": (["--set", "base_filters=8"], GAN_SIGNATURES),
    "pix2pix": (["--set", "base_filters=8"], {"serving_default", "translate", "translate_bytes"}),
    "cyclegan": (["--set", "base_filters=8", "--set", "num_blocks=1"],
                 {"serving_default", "translate_x_to_y", "translate_y_to_x",
                  "translate_x_to_y_bytes", "translate_y_to_x_bytes"}),
    "pixelcnn": (["--set", "filters=4", "--set", "num_blocks=1", "--no-validation"],
                 {"serving_default", "log_prob", "sample", "sample_bytes"}),
    "diffusion": (["--set", "base_filters=8", "--set", "timesteps=50"],
                  {"serving_default", "sample", "sample_bytes"}),
}


@pytest.mark.parametrize("family", sorted(FAMILY_CASES))
def test_every_family_trains_and_exports(family, tmp_path, repo_root):
    extra, signatures = FAMILY_CASES[family]
    out, exported = tmp_path / "run", tmp_path / "exported"
    proc = run_app(repo_root, family, "--epochs", "1", "--batch-size", "16", "--steps-per-epoch", "2",
                   "--out", str(out), "--export-dir", str(exported), "--verbose", "0", *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((exported / family / "1" / "assets" / "metadata.json").read_text())
    assert set(meta["signatures"]) == signatures
    # the serving contract (apps/serve_check.py) holds for what the app exported
    reports, problems = serve_check.check_export_root(str(exported))
    assert problems == [] and reports[0]["signatures"] == sorted(signatures)
    grid = np.asarray(Image.open(out / "samples" / "samples_epoch_001.png"))
    assert grid.shape[0] > 50
    if "--fid-every" in extra:
        history = (out / "history.csv").read_text()
        assert "fid" in history.splitlines()[0]


def test_jit_compile_auto_follows_the_cpu_measurements():
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("with a GPU auto is on for every family")
    assert train.resolve_jit("auto", "sparse_ae") is True  # measured 1.07x to 1.37x faster with XLA
    assert train.resolve_jit("auto", "dcgan") is False     # measured 0.68x to 0.85x
    assert train.resolve_jit("auto", "gan") is False       # 0.82x to 1.05x over three processes
    assert train.resolve_jit("auto", "gan", "mirrored") is False
    assert train.resolve_jit("on", "dcgan") is True and train.resolve_jit("off", "gan") is False
