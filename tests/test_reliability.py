"""Reliability: resume after SIGKILL, numerical faults, bad input, determinism, fuzzing."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_gen import data
from keras_gen.callbacks import NonFiniteLossError, StopOnNonFiniteLoss
from keras_gen.models import VAE, AutoEncoder, ConditionalGAN, ConditionalVAE
from killed_runs import kill_after_backup

TRAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps", "train.py")


#: The killed run: BigGAN, whose state is the richest to bring back (G, D, the EMA copy of G,
#: spectral-norm vectors, two optimizers), small enough for seconds per epoch.
BIGGAN_ARGS = {"base_filters": 4, "latent_dim": 12, "embedding_dim": 8}


def app_command(out, exported, *extra):
    return [sys.executable, TRAIN, "biggan", "--dataset", "mnist_5k", "--epochs", "6",
            "--steps-per-epoch", "6", "--batch-size", "16",
            *[arg for key, value in BIGGAN_ARGS.items() for arg in ("--set", f"{key}={value}")],
            "--no-validation", "--out", str(out), "--export-dir", str(exported), "--verbose", "0",
            *extra]


def history_epochs(out):
    with open(out / "history.csv") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def _short_run(out, epochs):
    from keras_gen.training import TrainingRun

    return TrainingRun("autoencoder", epochs=epochs, steps_per_epoch=2, batch_size=16,
                       validation=False, model_args={"latent_dim": 2, "units": (8,)},
                       out=str(out), verbose=0).run()


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("two_epochs") / "run"
    _short_run(out, 2)
    return out


@pytest.mark.parametrize("left_behind", ["row", "half_row", "row_and_grid"])
def test_a_kill_between_the_history_row_and_the_backup_repeats_no_row(tmp_path, two_epoch_run,
                                                                      left_behind):
    """Every kill moment between an epoch's history row and the backup that marks the epoch
    done leaves one of these on disk (the row, half of it, the row and the epoch's grid); the
    resumed run re-runs that epoch and its history has one row per epoch."""
    import shutil

    out = tmp_path / "run"
    shutil.copytree(two_epoch_run, out)
    rows = (out / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1"]
    # the state of a run of 4 epochs killed after epoch 3's row, before its backup: the
    # backup marks 2 epochs done (a finished run deletes its backup; write the marker back)
    (out / "backup").mkdir(exist_ok=True)
    (out / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": 2}))
    row = rows[-1].replace("1,", "2,", 1)
    with open(out / "history.csv", "a") as handle:
        handle.write(row[:4] if left_behind == "half_row" else row + "\n")
    if left_behind == "row_and_grid":
        (out / "samples" / "samples_epoch_003.png").write_bytes(b"")
    summary = _short_run(out, 4)
    assert summary["resumed_from_epoch"] == 2
    assert history_epochs(out) == [0, 1, 2, 3]


def test_killed_training_resumes_from_the_last_saved_epoch(tmp_path, repo_root):
    """apps/train.py killed mid-run (SIGKILL: no chance to clean up) exports nothing; the same
    command resumes from the backup with generator, EMA copy, spectral-norm vectors and both
    optimizers where they were, writes one history row and one checkpoint per epoch, and
    exports."""
    import keras

    from keras_gen.models import BigGAN

    out, exported = tmp_path / "run", tmp_path / "exported"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    saved = kill_after_backup(app_command(out, exported), out / "backup", 2, env, repo_root)  # mid-epoch
    assert 2 <= saved < 6
    assert not (exported / "biggan").exists()  # nothing half-exported

    resumed = subprocess.run(app_command(out, exported), env=env, cwd=repo_root,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from the backup in {out / 'backup'}: {saved} of 6 epochs done" in resumed.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from_epoch"] == saved
    # one history row per epoch, in order (a kill between an epoch's row and its backup re-runs
    # that epoch; the resumed run drops the row it left), and training finished
    assert history_epochs(out) == list(range(6))
    # 6 epochs x 6 steps in all, counted by each optimizer across the kill
    model = keras.saving.load_model(str(out / "model.keras"))
    assert int(model.get_optimizer("discriminator").iterations) == 36
    assert int(model.get_optimizer("generator").iterations) == 36
    # no checkpoint lost or corrupted: all six load, no partial files left, the backup is gone
    names = sorted(os.listdir(out / "checkpoints"))
    assert names == [f"epoch_{i:03d}.weights.h5" for i in range(1, 7)]
    fresh = BigGAN(image_shape=(28, 28, 1), num_classes=10, **BIGGAN_ARGS)
    for name in names:
        fresh.load_weights(str(out / "checkpoints" / name))
    assert not (out / "backup").exists()
    assert (exported / "biggan" / "1" / "saved_model.pb").exists()


def test_non_finite_loss_stops_training_naming_loss_and_step():
    x = np.random.default_rng(0).random((32, 28, 28, 1)).astype("float32")
    x[20] = np.nan  # the third batch of 8
    model = AutoEncoder(latent_dim=4, units=(8,))
    model.compile(optimizer="adam")
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, step 3 \(global step 3\): .*loss=nan"):
        model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[StopOnNonFiniteLoss()])


def test_train_app_exits_on_nan_without_exporting(tmp_path, repo_root):
    """A learning rate far too high drives the loss to inf/nan: exit status 3, a message naming
    the loss and the step, and no SavedModel."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, TRAIN, "vae", "--epochs", "3", "--steps-per-epoch", "10", "--batch-size", "16",
         "--learning-rate", "1e12", "--set", "latent_dim=2", "--set", "filters=(4, 8)", "--no-validation",
         "--out", str(tmp_path / "run"), "--export-dir", str(tmp_path / "exported"), "--verbose", "0"],
        env=env, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "non-finite loss at epoch" in proc.stderr and "step" in proc.stderr
    assert "loss=" in proc.stderr and "nothing exported" in proc.stderr
    assert not (tmp_path / "exported").exists()


