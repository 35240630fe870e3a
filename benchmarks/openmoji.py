"""What do VAE, DCGAN, diffusion, SAGAN and BigGAN make of colour emoji in the same wall-clock
budget?

On openmoji 32x32 (3,906 training emoji, RGB), each model trains for `--minutes` of wall-clock
time on this machine, then draws `--samples` images that are scored with the colour evaluator
(the openmoji classifier, `apps/train_classifier.py openmoji`):

- FID and KID of the samples to the training split's features; the real-vs-real floor (the
  589 held-out test emoji against the same reference) and a ceiling (uniform noise);
- the predicted-group histogram's entropy beside the real test split's, and the share of
  samples the evaluator puts in one group with probability >= 0.9 (real: beside it);
- a sample grid per model, and the same for the calibration model: a straightforward
  keras.io-style DCGAN ("DCGAN to generate face images": sigmoid output, Adam 1e-4, noisy
  labels, generator run twice per step) trained for `--calibration-minutes`.

    python benchmarks/openmoji.py --minutes 10 --calibration-minutes 5

Class-conditional models (BigGAN; SAGAN with `conditional=True`) are asked for labels drawn
at the training split's group frequencies, so their FID compares the same mix of groups; the
report adds their class consistency (does the evaluator see the requested group) beside the
evaluator's own accuracy on the held-out real emoji (the most consistency can show with this
evaluator). For models whose `sample` takes a truncation, `--truncation-sweep` (thresholds
on z) or `--psi-sweep` (StyleGAN's psi in w space) scores the
same seeds at each threshold and plots FID and consistency against it
(figures/<name>_<model>_truncation.png, plus a strip of one seed per row across thresholds).

    python benchmarks/openmoji.py --models dcgan,sagan,biggan --minutes 10 --name openmoji_attention
    python benchmarks/openmoji.py --models dcgan,sagan,progan,stylegan --minutes 10 --name openmoji_growing
    python benchmarks/openmoji.py --dataset openmoji_faces --models stylegan,stylegan+linear,stylegan+augment \
        --minutes 6 --psi-sweep "" --name faces_output

`<model>+augment` trains the same recipe with DiffAugment ("color,translation,cutout") on
every image the discriminator sees; `stylegan+linear` with StyleGAN2's linear output instead
of tanh; `progan+tanh` ends ProGAN's generator in tanh instead of its linear output.

Writes benchmarks/results/openmoji.{json,md}, a 100-sample grid per model under
results/figures/openmoji_*_samples.png, and openmoji_overview.png (a row of real test emoji,
then 12 samples per model, in the order of `--models`).
Sampling time is not part of the budget; it is reported per model.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_gen import data, metrics  # noqa: E402
from keras_gen.callbacks import TimeBudget  # noqa: E402
from keras_gen.models import FAMILIES  # noqa: E402
from keras_gen.plots import save_image_grid  # noqa: E402
from keras_gen.training import TrainingRun  # noqa: E402
from reference_dcgan import ReferenceDCGAN, keras_io_face_networks  # noqa: E402
from reporting import rounded, write_results  # noqa: E402

# The recipes: what each family is given on colour emoji (its defaults otherwise).
RECIPES = {
    "vae": {"model_args": {"latent_dim": 64, "filters": (32, 64, 128), "dense_units": 256},
            "learning_rate": 1e-3},
    "dcgan": {"model_args": {"latent_dim": 100, "ema_decay": 0.999}},
    "diffusion": {"model_args": {"base_filters": 32}, "learning_rate": 1e-3},
    "sagan": {"model_args": {}},
    "biggan": {"model_args": {}},
    "progan": {"model_args": dict(FAMILIES["progan"].recipe.model_args)},
    "stylegan": {"model_args": dict(FAMILIES["stylegan"].recipe.model_args)},  # as their recipes
}
# `<model>+<variant>`: the same recipe with these arguments on top. `augment`: DiffAugment on
# everything D sees (GAN families); `linear`: StyleGAN2's unbounded output instead of tanh;
# `tanh`: a tanh output where the family's is linear (ProGAN).
VARIANTS = {"augment": {"augment": "color,translation,cutout"},
            "linear": {"output_activation": "linear"}, "tanh": {"output_activation": "tanh"}}


def recipe_for(name):
    """`(family, recipe)` for a `--models` entry: a name of RECIPES, or `<name>+<variant>`
    with a variant of VARIANTS."""
    family, _, variant = name.partition("+")
    if family not in RECIPES or (variant and variant not in VARIANTS):
        raise ValueError(f"unknown model {name!r}: use one of {sorted(RECIPES)}, optionally "
                         f"+{' or +'.join(VARIANTS)}")
    recipe = dict(RECIPES[family])
    if variant:
        recipe["model_args"] = {**recipe["model_args"], **VARIANTS[variant]}
    return family, recipe


def truncation_kind(model):
    """What a model's `truncation` means (None when its `sample` takes none): BigGAN's
    threshold on z (`none` 0) unless its export metadata says otherwise (StyleGAN: psi in w
    space, `none` 1)."""
    if not getattr(model, "takes_truncation", False):
        return None
    declared = model.export_metadata().get("truncation") or {}
    return {"space": "z", "none": 0.0, **declared}


def draw(model, num_samples, seed, labels=None, truncation=None):
    """`num_samples` images (in chunks of 250) with the given labels and truncation."""
    chunks = []
    for i in range(0, num_samples, 250):
        n = min(250, num_samples - i)
        options = {}
        if labels is not None:
            options["labels"] = labels[i:i + n]
        if truncation is not None:
            options["truncation"] = truncation
        chunks.append(np.asarray(model.sample(n, seed=seed + i, **options)))
    return np.concatenate(chunks)


def truncation_sweep(model, name, thresholds, labels, args, extractor, reference, figures, tag):
    """FID / KID / consistency of the same seeds at each truncation value (the model's own
    kind: a threshold on z, 0 = none; or psi in w space, 1 = none), a plot of them against
    it, and a strip: one seed per row, the values across in the order given."""
    kind = truncation_kind(model)
    sweep = []
    for value in thresholds:
        images = draw(model, args.samples, args.seed, labels, truncation=value)
        report = score(images, extractor, reference, labels)
        sweep.append({"truncation": value, **{k: report[k] for k in report
                                              if k in ("fid", "kid", "class_consistency",
                                                       "confident_share", "entropy")}})
        print(name, "truncation", sweep[-1], flush=True)
    strip = np.concatenate([np.asarray(model.sample(
        1, seed=args.seed + row, truncation=value,
        **({} if labels is None else {"labels": labels[row:row + 1]})))
        for row in range(8) for value in thresholds])
    save_image_grid(strip, os.path.join(figures, f"{tag}_{name}_truncation_strip.png"),
                    cols=len(thresholds), scale=3)
    plot_sweep(sweep, kind, f"{name}: truncation sweep, {args.samples} samples",
               os.path.join(figures, f"{tag}_{name}_truncation.png"))
    return {"kind": kind, "points": sweep}


def plot_sweep(sweep, kind, title, path):
    """FID (and class consistency where measured) against the truncation value, with the
    untruncated value as a dotted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    none = next((e for e in sweep if e["truncation"] == kind["none"]), None)
    shown = sorted((e for e in sweep if e is not none), key=lambda e: e["truncation"])
    xs = [e["truncation"] for e in shown]
    fig, left = plt.subplots(figsize=(6, 3.5))
    left.plot(xs, [e["fid"] for e in shown], "o-", color="tab:blue", label="FID")
    if none is not None:
        left.axhline(none["fid"], color="tab:blue", linestyle=":", label="FID, no truncation")
    left.set_xlabel("psi (w pulled towards the mean w; 1 = none)" if kind["space"] == "w"
                    else "truncation threshold t (z resampled into [-t, t])")
    left.set_ylabel("FID (openmoji evaluator)", color="tab:blue")
    if "class_consistency" in sweep[0]:
        right = left.twinx()
        right.plot(xs, [e["class_consistency"] for e in shown], "s-", color="tab:red",
                   label="class consistency")
        if none is not None:
            right.axhline(none["class_consistency"], color="tab:red", linestyle=":")
        right.set_ylabel("class consistency", color="tab:red")
    left.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def sweep_rows(name, sweep):
    """Markdown rows of one truncation sweep (`{"kind", "points"}`), labelled in its kind."""
    kind, rows = sweep["kind"], []
    for point in sweep["points"]:
        value = point["truncation"]
        label = "none" if value == kind["none"] else (f"psi {value}" if kind["space"] == "w" else f"t {value}")
        consistency = " / class consistency" if "class_consistency" in point else ""
        rows.append((f"{name} truncation {label}: FID / KID{consistency}",
                     f"{point['fid']} / {point['kid']}"
                     + (f" / {point['class_consistency']}" if consistency else "")))
    return rows


