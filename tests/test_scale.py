"""Every family under mixed precision, under MirroredStrategy, and compiled with XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from family_cases import DETERMINISTIC, all_families, default_outputs, make_case
from keras_gen.models import FAMILIES


def families(default):
    """Every family; those outside `default` are marked slow (run with `-m slow`)."""
    return [f if f in default else pytest.param(f, marks=pytest.mark.slow) for f in all_families()]


def fit_steps(model, batch, steps=1, jit_compile=False, batch_size=8, run_eagerly=False):
    model.compile(optimizer=model.default_optimizer(), jit_compile=jit_compile,
                  run_eagerly=run_eagerly)
    data = tf.data.Dataset.from_tensor_slices(batch).repeat().batch(batch_size, drop_remainder=True)
    history = model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return {k: float(v[-1]) for k, v in history.history.items()}


#: One family per batch layout takes its mixed-precision step as a traced graph, as `fit` runs by
#: default, under the policy named here (each policy traced for two or more layouts); every
#: other (family, policy) runs the same `train_step` eagerly (`run_eagerly=True`), which checks
#: the same dtypes, loss scaling and finite losses without seconds of tracing per family (every
#: family's traced float32 step is in the app's family runs).
TRACED_UNDER_MIXED_PRECISION = {"cgan": "mixed_float16", "cyclegan": "mixed_bfloat16",
                                "dbvae": "mixed_float16", "dcgan": "mixed_bfloat16",
                                "pix2pix": "mixed_float16"}


def test_a_traced_mixed_precision_step_covers_every_batch_layout():
    layouts = {FAMILIES[name].batch_layout for name in TRACED_UNDER_MIXED_PRECISION}
    assert layouts == {FAMILIES[name].batch_layout for name in all_families()}


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("family", all_families())
def test_one_step_under_mixed_precision(family, policy):
    keras.mixed_precision.set_global_policy(policy)
    model, batch = make_case(family)
    losses = fit_steps(model, batch, steps=1,
                       run_eagerly=TRACED_UNDER_MIXED_PRECISION.get(family) != policy)
    assert losses and all(np.isfinite(v) for v in losses.values()), losses
    optimizers = model.optimizers_by_name
    scaled = [isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers.values()]
    # float16 needs loss scaling in every optimizer of a multi-optimizer model; bfloat16 none
    assert all(scaled) if policy == "mixed_float16" else not any(scaled), optimizers
    compute = {layer.dtype_policy.compute_dtype for layer in model._flatten_layers() if layer.weights}
    assert compute & {"float16", "bfloat16"}, f"{family} computes in {compute}"
    assert keras.ops.convert_to_numpy(list(default_outputs(model).values())[0]).dtype == np.float32


def replica_weights_agree(model):
    """Mirrored (sync-on-write) variables hold one value on every replica. Batch-norm moving
    statistics are sync-on-read: each replica keeps its own and reads give their mean."""
    for variable in model.weights:
        values = getattr(variable.value, "values", None)
        if values and type(variable.value).__name__ == "MirroredVariable":
            first = values[0].numpy()
            for other in values[1:]:
                np.testing.assert_array_equal(other.numpy(), first, err_msg=variable.path)


@pytest.mark.parametrize("family", families(
    {"autoencoder", "sparse_ae", "pixelcnn", "vae", "dcgan", "wgan_gp"}))
def test_mirrored_strategy_trains_every_family(family, mirrored_strategy):
    """Two replicas: finite losses and identical weights on both after two steps; deterministic
    families also match one device with the same global batch."""
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    keras.utils.set_random_seed(7)
    with mirrored_strategy.scope():
        model, batch = make_case(family)
        losses = fit_steps(model, batch, steps=2)
    assert all(np.isfinite(v) for v in losses.values()), losses
    replica_weights_agree(model)
    kinds = {type(v.value).__name__ for v in model.weights}
    assert "MirroredVariable" in kinds and kinds <= {"MirroredVariable", "SyncOnReadVariable"}, kinds
    if family in DETERMINISTIC:
        keras.utils.set_random_seed(7)
        with tf.distribute.OneDeviceStrategy(devices[0]).scope():
            single, batch = make_case(family)
            single_losses = fit_steps(single, batch, steps=2)
        for a, b in zip(model.weights, single.weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=a.path)
        for key in single_losses:
            assert losses[key] == pytest.approx(single_losses[key], rel=1e-4, abs=1e-5), key


@pytest.mark.parametrize("family", families({"autoencoder", "vae", "cgan", "pixelcnn", "wgan_gp"}))
def test_every_family_compiles_with_xla(family):
    model, batch = make_case(family)
    losses = fit_steps(model, batch, steps=1, jit_compile=True)
    assert all(np.isfinite(v) for v in losses.values()), losses


def _free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_process_multiworker_training_agrees(tmp_path, repo_root):
    """apps/train.py --strategy multiworker: two worker processes on localhost (TF_CONFIG) train
    together, end with the same weights, and only the chief exports."""
    import json
    import os
    import subprocess
    import sys

    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(repo_root, "apps", "train.py"), "autoencoder",
             "--strategy", "multiworker", "--epochs", "2", "--steps-per-epoch", "3",
             "--batch-size", "16", "--set", "units=(16,)", "--set", "latent_dim=4",
             "--out", str(tmp_path / "run"), "--export-dir", str(tmp_path / "exported"),
             "--no-validation", "--verbose", "0"],
            env=env, cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    chief = keras.saving.load_model(str(tmp_path / "run" / "model.keras"))
    worker = keras.saving.load_model(str(tmp_path / "run" / "worker_1" / "model.keras"))
    assert len(chief.weights) == len(worker.weights) > 0
    for a, b in zip(chief.weights, worker.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, err_msg=a.path)
    initial = type(chief).from_config(chief.get_config())
    assert not np.allclose(initial.weights[0].numpy(), chief.weights[0].numpy())  # it trained
    losses = [json.loads((tmp_path / "run" / d / "summary.json").read_text())["final_metrics"]["loss"]
              for d in ("", "worker_1")]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5) and np.isfinite(losses[0])
    assert sorted(os.listdir(tmp_path / "exported")) == ["autoencoder", "models.config"]