@pytest.mark.parametrize("images, message", [
    (np.zeros((4, 28, 28), "float32"), "has rank 3"),
    (np.zeros((4, 32, 32, 1), "float32"), r"images of size \(28, 28\); the training data has \(32, 32\)"),
    (np.zeros((4, 28, 28, 3), "float32"), "expects 1 channel"),
])
def test_fit_rejects_wrongly_shaped_images(images, message):
    model = VAE(latent_dim=2, filters=(4, 8))
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=message):
        model.fit(images, epochs=1, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(2)
    with pytest.raises(ValueError, match=message):
        model.fit(dataset, epochs=1, verbose=0)


def test_labels_out_of_range_are_errors_everywhere(tmp_path):
    cvae = ConditionalVAE(num_classes=3, latent_dim=2, filters=(4, 8))
    cvae.compile(optimizer="adam")
    x = np.zeros((4, 28, 28, 1), "float32")
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), got 0..5"):
        cvae.fit(x, np.array([0, 1, 2, 5]), epochs=1, verbose=0)
    # inside a traced step (a dataset's labels are only seen there)
    dataset = tf.data.Dataset.from_tensor_slices((x, np.array([0, 1, 2, 7]))).batch(4)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be in \[0, 3\)"):
        cvae.fit(dataset, epochs=1, verbose=0)
    cgan = ConditionalGAN(num_classes=3, latent_dim=4, units=(8,))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        cgan.sample(2, labels=[0, 3])
    # and through an exported signature
    from keras_gen.export import export

    loaded = tf.saved_model.load(export(cgan, str(tmp_path / "cgan")))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be in \[0, 3\)"):
        loaded.signatures["sample"](seeds=tf.constant([1]), labels=tf.constant([-1]))


def test_signatures_reject_wrong_dtypes_and_shapes(tmp_path):
    from keras_gen.export import export
    from keras_gen.serving import LocalClient

    path = export(VAE(latent_dim=2, filters=(4, 8)), str(tmp_path / "vae"))
    loaded = tf.saved_model.load(path)
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match="int32|dtype|float"):
        loaded.signatures["sample"](seeds=tf.constant([0.5, 1.5]))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"input images must have shape \(batch >= 1, 28, 28, 1\); got"):
        loaded.signatures["reconstruct"](images=tf.zeros((1, 32, 32, 1)))
    client = LocalClient(path)
    with pytest.raises(ValueError, match=r"takes inputs \['seeds'\], got \['z'\]"):
        client.predict("sample", z=np.zeros((1, 2), "float32"))
    with pytest.raises(KeyError, match="no signature 'nope'"):
        client.predict("nope", seeds=[1])


def test_same_seed_gives_identical_first_epoch_losses(tmp_path, repo_root):
    """Two fresh interpreters, one seed: identical losses."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    histories = []
    for run in range(2):
        out = tmp_path / f"run{run}"
        proc = subprocess.run(
            [sys.executable, TRAIN, "dcgan", "--epochs", "1", "--steps-per-epoch", "5", "--batch-size", "16",
             "--seed", "3", "--set", "base_filters=8", "--set", "latent_dim=8", "--no-validation",
             "--no-export", "--out", str(out), "--verbose", "0"],
            env=env, cwd=repo_root, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        histories.append((out / "history.csv").read_text())
    assert histories[0] == histories[1]
    assert "d_loss" in histories[0].splitlines()[0]


# ---------------------------------------------------------------------- fuzzing
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(hnp.arrays(dtype=st.sampled_from([np.uint8, np.int32, np.float32, np.float64, np.bool_, np.complex64]),
                  shape=hnp.array_shapes(min_dims=1, max_dims=5, min_side=0, max_side=6),
                  elements=None),
       st.sampled_from([(0.0, 1.0), (-1.0, 1.0), (1.0, 0.0), (0, 0)]))
def test_from_arrays_gives_a_valid_pipeline_or_a_value_error(x, value_range):
    try:
        dataset = data.from_arrays(x, batch_size=4, value_range=value_range, shuffle=False)
    except ValueError as err:
        assert str(err)  # a message naming the problem
        return
    low, high = value_range
    for batch in dataset:
        values = batch.numpy()
        assert values.dtype == np.float32 and values.ndim == 4
        assert np.all(np.isfinite(values)) and values.min() >= low - 1e-6 and values.max() <= high + 1e-6


@pytest.fixture(scope="module")
def exported_vae(tmp_path_factory):
    from keras_gen.export import export
    from keras_gen.serving import LocalClient

    return LocalClient(export(VAE(latent_dim=2, filters=(4, 8)), str(tmp_path_factory.mktemp("x") / "vae")))


@FUZZ
@given(st.sampled_from(["sample", "decode", "reconstruct", "encode", "reconstruct_bytes"]),
       hnp.arrays(dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.uint8]),
                  shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=30)))
def test_signatures_answer_or_refuse_clearly(exported_vae, signature, value):
    """Any array sent to any signature input gives a result of the documented shape or an
    error naming the input's dtype or shape: never a crash or a silent wrong-shape result."""
    name = next(iter(exported_vae.input_specs(signature)))
    if name == "images_bytes":
        value = np.array([value.tobytes()], dtype=object)
    try:
        outputs = exported_vae.signatures[signature](**{name: value})
    except (TypeError, ValueError, tf.errors.InvalidArgumentError) as err:
        assert str(err)
        return
    for key, result in outputs.items():
        assert len(result) == len(value)
        if key == "images":
            assert result.shape[1:] == (28, 28, 1) and np.all((result >= 0) & (result <= 1))
