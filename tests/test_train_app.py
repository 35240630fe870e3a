"""apps/train.py end to end in a subprocess: checkpoints, logs, sample PNGs and the export."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "apps"))
import train  # noqa: E402
from family_cases import all_families, make_case  # noqa: E402

from keras_gen.models import FAMILIES  # noqa: E402
from keras_gen.training.run import resolve_jit  # noqa: E402


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
     (["vaex"], "invalid choice: 'vaex'"),
     (["vae", "--decay"], "decay_over_budget needs time_budget_s"),
     (["vae", "--pretrain-epochs", "1"], "vae has no layer-wise pretraining"),
     # sizes that would not fit: refused from the estimate, before anything is allocated
     (["dcgan", "--set", "base_filters=100000"], "dcgan at these sizes is too large to train here"),
     (["dcgan", "--set", "latent_dim=1000000000"], "over the 8 GB budget"),
     (["stylegan", "--set", "max_filters=100000", "--set", "base_filters=100000"],
      "raise the budget (--memory-budget-gb"),
     (["vae", "--image-size", "100000", "100000"], "vae at these sizes is too large"),
     (["vae", "--memory-budget-gb", "0.001"], "over the 0.001 GB budget"),
     (["vae", "--memory-budget-gb", "inf"], "memory_budget_gb must be a finite number")],
)
def test_bad_arguments_fail_clearly(tmp_path, capsys, args, message):
    """The app's `main` in this process (exit status and stderr as a subprocess sees them)."""
    try:
        status = train.main([*args, "--out", str(tmp_path / "run"),
                             "--export-dir", str(tmp_path / "exp"), "--epochs", "1"])
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()


def test_parse_overrides():
    assert train.parse_overrides(["latent_dim=8", "beta=4.5", "filters=(8, 16)", "likelihood=gaussian"]) == {
        "latent_dim": 8, "beta": 4.5, "filters": (8, 16), "likelihood": "gaussian"}
    with pytest.raises(ValueError):
        train.parse_overrides(["=3"])


def recipe_args(*argv):
    args = train.build_parser(FAMILIES).parse_args(list(argv))
    return train.recipe_run_args(FAMILIES[args.family].recipe, args)


def test_flags_not_given_come_from_the_family_recipe():
    dcgan = recipe_args("dcgan")
    assert dcgan["time_budget_s"] == 180.0 and dcgan["dataset"] == "mnist_5k"
    assert dcgan["validation"] is False and dcgan["model_args"] == {"base_filters": 32}
    # --epochs alone drops the recipe's wall-clock budget; --minutes alone keeps its epochs cap
    assert recipe_args("dcgan", "--epochs", "2")["time_budget_s"] is None
    assert recipe_args("vae", "--minutes", "2")["epochs"] == FAMILIES["vae"].recipe.epochs
    # --set goes on top of the recipe's arguments
    assert recipe_args("dcgan", "--set", "base_filters=8", "--set", "ema_decay=None")[
        "model_args"] == {"base_filters": 8, "ema_decay": None}
    wgan = recipe_args("wgan_gp")
    assert wgan["learning_rates"] == {"generator": 1e-4, "discriminator": 4e-4}
    assert wgan["model_args"]["n_critic"] == 1
    assert recipe_args("wgan_gp", "--learning-rate", "1e-3")["learning_rates"] is None
    faces = recipe_args("stylegan")
    assert faces["dataset"] == "openmoji_faces" and faces["image_size"] == (32, 32)
    assert recipe_args("stylegan", "--dataset", "mnist_5k")["image_size"] is None
    assert recipe_args("stacked_ae")["pretrain_epochs"] == 2
    assert recipe_args("stacked_ae", "--pretrain-epochs", "0")["pretrain_epochs"] == 0
    assert recipe_args("vae", "--no-validation")["validation"] is False


def test_every_family_declares_its_own_recipe():
    """A subclass inheriting its parent's recipe would train the parent's default run (a
    cGAN with the MLP GAN's arguments)."""
    for name, family in FAMILIES.items():
        assert "recipe" in vars(family), name


def test_learning_rates_give_each_optimizer_its_own_rate():
    from keras_gen.training import TrainingRun

    run = TrainingRun("wgan_gp", epochs=1, model_args=FAMILIES["wgan_gp"].smoke_config,
                      learning_rates={"generator": 1e-4, "discriminator": 4e-4}, verbose=0)
    model = run.build()
    rates = {slot: float(model.get_optimizer(slot).learning_rate) for slot in ("generator", "discriminator")}
    assert rates == pytest.approx({"generator": 1e-4, "discriminator": 4e-4})
    assert float(model.get_optimizer("generator").beta_2) == 0.9  # the family's own Adam
    with pytest.raises(ValueError, match="learning_rates names 'critic'"):
        TrainingRun("wgan_gp", epochs=1, model_args=FAMILIES["wgan_gp"].smoke_config,
                    learning_rates={"critic": 1e-4}).build()


