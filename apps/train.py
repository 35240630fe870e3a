"""Train any keras_gen family with `model.fit`, then export it for TF Serving.

    python apps/train.py                      # VAE on the offline mnist_5k, exports exported/vae/<n>
    python apps/train.py dcgan                # DCGAN's quick recipe: 3 minutes, EMA generator
    python apps/train.py dcgan --recipe preset  # the recipe its shipped preset was trained with
    python apps/train.py vae --dataset mnist_5k --epochs 5 --batch-size 64 \
        --steps-per-epoch 20 --out runs/vae --export-dir exported --set latent_dim=8 --set beta=4
    python apps/train.py stacked_ae --pretrain-epochs 2 --set "units=(256, 128)"

The family names are those of `keras_gen.models.FAMILIES`. What a flag does not set comes from
the family's recipe: by default its quick one (`<Family>.recipe`: data set, epochs or minutes,
batch size, constructor arguments, learning rates), with `--recipe preset` the longer one its
shipped preset was trained with (`<Family>.preset_recipe`); the preset's card says what each
buys; `--set` goes on top of the recipe's arguments. Each family's
data comes from its declared batch layout (`keras_gen.data.training_data`) and the run from
`keras_gen.training.TrainingRun`, which says what is written where. Exit status 2: bad
arguments or data (nothing trained); 3: a NaN or infinite loss (nothing exported).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_overrides(pairs):
    """`["latent_dim=8", "beta=4.0"]` -> `{"latent_dim": 8, "beta": 4.0}` (Python literals)."""
    overrides = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--set expects key=value, got {pair!r}")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def parse_rates(pairs):
    """`{slot: rate}` from `--learning-rates SLOT=RATE ...`; `ValueError` names a bad pair."""
    rates = {}
    for pair in pairs:
        slot, sep, value = pair.partition("=")
        try:
            rates[slot] = float(value) if sep and slot else None
        except ValueError:
            rates[slot] = None
        if rates[slot] is None:
            raise ValueError(f"--learning-rates expects SLOT=RATE, got {pair!r}")
    return rates


def recipe_run_args(recipe, args):
    """`TrainingRun` arguments from the family's `recipe` with the flags on top: data, budget
    (the recipe's epochs and minutes, unless `--epochs` or `--minutes` is given), batch size,
    learning rates (`--learning-rate` replaces per-slot ones, `--learning-rates` sets some),
    constructor arguments
    (`--set` on top), validation, pretraining. Raises `ValueError` for a bad `--set`."""
    run_args = recipe.with_model_args(parse_overrides(args.set)).run_args_for(args.dataset)
    if args.epochs is not None or args.minutes is not None:
        run_args["epochs"] = recipe.epochs if args.epochs is None else args.epochs
        run_args["time_budget_s"] = None if args.minutes is None else 60.0 * args.minutes
    if args.learning_rate is not None:
        run_args["learning_rates"] = None
    if args.learning_rates:
        run_args["learning_rates"] = {**(run_args["learning_rates"] or {}),
                                      **parse_rates(args.learning_rates)}
    if args.image_size:
        run_args["image_size"] = tuple(args.image_size)
    if args.batch_size is not None:
        run_args["batch_size"] = args.batch_size
    if args.steps_per_epoch is not None:
        run_args["steps_per_epoch"] = args.steps_per_epoch
    if args.no_validation:
        run_args["validation"] = False
    if args.pretrain_epochs is not None:
        run_args["pretrain_epochs"] = args.pretrain_epochs
    return run_args


def build_parser(families):
    from keras_gen.training.footprint import DEFAULT_BUDGET_GB
    from keras_gen.training.recipe import RECIPE_KINDS
    from keras_gen.training.run import PRECISIONS, STRATEGIES

    parser = argparse.ArgumentParser(
        description="Train a keras_gen model with model.fit and export it as a SavedModel.")
    parser.add_argument("family", nargs="?", default="vae", choices=sorted(families))
    parser.add_argument("--recipe", default="quick", choices=RECIPE_KINDS,
                        help="the family's quick default (a few minutes) or the longer recipe "
                             "its shipped preset was trained with (resumable: epochs, not minutes)")
    parser.add_argument("--dataset", default=None,
                        help="mnist_5k, digits, openmoji, openmoji_faces, tfds:<name>, or a folder "
                             "path (default: the family's recipe; mnist_5k for most)")
    parser.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), default=None)
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: the family's recipe (with its --minutes when neither is given)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the recipe's (64)")
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="one rate for every optimizer (default: the recipe's rates, else "
                             "the family's declared ones, e.g. BigGAN's 1e-4 for G, 4e-4 for D)")
    parser.add_argument("--learning-rates", nargs="+", default=None, metavar="SLOT=RATE",
                        help="one optimizer's rate, e.g. discriminator=4e-4 (after --learning-rate)")
    parser.add_argument("--out", default=None, help="run folder (default runs/<family>)")
    parser.add_argument("--export-dir", default="exported")
    parser.add_argument("--name", default=None, help="export name (default: the family)")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--no-validation", action="store_true")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "on", "off"],
                        help="XLA; auto = on with a GPU, and on a CPU only for the families measured "
                             "faster with it there (" + ", ".join(
                            n for n, f in families.items() if f.declared("xla_faster_on_cpu")) + ")")
    parser.add_argument("--pretrain-epochs", type=int, default=None,
                        help="greedy layer-wise pretraining epochs per layer (families with "
                             "layer-wise pretraining: stacked_ae)")
    parser.add_argument("--fid-every", type=int, default=0,
                        help="FID to the test split every N epochs (image generators)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after this much wall-clock training time (--epochs is then "
                             "the most it runs; default: the recipe's, unless --epochs is given)")
    parser.add_argument("--decay", action="store_true",
                        help="with --minutes: lower the learning rates linearly to 0 over the "
                             "budget (a resumed run decays from the rate it had, over a new budget)")
    parser.add_argument("--memory-budget-gb", type=float, default=DEFAULT_BUDGET_GB,
                        help="refuse, before building it, a model whose estimated training "
                             "memory (weights, gradients, Adam moments and layer outputs at the "
                             f"batch size) passes this (default {DEFAULT_BUDGET_GB:g})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategy", default="default", choices=STRATEGIES,
                        help="tf.distribute strategy (multiworker reads TF_CONFIG)")
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="train steps per compiled call (fewer Python round trips)")
    parser.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="model constructor argument, repeatable (e.g. --set latent_dim=8)")
    return parser


def main(argv=None):
    from keras_gen.callbacks import NonFiniteLossError
    from keras_gen.models import FAMILIES
    from keras_gen.training import TrainingRun

    args = build_parser(FAMILIES).parse_args(argv)
    try:
        run = TrainingRun(
            args.family, **recipe_run_args(FAMILIES[args.family].recipe_named(args.recipe), args),
            learning_rate=args.learning_rate,
            precision=args.precision, jit_compile=args.jit_compile, strategy=args.strategy,
            steps_per_execution=args.steps_per_execution, fid_every=args.fid_every,
            seed=args.seed, decay_over_budget=args.decay, memory_budget_gb=args.memory_budget_gb,
            out=args.out or os.path.join("runs", args.family),
            export_dir=None if args.no_export else args.export_dir, export_name=args.name,
            verbose=args.verbose)
        run.build()
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        run.fit()
    except NonFiniteLossError as err:
        print(f"error: {err}; nothing exported (checkpoints of earlier epochs are in "
              f"{os.path.join(run.out, 'checkpoints')})", file=sys.stderr)
        return 3
    summary = run.finish()
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
