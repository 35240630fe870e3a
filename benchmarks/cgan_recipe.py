"""Which conditional-GAN recipe draws the requested digit? Class consistency (the share of
samples the project's digit evaluator puts in the requested class) and FID/KID of 1,000
samples against the test split of mnist_5k, for variants of the cGAN's recipe at a fixed
number of epochs.

    python benchmarks/cgan_recipe.py                          # every variant, one after another
    python benchmarks/cgan_recipe.py --variants ema_40,no_dropout_160

Each variant is a `TrainingRun` (the run `apps/train.py cgan` makes) with the same data, seed
and batch size; only its constructor arguments and epochs differ. Writes
`benchmarks/results/cgan_recipe.{json,md}`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "apps"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from make_presets import sample_figures  # noqa: E402
from reporting import rounded, write_results  # noqa: E402

from keras_gen.training import TrainingRun  # noqa: E402

BASE = {"architecture": "dcgan", "latent_dim": 64, "base_filters": 32}
# name: (epochs, constructor arguments on top of BASE[, per-optimizer learning rates])
VARIANTS = {
    "no_ema_40": (40, {"ema_decay": None}),
    "ema_two_rates_40": (40, {"ema_decay": 0.999}, {"generator": 1e-4, "discriminator": 4e-4}),
    "ema_40": (40, {"ema_decay": 0.999}),
    "ema_no_dropout_40": (40, {"ema_decay": 0.999, "discriminator_dropout": 0.0}),
    "ema_64_filters_40": (40, {"ema_decay": 0.999, "base_filters": 64}),
    "ema_80": (80, {"ema_decay": 0.999}),
    "ema_no_dropout_120": (120, {"ema_decay": 0.999, "discriminator_dropout": 0.0}),
    "ema_no_dropout_160": (160, {"ema_decay": 0.999, "discriminator_dropout": 0.0}),
}


def measure(epochs, args, learning_rates=None):
    run = TrainingRun("cgan", "mnist_5k", epochs=epochs, batch_size=64, validation=False,
                      drop_remainder=True, model_args={**BASE, **args},
                      learning_rates=learning_rates, verbose=0, seed=0)
    run.build()
    start = time.time()
    run.fit()
    minutes = (time.time() - start) / 60
    return {"epochs": epochs, "model_args": {**BASE, **args}, "learning_rates": learning_rates,
            "minutes": round(minutes, 2),
            **rounded(sample_figures(run.model, "mnist_5k", None, 1000))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args(argv)
    results = {name: measure(*VARIANTS[name]) for name in args.variants.split(",")}
    rows = [(f"{name} ({entry['epochs']} epochs, {entry['minutes']} min): class consistency / FID / "
             f"KID / confident", f"{entry['class_consistency']} / {entry['fid']} / {entry['kid']} / "
             f"{entry['confident_share']}") for name, entry in results.items()]
    write_results(args.out, "cgan_recipe", {"variants": results}, rows,
                  "python benchmarks/cgan_recipe.py " + " ".join(argv or sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
