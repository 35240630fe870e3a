"""The notes' "generating fake faces" example: StyleGAN on the emoji faces, offline.

    python apps/fake_faces.py                  # 15 minutes on 2 CPU cores, then the figures
    python apps/fake_faces.py --minutes 60 --dataset tfds:celeb_a --size 64   # where it downloads

Trains `stylegan` on the faces subset of openmoji (971 smileys and people in five skin tones,
the offline stand-in for a face data set; any folder of face photos or `tfds:celeb_a` works
the same way) at 32x32 with StyleGAN's recipe (at most 64 filters, batch 64; `--set` and
`--batch-size` change it, `--augment` adds DiffAugment), for `--minutes` of wall-clock time,
then writes into `--out`:

- `fake_faces.png`: 64 samples (no truncation);
- `truncation_strip.png`: one seed per row, psi = 1 (none) down to 0 (the mean face) across;
- `style_mixing.png`: the column seeds along the top, the row seeds down the left, each cell
  with its row's coarse styles (layers below the crossover) and its column's fine ones;

and exports `<export-dir>/stylegan/<n>` for TF Serving (`python -m apps.studio` shows it with
a truncation slider and a style-mixing panel). A killed run resumes from `--out/backup`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRUNCATIONS = (1.0, 0.8, 0.6, 0.4, 0.2, 0.0)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0,
                        help="wall-clock training time (default 15: a coffee on 2 CPU cores)")
    parser.add_argument("--dataset", default="openmoji_faces",
                        help="openmoji_faces (offline default), a folder of face photos, tfds:celeb_a")
    parser.add_argument("--size", type=int, default=32, help="image side (32 or 64)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: the StyleGAN recipe's (64)")
    parser.add_argument("--augment", default="",
                        help="DiffAugment policy for the discriminator, e.g. color,translation,cutout "
                             "(default none: it slowed these short runs; benchmarks/results/faces_output.md)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="more StyleGAN arguments, e.g. --set base_filters=64")
    parser.add_argument("--out", default=os.path.join("runs", "fake_faces"))
    parser.add_argument("--export-dir", default="exported")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def write_figures(model, out, seed=0):
    """The sample grid, the truncation strip and the style-mixing figure; their paths."""
    import numpy as np

    from keras_gen.plots import save_image_grid, style_mixing_tiles

    paths = {"samples": os.path.join(out, "fake_faces.png"),
             "truncation": os.path.join(out, "truncation_strip.png"),
             "style_mixing": os.path.join(out, "style_mixing.png")}
    save_image_grid(model.sample(64, seed=seed), paths["samples"], cols=8, scale=3)
    seeds = np.arange(seed, seed + 6, dtype=np.int32)
    strip = [np.asarray(model.sample_from_seeds(seeds, truncation=np.full(6, psi, np.float32)))
             for psi in TRUNCATIONS]
    save_image_grid(np.stack(strip, axis=1).reshape(-1, *model.image_shape), paths["truncation"],
                    cols=len(TRUNCATIONS), scale=3)
    tiles = style_mixing_tiles(model.style_mix_from_seeds, seeds[:5], seeds[:5] + 100,
                               model.num_ws // 2, model.num_ws)
    save_image_grid(tiles, paths["style_mixing"], cols=6, scale=3)
    return paths


def main(argv=None):
    args = build_parser().parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from train import parse_overrides

    from keras_gen.models import StyleGAN
    from keras_gen.training import TrainingRun

    try:
        # the recipe under the flags; epochs of 100 steps: a checkpoint, a sample grid and a
        # backup about once a minute
        run_args = StyleGAN.recipe.with_model_args(
            {"augment": args.augment, **parse_overrides(args.set)}).run_args_for(args.dataset)
        run_args.update(epochs=1_000_000, steps_per_epoch=100, image_size=(args.size, args.size),
                        time_budget_s=60.0 * args.minutes)
        if args.batch_size:
            run_args["batch_size"] = args.batch_size
        run = TrainingRun("stylegan", seed=args.seed, out=args.out, export_dir=args.export_dir,
                          export_name="stylegan", verbose=0, **run_args)
        summary = run.run()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary["figures"] = write_figures(run.model, args.out, args.seed)
    with open(os.path.join(args.out, "summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    print(json.dumps({k: summary.get(k) for k in ("train_steps", "train_seconds", "export", "figures")},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