def train_family(name, args):
    family, recipe = recipe_for(name)
    run = TrainingRun(family, args.dataset, epochs=100_000, batch_size=args.batch_size,
                      image_size=(args.size, args.size), model_args=recipe["model_args"],
                      learning_rate=recipe.get("learning_rate"), validation=False,
                      drop_remainder=True, time_budget_s=60.0 * args.minutes, verbose=0,
                      seed=args.seed)
    run.build()
    run.fit()
    return run.model, run.summary["train_steps"], run.summary["train_seconds"]


def train_calibration(args):
    keras.utils.set_random_seed(args.seed)
    shape = (args.size, args.size, 3)
    generator, discriminator = keras_io_face_networks(shape, latent_dim=128)
    model = ReferenceDCGAN(generator, discriminator, latent_dim=128)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-4), g_optimizer=keras.optimizers.Adam(1e-4))
    train = data.load(args.dataset, "train", batch_size=args.batch_size, image_size=shape[:2],
                      drop_remainder=True, seed=args.seed)  # images in [0, 1], the sigmoid's range
    budget = TimeBudget(60.0 * args.calibration_minutes)
    start = time.perf_counter()
    model.fit(train.repeat(), epochs=100_000, steps_per_epoch=50, callbacks=[budget], verbose=0)
    seconds = time.perf_counter() - start

    def sample(n, seed=0):
        z = keras.random.normal((n, 128), seed=seed)
        return np.clip(np.asarray(generator.predict(z, batch_size=250, verbose=0)), 0.0, 1.0)

    return sample, budget.steps, round(seconds, 1)


