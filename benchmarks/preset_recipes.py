"""Which long recipe should a family's preset be trained with? Variants of the family's quick
recipe trained for the same number of steps (or the same wall-clock time), each with an FID
curve on the way and, at the end, FID/KID, feature spread, confident share and (conditional
models) class consistency of 1,000 samples against the test split, with a sample grid.

    python benchmarks/preset_recipes.py --family dcgan --variants quick,filters_64 --epochs 24
    # two variants side by side, one core each, into one results file:
    taskset -c 0 python benchmarks/preset_recipes.py --family dcgan --variants quick --epochs 24 &
    taskset -c 1 python benchmarks/preset_recipes.py --family dcgan --variants filters_64 --epochs 24

An epoch here is `--steps-per-epoch` steps (500); `--minutes` instead stops each variant after
that much wall-clock time (the comparison at equal time). Each variant's figures are written
to `results/<name>.parts/<variant>.json` when it ends, and `results/<name>.{json,md}` is
rewritten from every part present, so variants run in separate processes land in one table.
Grids: `results/figures/<name>_<variant>_samples.png`.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "apps"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from make_presets import sample_figures  # noqa: E402
from reporting import rounded, write_results  # noqa: E402

from keras_gen import data  # noqa: E402
from keras_gen.callbacks import FIDCallback  # noqa: E402
from keras_gen.models import FAMILIES  # noqa: E402
from keras_gen.plots import save_image_grid  # noqa: E402
from keras_gen.training import TrainingRun  # noqa: E402

# family: {variant: constructor arguments on top of the family's quick recipe}; "quick" is
# the quick recipe itself.
VARIANTS = {
    "dcgan": {"quick": {}, "filters_64": {"base_filters": 64},
              "filters_128": {"base_filters": 128},
              "filters_64_augment": {"base_filters": 64, "augment": "translation,cutout"}},
    "wgan_gp": {"quick": {}, "filters_64": {"base_filters": 64}},
    "gan": {"quick": {}, "units_256_512": {"units": (256, 512)},
            "units_256_512_1024": {"units": (256, 512, 1024)}},
    "sagan": {"quick": {}, "dcgan_32": {"architecture": "dcgan", "base_filters": 32},
              "augment": {"augment": "translation,cutout"},
              "no_attention": {"attention": False}},
    "biggan": {"quick": {}, "dcgan_32": {"architecture": "dcgan", "base_filters": 32}},
}


def variant_args(family, variant):
    """The `TrainingRun` arguments of one variant: the quick recipe with its arguments on top."""
    if family not in VARIANTS or variant not in VARIANTS[family]:
        known = {name: sorted(v) for name, v in VARIANTS.items()}
        raise ValueError(f"unknown variant {family}/{variant}; known: {known}")
    recipe = FAMILIES[family].recipe.with_model_args(VARIANTS[family][variant])
    return recipe, recipe.run_args_for()


def measure(family, variant, args, figures_dir, tag):
    recipe, run_args = variant_args(family, variant)
    run_args.update(epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                    time_budget_s=None if args.minutes is None else 60.0 * args.minutes)
    if args.minutes is not None:
        run_args["epochs"] = 100_000
    run = TrainingRun(family, seed=args.seed, verbose=2, **run_args)
    run.build()
    x_test = data.load_arrays(recipe.dataset, "test", image_size=recipe.image_size)[0]
    curve = FIDCallback(x_test, every=args.fid_every, num_images=1000)
    run.task.callbacks = [*run.task.callbacks, curve]
    start = time.time()
    run.fit()
    minutes = (time.time() - start) / 60
    steps = run.summary.get("train_steps") or len(run.history.epoch) * args.steps_per_epoch
    figures = sample_figures(run.model, recipe.dataset, recipe.image_size, args.samples)
    labels = None
    if getattr(run.model, "num_classes", None):
        labels = np.arange(100) % int(run.model.num_classes)
    grid = run.model.sample(100, seed=1, **({} if labels is None else {"labels": labels}))
    save_image_grid(np.asarray(grid), os.path.join(figures_dir, f"{tag}_{variant}_samples.png"),
                    cols=10)
    return {"family": family, "model_args": recipe.model_args, "steps": int(steps),
            "minutes": round(minutes, 2),
            # the last epoch of a time budget may stop short of its steps
            "fid_curve": [(min(int(epoch) * args.steps_per_epoch, int(steps)), round(float(value), 3))
                          for epoch, value in curve.history],
            **rounded(figures)}


def report(out, tag, command):
    """Rewrite `<tag>.{json,md}` from every variant's part written so far."""
    parts = {}
    for path in sorted(glob.glob(os.path.join(out, f"{tag}.parts", "*.json"))):
        with open(path) as handle:
            parts[os.path.basename(path)[:-5]] = json.load(handle)
    rows = []
    for name, e in parts.items():
        extra = "".join(f" / {e[k]}" for k in ("class_consistency",) if k in e)
        rows.append((f"{e['family']} {name} ({e['steps']} steps, {e['minutes']} min): FID / KID / "
                     f"spread / confident" + (" / class consistency" if extra else ""),
                     f"{e['fid']} / {e['kid']} / {e['spread']} / {e['confident_share']}{extra}"))
        if e["fid_curve"]:
            rows.append((f"{e['family']} {name}: FID at steps",
                         ", ".join(f"{s}: {v}" for s, v in e["fid_curve"])))
    commands = sorted({e.get("command", command) for e in parts.values()})
    write_results(out, tag, {"variants": parts}, rows, "; ".join(commands))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", required=True, choices=sorted(VARIANTS))
    parser.add_argument("--variants", default=None, help="comma-separated (default: all)")
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--steps-per-epoch", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=None,
                        help="equal wall-clock time instead of equal steps")
    parser.add_argument("--fid-every", type=int, default=4, help="epochs between curve points")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default=None, help="results name (default <family>_recipes)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args(argv)
    variants = (args.variants or ",".join(VARIANTS[args.family])).split(",")
    for variant in variants:  # fail on a typo before any training
        variant_args(args.family, variant)
    tag = args.name or f"{args.family}_recipes"
    os.makedirs(os.path.join(args.out, f"{tag}.parts"), exist_ok=True)
    command = "python benchmarks/preset_recipes.py " + " ".join(argv or sys.argv[1:])
    for variant in variants:
        entry = measure(args.family, variant, args, os.path.join(args.out, "figures"), tag)
        entry["command"] = command
        with open(os.path.join(args.out, f"{tag}.parts", f"{variant}.json"), "w") as handle:
            json.dump(entry, handle, indent=2)
        report(args.out, tag, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
