"""Train the presets shipped in `keras_gen/preset_files/`, one per family, on the offline data.

    python apps/make_presets.py                       # all of them (several hours on 2 cores)
    python apps/make_presets.py --only vae_mnist --only dcgan_mnist
    python apps/make_presets.py --only dcgan_mnist --quick keep   # keep the card's quick figures
    python apps/make_presets.py --table               # print the README's preset table
    python apps/make_presets.py --overview benchmarks/results/figures/presets_overview.png

Each preset is trained by `keras_gen.training.TrainingRun` on its family's preset recipe
(`<Family>.preset_recipe`: the best long recipe its benchmark found, counted in epochs; the
quick `<Family>.recipe` where a family declares none), in a run folder under `--runs`
(default `runs/presets/<name>`): killed midway, the same command resumes it from its last
completed epoch. The family's quick default (`python apps/train.py <family>`, a few minutes)
is trained and measured too, so the card says both what the default buys and what the preset
is (`--quick keep` reuses the quick figures already on the card).

The weights are stored as float16 (`save_to_preset(weights_dtype=...)`), and every figure on
the card is measured from those shipped weights, reloaded: the family's own losses on the test
split, and for models that draw images FID/KID, feature spread, confident share and (when
conditional) class consistency of 1,000 samples (fewer for the slow samplers) with the
project's evaluator. The card (README.md) says what the preset is, the commands, the figures
and, for openmoji, the licence.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from docs_tables import preset_table  # noqa: E402  (apps/, beside this file)

from keras_gen import data, metrics  # noqa: E402
from keras_gen.models import FAMILIES  # noqa: E402
from keras_gen.presets import (  # noqa: E402
    PRESET_ROOT,
    load_preset,
    preset_metadata,
    save_to_preset,
)
from keras_gen.training import TrainingRun  # noqa: E402

# Size budgets, checked by tests/test_presets.py: a GAN preset holds G, D and the EMA copy of G
# (all three are needed to fine-tune it), so 5 MB of float16 is about 2.5M parameters; a clone
# carries at most 60 MB of presets.
MAX_PRESET_BYTES = 5_000_000
MAX_TOTAL_BYTES = 60_000_000


def catalogue():
    """`{preset name: entry}` of every family that declares a preset (`<Family>.preset`, a
    `keras_gen.training.PresetSpec`): its family, card text, headline figure, how many samples
    it is judged on (0: none) and the recipe it is trained with (`recipe_named("preset")`)."""
    entries = {}
    for family, cls in FAMILIES.items():
        spec = cls.declared("preset")
        if spec is not None:
            entries[spec.name] = dict(family=family, description=spec.description,
                                      headline=spec.headline, samples=spec.samples,
                                      recipe=cls.recipe_named("preset"))
    return entries


PRESETS = catalogue()


def sample_figures(model, dataset, image_size, count, seed=1):
    """FID/KID, feature spread, confident share and (conditional models) class consistency of
    `count` samples (drawn with `seed`) against the test split, with the evaluator that judges
    `dataset`."""
    x_test, _ = data.load_arrays(dataset, "test", image_size=image_size)
    extractor = metrics.evaluator_features(dataset)
    labels = None
    num_classes = getattr(model, "num_classes", None)
    if num_classes:
        labels = np.arange(count) % int(num_classes)
        images = model.sample(count, seed=seed, labels=labels)
    else:
        images = model.sample(count, seed=seed)
    report = metrics.sample_quality(np.asarray(images), extractor, extractor.features(x_test),
                                    requested_classes=labels,
                                    kid_subset_size=min(500, count, len(x_test)))
    keep = ("fid", "kid", "spread", "confident_share", "class_consistency")
    return {key: float(report[key]) for key in keep if key in report}


def heldout_figures(model, task, entry, samples=None):
    """The figures of `model` on held-out data: the family's losses on the test split (named
    `test_*`; for families that validate) and sample quality of `samples` (default: the
    entry's) images."""
    figures = {}
    if task.validation is not None:
        losses = model.evaluate(task.validation, return_dict=True, verbose=0)
        figures = {"test_" + key: value for key, value in losses.items()}
    samples = entry["samples"] if samples is None else samples
    if samples and model.preview == "samples" and hasattr(model, "sample"):
        figures.update(sample_figures(model, entry["recipe"].dataset, entry["recipe"].image_size,
                                      samples))
    return {k: round(float(v), 4) for k, v in figures.items()}


def budget_words(run_args):
    """How long a run of these `TrainingRun` arguments trains, in words: "3 minutes" or "400
    epochs of 500 steps"."""
    if run_args.get("time_budget_s"):
        return f"{run_args['time_budget_s'] / 60:g} minutes"
    steps = run_args.get("steps_per_epoch")
    return f"{run_args['epochs']} epochs" + (f" of {steps} steps" if steps else "")


def quick_default(name, entry, train, machine, steps=None):
    """What the family's quick default buys (`None` where the preset is that run): trained and
    measured now (`train`), or the figures already on the preset's card."""
    family = FAMILIES[entry["family"]]
    if family.recipe_named("quick") == entry["recipe"]:
        return None
    if not train:
        try:
            previous = preset_metadata(name)
        except (OSError, ValueError):
            return None
        if "quick_default" in previous:
            return previous["quick_default"]
        if previous.get("recipe", "quick") != "quick":
            return None
        # a preset trained before preset recipes existed was the quick default itself
        return {key: previous.get(key) for key in ("figures", "train_steps", "machine", "saved")}
    run_args = family.recipe.run_args_for()
    if steps:
        run_args.update(epochs=1, time_budget_s=None, steps_per_epoch=steps)
    run = TrainingRun(entry["family"], seed=0, verbose=2, **run_args)
    run.build()
    run.fit()
    quick = dict(entry, recipe=family.recipe)
    return {"command": f"python apps/train.py {entry['family']}",
            "budget": budget_words(run_args),
            "train_steps": run.summary.get("train_steps"),
            "figures": heldout_figures(run.model, run.task, quick, samples=20 if steps else None),
            "machine": machine, "saved": time.strftime("%Y-%m-%d", time.gmtime())}


def card(name, entry, meta):
    """The preset's README: what it is, how it was trained, its figures (from the shipped
    weights) and, where it differs, what the quick default buys."""
    lines = [f"# {name}", "", entry["description"], "",
             f"- family: `{entry['family']}` (`keras_gen.models.{meta['class_name']}`)",
             f"- data: `{entry['recipe'].dataset}`",
             f"- trained by: `{meta['command']}` (the family's {meta['recipe']} recipe, "
             f"{meta['budget']}: {meta['train_steps'] or 'all'} steps, "
             f"{meta['training_seconds'] / 60:.1f} minutes on {meta['machine']}, float32, "
             f"{meta['saved'][:10]}); `python apps/train.py {entry['family']} --recipe "
             f"{meta['recipe']}` trains the same",
             "- held-out figures (test split, from the shipped float16 weights): "
             + ", ".join(f"{k} {v}" for k, v in meta["figures"].items()),
             f"- headline: {entry['headline']} {meta['figures'].get(entry['headline'])}"]
    quick = meta.get("quick_default")
    if quick:
        lines.append(f"- the quick default (`python apps/train.py {entry['family']}`"
                     + (f", {quick['budget']}" if quick.get("budget") else "")
                     + (f", {quick['train_steps']} steps" if quick.get("train_steps") else "")
                     + f", {quick.get('machine')}, {str(quick.get('saved'))[:10]}) reached: "
                     + ", ".join(f"{k} {v}" for k, v in quick["figures"].items()))
    if meta.get("data_attribution"):
        lines.append(f"- data licence: {meta['data_attribution']}")
    lines += ["", "```python", "import keras_gen",
              f"model = keras_gen.models.{meta['class_name']}.from_preset(\"{name}\")", "```", ""]
    return "\n".join(lines)


def metrics_machine():
    """"<processor>, <n> cores", from the benchmarks' machine description."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.reporting import machine_description

    machine = machine_description()
    return f"{machine['processor']}, {machine['cpu_count']} cores"


def make(name, out, steps=None, runs=None, quick=True):
    """Train, measure and save preset `name` under `out`. The run goes in `runs/<name>`
    (resumed from there when an earlier run of it was killed; `None`: no run folder).
    `quick` also trains the family's quick default for the card (else the card keeps the
    quick figures it had). `steps` (a quick check of the whole path) trains one epoch of
    that many steps and measures 20 samples instead."""
    entry = dict(PRESETS[name])
    family = FAMILIES[entry["family"]]
    kind = "quick" if family.recipe_named("quick") == entry["recipe"] else "preset"
    run_args = entry["recipe"].run_args_for()
    if steps:
        entry["samples"] = 20
        run_args.update(epochs=1, time_budget_s=None, steps_per_epoch=steps,
                        pretrain_epochs=min(run_args.get("pretrain_epochs", 0), 1))
    if kind == "preset" and entry["headline"] == "fid" and not steps:
        run_args.setdefault("fid_every", 10)  # the FID curve goes into the run's history.csv
    machine = metrics_machine()
    quick_figures = quick_default(name, entry, quick, machine, steps)
    start = time.time()
    run = TrainingRun(entry["family"], seed=0, verbose=2,
                      out=None if runs is None else os.path.join(runs, name), **run_args)
    run.build()
    run.fit()
    seconds = time.time() - start
    resumed = run.summary.get("resumed_from_epoch") or 0
    epochs = len(run.history.epoch) + resumed
    if resumed:  # this process trained the epochs after `resumed`: extrapolate the whole run
        seconds *= epochs / max(epochs - resumed, 1)
    command = f"python apps/make_presets.py --only {name}" + (f" --steps {steps}" if steps else "")
    attribution = data.attribution(entry["recipe"].dataset)
    meta = {"name": name, "family": entry["family"], "description": entry["description"],
            "training_data": entry["recipe"].dataset, "recipe": kind,
            "budget": budget_words(run_args), "epochs": epochs,
            "train_steps": run.summary.get("train_steps"), "minutes": entry["recipe"].minutes,
            "training_seconds": round(seconds, 1), "resumed_from_epoch": resumed or None,
            "machine": machine, "command": command}
    if attribution:
        meta["data_attribution"] = attribution
    if quick_figures:
        meta["quick_default"] = quick_figures
    folder = save_to_preset(run.model, os.path.join(out, name), weights_dtype="float16",
                            metadata=meta)
    # every figure from the weights as shipped (float16, reloaded), not the trained float32
    shipped = load_preset(folder)
    figures = heldout_figures(shipped, run.task, entry)
    meta = dict(preset_metadata(folder), figures=figures,
                headline={"name": entry["headline"], "value": figures.get(entry["headline"]),
                          "split": "test"})
    with open(os.path.join(folder, "metadata.json"), "w") as handle:
        json.dump(meta, handle, indent=2)
    with open(os.path.join(folder, "README.md"), "w") as handle:
        handle.write(card(name, entry, meta))
    print(name, "->", folder, json.dumps(figures), flush=True)


#: The presets of the README's overview figure, one row each (the samplers that take seconds).
OVERVIEW = ("vae_mnist", "dcgan_mnist", "cgan_mnist", "wgan_gp_mnist", "sagan_openmoji",
            "biggan_openmoji", "stylegan_faces")


def overview(path, names=OVERVIEW, per_row=12, size=32):
    """Write the README's figure: `per_row` samples (seed 0) of each preset in `names`, one
    row each, resized to `size` px and in RGB so digits and emoji share the grid."""
    import tensorflow as tf

    from keras_gen.plots import save_image_grid

    rows = []
    for name in names:
        images = np.asarray(load_preset(name).sample(per_row, seed=0), "float32")
        images = tf.image.resize(images, (size, size), antialias=True).numpy()
        rows.append(np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images)
    return save_image_grid(np.clip(np.concatenate(rows), 0.0, 1.0), path, cols=per_row)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(PRESETS), action="append")
    parser.add_argument("--out", default=PRESET_ROOT)
    parser.add_argument("--runs", default=os.path.join("runs", "presets"),
                        help="run folders, one per preset (a killed run resumes from there)")
    parser.add_argument("--quick", choices=("train", "keep"), default="train",
                        help="train the family's quick default for the card, or keep the quick "
                             "figures the card has")
    parser.add_argument("--steps", type=int, default=None,
                        help="a quick check: one epoch of this many steps, 20 samples measured")
    parser.add_argument("--table", action="store_true", help="print the README's preset table")
    parser.add_argument("--overview", default=None, metavar="PNG",
                        help="write the README's figure of preset samples to PNG")
    args = parser.parse_args(argv)
    if args.table:
        print(preset_table())
        return 0
    if args.overview:
        print(overview(args.overview))
        return 0
    for name in args.only or list(PRESETS):
        make(name, args.out, args.steps, runs=None if args.steps else args.runs,
             quick=args.quick == "train")
    return 0


if __name__ == "__main__":
    sys.exit(main())