def score(images, extractor, reference_features, requested_classes=None):
    report = metrics.sample_quality(images, extractor, reference_features,
                                    requested_classes=requested_classes, kid_subset_size=500)
    return rounded(report)


def report_rows(results):
    """The markdown rows of a run's `results` (also used to re-render a results JSON)."""
    floor = results["reference"]["test_vs_train (floor)"]
    ceiling = results["reference"]["noise_vs_train (ceiling)"]
    rows = [(f"{name} ({e['minutes']} min, {e['train_steps']} steps): FID / KID / group entropy / "
             f"confident", f"{e['fid']} / {e['kid']} / {e['entropy']} / {e['confident_share']}"
             + (f"; spread {e['spread']}" if "spread" in e else "")
             + (f"; class consistency {e['class_consistency']}" if "class_consistency" in e else ""))
            for name, e in results["models"].items()]
    for name, e in results["models"].items():
        if "truncation_sweep" in e:
            rows += sweep_rows(name, e["truncation_sweep"])
    rows.append(("evaluator accuracy on the real test emoji (bounds class consistency)",
                 str(results["reference"]["evaluator_accuracy_on_test"])))
    rows += [("real test emoji vs train (floor): FID / KID / group entropy / confident",
              f"{floor['fid']} / {floor['kid']} / {floor['entropy']} / {floor['confident_share']}"),
             ("uniform noise vs train (ceiling): FID / KID",
              f"{ceiling['fid']} / {ceiling['kid']}")]
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--calibration-minutes", type=float, default=5.0)
    parser.add_argument("--models", default="calibration,vae,dcgan,diffusion")
    parser.add_argument("--dataset", default="openmoji", choices=data.COLOUR_SOURCES)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    parser.add_argument("--truncation-sweep", default="0.25,0.5,1.0,1.5,2.0,0",
                        help="thresholds for models that truncate z (0 = none)")
    parser.add_argument("--psi-sweep", default="0,0.25,0.5,0.7,0.85,1",
                        help="psi values for models that truncate in w space (StyleGAN; 1 = none)")
    parser.add_argument("--name", default=None,
                        help="results file name (default: the dataset's name)")
    args = parser.parse_args(argv)
    for name in args.models.split(","):  # fail on a typo before any training
        if name != "calibration":
            recipe_for(name)
    figures = os.path.join(args.out, "figures")
    tag = args.name or args.dataset
    extractor = metrics.ClassifierFeatures("openmoji")
    size = (args.size, args.size)
    x_train, y_train = data.load_arrays(args.dataset, "train", image_size=size)
    x_test, y_test = data.load_arrays(args.dataset, "test", image_size=size)
    reference = extractor.features(x_train)
    # conditional models are asked for groups at the training frequencies (the same mix as
    # the FID reference); the evaluator's accuracy on real test emoji bounds their consistency
    frequencies = np.bincount(y_train, minlength=extractor.num_classes) / len(y_train)
    requested = np.random.default_rng(args.seed + 1).choice(
        extractor.num_classes, args.samples, p=frequencies)
    noise = np.random.default_rng(0).uniform(size=(len(x_test), *size, 3)).astype(np.float32)
    results = {"config": vars(args), "recipes": RECIPES,
               "reference": {"train_images": int(len(x_train)), "test_images": int(len(x_test)),
                             "test_vs_train (floor)": score(x_test, extractor, reference),
                             "noise_vs_train (ceiling)": score(noise, extractor, reference),
                             "evaluator_accuracy_on_test": round(float(np.mean(
                                 extractor.predict(x_test) == y_test)), 4)},
               "models": {}}
    save_image_grid(x_test[:100], os.path.join(figures, f"{tag}_real_test.png"), cols=10)
    previews = [x_test[np.random.default_rng(args.seed).choice(len(x_test), 12, replace=False)]]

    for name in args.models.split(","):
        if name == "calibration":
            sample, steps, seconds = train_calibration(args)
            entry = {"model": "keras.io-style DCGAN (reference_dcgan.py)",
                     "minutes": args.calibration_minutes}
        else:
            model, steps, seconds = train_family(name, args)
            entry = {"model": name, "minutes": args.minutes}
        labels = None
        start = time.perf_counter()
        if name == "calibration":
            images = np.concatenate([np.asarray(sample(min(250, args.samples - i), seed=args.seed + i))
                                     for i in range(0, args.samples, 250)])
        else:
            labels = requested if model.batch_layout == "labelled" else None
            images = draw(model, args.samples, args.seed, labels)
        entry.update(train_steps=int(steps), train_seconds=seconds,
                     sampling_seconds=round(time.perf_counter() - start, 1),
                     **score(images, extractor, reference, labels))
        kind = None if name == "calibration" else truncation_kind(model)
        sweep_values = args.psi_sweep if kind and kind["space"] == "w" else args.truncation_sweep
        if kind and sweep_values:
            thresholds = [float(t) for t in sweep_values.split(",")]
            entry["truncation_sweep"] = truncation_sweep(model, name, thresholds, labels, args,
                                                         extractor, reference, figures, tag)
        results["models"][name] = entry
        save_image_grid(images[:100], os.path.join(figures, f"{tag}_{name}_samples.png"), cols=10)
        previews.append(images[:12])
        print(name, entry, flush=True)

    # one figure: a row of held-out real emoji, then a row per model in the order run
    save_image_grid(np.concatenate(previews), os.path.join(figures, f"{tag}_overview.png"),
                    cols=12, scale=3)
    results["overview_rows"] = ["real test emoji", *args.models.split(",")]

    rows = report_rows(results)
    command = "python benchmarks/openmoji.py " + " ".join(argv if argv is not None else sys.argv[1:])
    write_results(args.out, tag, results, rows, command=command.strip())
    return results


if __name__ == "__main__":
    main()