@pytest.mark.parametrize("name", all_families())
def test_what_the_command_line_asks_is_what_each_optimizer_has(name):
    """Issue 39: one optimizer spec per family. `--learning-rate` is every slot's rate (BigGAN's
    D had 4x it), `--learning-rates SLOT=RATE` one slot's; otherwise the recipe's rates, else
    the family's declared ones; Adam's other settings stay the family's."""
    from keras_gen.training import TrainingRun

    family = FAMILIES[name]
    model = make_case(name)[0]
    slots = family.optimizer_names
    declared = family.optimizer_specs()
    recipe_rates = family.recipe.learning_rates or {}
    cases = [((), {s: recipe_rates.get(s, declared[s].learning_rate) for s in slots}),
             (("--learning-rate", "3e-4"), dict.fromkeys(slots, 3e-4)),
             (("--learning-rates", f"{slots[-1]}=5e-5"),
              {s: 5e-5 if s == slots[-1] else recipe_rates.get(s, declared[s].learning_rate)
               for s in slots})]
    for argv, expected in cases:
        args = train.build_parser(FAMILIES).parse_args([name, *argv])
        run = TrainingRun(name, **train.recipe_run_args(family.recipe, args),
                          learning_rate=args.learning_rate)
        model.compile(optimizer=model.default_optimizer(run.learning_rate, run.learning_rates))
        for slot in slots:
            optimizer = model.get_optimizer(slot)
            assert float(optimizer.learning_rate) == pytest.approx(expected[slot]), (argv, slot)
            assert float(optimizer.beta_1) == pytest.approx(declared[slot].beta_1), slot
            assert float(optimizer.beta_2) == pytest.approx(declared[slot].beta_2), slot
    with pytest.raises(ValueError, match="--learning-rates expects SLOT=RATE"):
        recipe_args(name, "--learning-rates", f"{slots[0]}=fast")


def test_biggan_trains_at_the_one_rate_the_command_line_gives():
    """`apps/train.py biggan --learning-rate 1e-4` compiled D at 4e-4 before issue 39."""
    from keras_gen.training import TrainingRun

    args = train.build_parser(FAMILIES).parse_args(["biggan", "--learning-rate", "1e-4"])
    run_args = train.recipe_run_args(FAMILIES["biggan"].recipe, args)
    run_args["model_args"] = FAMILIES["biggan"].smoke_config
    model = TrainingRun("biggan", **run_args, learning_rate=args.learning_rate, verbose=0).build()
    assert {slot: float(model.get_optimizer(slot).learning_rate)
            for slot in ("generator", "discriminator")} == pytest.approx(
        {"generator": 1e-4, "discriminator": 1e-4})


def test_jit_compile_auto_follows_the_cpu_measurements():
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("with a GPU auto is on for every family")
    assert resolve_jit("auto", "sparse_ae") is True  # measured 1.07x to 1.37x faster with XLA
    assert resolve_jit("auto", "dcgan") is False     # measured 0.68x to 0.85x
    assert resolve_jit("auto", "gan") is False       # 0.82x to 1.05x over three processes
    assert resolve_jit("auto", "gan", "mirrored") is False
    assert resolve_jit("on", "dcgan") is True and resolve_jit("off", "gan") is False


@pytest.mark.parametrize("kwargs, message", [
    (dict(epochs=0), "epochs must be an integer >= 1, got 0"),
    (dict(steps_per_epoch=0), "steps_per_epoch must be an integer >= 1, got 0"),
    (dict(batch_size=-4), "batch_size must be an integer >= 1"),
    (dict(image_size=(0, 0)), "image_size must be (height, width), each at least 4"),
    (dict(family="pix2pix", image_size=(7, 7)), "pix2pix on 'mnist_5k' trains on 28x28 digit tasks"),
    (dict(family="cyclegan", image_size=(32, 32)), "cyclegan on 'mnist_5k' trains on 28x28"),
    (dict(family="nope"), "unknown family 'nope'"),
    # issue 38: what nothing checked before
    (dict(time_budget_s=float("inf")), "time_budget_s must be a finite number of seconds > 0"),
    (dict(learning_rate=-1.0), "learning_rate must be a finite number > 0, got -1.0"),
    (dict(family="dcgan", learning_rates={"generator": float("nan")}),
     "learning_rates['generator'] must be a finite number > 0"),
    (dict(family="dcgan", batch_size=5000, drop_remainder=True),
     "batch_size 5000 leaves no whole batch of the training data of 'mnist_5k'"),
    (dict(steps_per_epoch=2, steps_per_execution=400),
     "steps_per_execution 400 is more than the 2 steps of one epoch; use at most 2"),
    (dict(family="dcgan", model_args={"latent_dim": 2.5}),
     "cannot build dcgan: latent_dim must be a whole number >= 1, got 2.5"),
    (dict(family="autoencoder", model_args={"units": -1}),
     "cannot build autoencoder: units must be a list of whole numbers >= 1, got -1"),
    (dict(family="stylegan", model_args={"mapping_layers": -2}),
     "mapping_layers must be a whole number >= 0, got -2"),
    (dict(family="stylegan", model_args={"max_filters": 0}),
     "max_filters must be a whole number >= 1, got 0"),
])
def test_training_run_refuses_arguments_it_cannot_honour(kwargs, message):
    from keras_gen.training import TrainingRun

    with pytest.raises(ValueError, match=re.escape(message)):
        TrainingRun(**{"family": "vae", **kwargs}).build()


def test_zero_steps_is_one_clear_line(tmp_path, repo_root):
    proc = run_app(repo_root, "vae", "--steps-per-epoch", "0", "--out", str(tmp_path / "run"),
                   "--export-dir", str(tmp_path / "exp"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == \
        "error: steps_per_epoch must be an integer >= 1, got 0"


def test_an_epoch_of_steps_per_epoch_may_span_several_passes():
    """`steps_per_epoch` beyond one pass over a small data set repeats it (the fake-faces app
    runs 100-step epochs on 850 faces) instead of ending the epoch when the data runs out."""
    from keras_gen.training import TrainingRun

    run = TrainingRun("autoencoder", "digits", epochs=2, steps_per_epoch=30, batch_size=64,
                      validation=False, verbose=0, model_args={"latent_dim": 4, "units": (16,)})
    run.build()
    assert 0 < int(run.task.train.cardinality()) < 30  # fewer batches than one epoch's steps
    run.fit()
    assert int(run.model.get_optimizer().iterations) == 60
