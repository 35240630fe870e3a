"""Train the presets shipped in `keras_gen/preset_files/`, one per family, on the offline data.

    python apps/make_presets.py                       # all of them (about an hour on 2 cores)
    python apps/make_presets.py --only vae_mnist --only dcgan_mnist
    python apps/make_presets.py --table               # print the README's preset table

Each preset is trained by `keras_gen.training.TrainingRun` on its family's recipe
(`<Family>.recipe`: the run `python apps/train.py <family>` makes by default, a fixed number of
epochs or a wall-clock budget), so its card says what the default run buys; then it is
measured on held-out data: the family's own
losses on the test split, and for models that draw images, FID/KID, confident share and (when
conditional) class consistency of 1,000 samples (fewer for the slow samplers) with the
project's evaluator. Its card (README.md) says what it is, the command, the figures and, for
openmoji, the licence; weights are stored as float16 (`save_to_preset(weights_dtype=...)`).
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

from keras_gen import data, metrics  # noqa: E402
from keras_gen.presets import PRESET_ROOT, list_presets, preset_metadata, save_to_preset  # noqa: E402
from keras_gen.models import FAMILIES  # noqa: E402
from keras_gen.training import TrainingRun  # noqa: E402

# Size budgets, checked by tests/test_presets.py: a GAN preset holds G, D and the EMA copy of G
# (all three are needed to fine-tune it), so 3 MB of float16 is about 1.5M parameters.
MAX_PRESET_BYTES = 3_000_000
MAX_TOTAL_BYTES = 40_000_000


def preset(family, description, headline, samples=1000):
    """One catalogue entry: the family's recipe (`<Family>.recipe`, the run `apps/train.py
    <family>` makes by default), what the card says, which figure it leads with and how many
    samples it is judged on (0: none, as for DB-VAE, whose decoder serves its classifier)."""
    return dict(family=family, description=description, headline=headline, samples=samples,
                recipe=FAMILIES[family].recipe)


PRESETS = {
    "autoencoder_mnist": preset(
        "autoencoder", "A dense undercomplete autoencoder (784 -> 256 -> 32) for 28x28 digits.",
        "test_mse"),
    "sparse_ae_mnist": preset(
        "sparse_ae", "A dense overcomplete sparse autoencoder (128 sigmoid codes, KL sparsity "
        "penalty towards a mean activation of 0.05, beta 3) for 28x28 digits.", "test_mse"),
    "denoising_ae_mnist": preset(
        "denoising_ae", "A dense denoising autoencoder (Gaussian noise, stddev 0.3) for 28x28 "
        "digits.", "test_mse"),
    "stacked_ae_mnist": preset(
        "stacked_ae", "A stacked autoencoder (784 -> 256 -> 128 -> 32), greedy layer-wise "
        "pretraining then fine-tuning, for 28x28 digits.", "test_mse"),
    "vae_mnist": preset(
        "vae", "A convolutional VAE (16-d latent, Bernoulli decoder) for 28x28 digits.",
        "test_loss"),
    "beta_vae_mnist": preset(
        "beta_vae", "A convolutional beta-VAE (beta 4, 16-d latent) for 28x28 digits: smoother, "
        "more disentangled latent traversals than the VAE's.", "test_loss"),
    "cvae_mnist": preset(
        "cvae", "A conditional VAE (16-d latent, one-hot digit label joined to the encoder and "
        "decoder inputs) for 28x28 digits.", "class_consistency"),
    "dbvae_mnist": preset(
        "dbvae", "A debiasing VAE on the biased '7 or not' digit task: a classifier trained "
        "jointly with a VAE whose latent density re-weights the batches towards rare 7s.",
        "test_accuracy", samples=0),
    "gan_mnist": preset(
        "gan", "An MLP GAN (128 and 256 units, non-saturating loss, 64-d noise, EMA generator) "
        "for 28x28 digits.", "fid"),
    "dcgan_mnist": preset(
        "dcgan", "A DCGAN (100-d noise, 32 base filters, EMA generator) for 28x28 digits.", "fid"),
    "cgan_mnist": preset(
        "cgan", "A conditional DCGAN (64-d noise, one-hot digit label joined to z and to the "
        "discriminator input, no dropout in D, EMA generator, 120 epochs) for 28x28 digits.",
        "class_consistency"),
    "wgan_gp_mnist": preset(
        "wgan_gp", "A WGAN-GP (32 base filters, DCGAN-shaped critic without batch norm, one "
        "critic step, learning rates 1e-4 / 4e-4 for G / D, gradient penalty 10, EMA "
        "generator) for 28x28 digits.", "fid"),
    "pix2pix_edges_mnist": preset(
        "pix2pix", "pix2pix (U-Net, PatchGAN on (input, output) pairs, L1 weight 100) from Sobel "
        "edge maps to 28x28 digits.", "test_l1_loss"),
    "cyclegan_digits_mnist": preset(
        "cyclegan", "CycleGAN (two ResNet generators of 16 base filters and 4 blocks, two "
        "PatchGANs, cycle and identity losses, image pool) between scikit-learn's digits and "
        "MNIST digits, unpaired.", "test_cycle_loss"),
    "pixelcnn_mnist": preset(
        "pixelcnn", "A small masked PixelCNN (32 filters, 15 blocks) of binarised 28x28 digits, "
        "exact likelihood, with the cached sampler.", "test_bits_per_dim", samples=200),
    "pixelrnn_mnist": preset(
        "pixelrnn", "A Row LSTM PixelRNN (32 units, 2 layers) of binarised 28x28 digits.",
        "test_bits_per_dim", samples=100),
    "diffusion_mnist": preset(
        "diffusion", "A small DDPM (U-Net, 32 base filters, 1,000 steps, linear schedule, EMA) "
        "for 28x28 digits, sampled with DDIM in 50 steps.", "fid", samples=500),
    "sagan_openmoji": preset(
        "sagan", "A SAGAN (ResNet blocks, self-attention, spectral norm, hinge loss, EMA "
        "generator) for 32x32 colour emoji.", "fid"),
    "biggan_openmoji": preset(
        "biggan", "A small BigGAN (16 base filters, class-conditional batch norm from a shared "
        "embedding, projection discriminator, orthogonal regularisation) for 32x32 colour emoji "
        "of 10 groups.", "fid"),
    "progan_openmoji": preset(
        "progan", "A ProGAN grown 4x4 -> 32x32 inside one fit (6,000 images per phase, at most 64 "
        "filters, equalised learning rate, pixel norm, minibatch stddev, WGAN-GP) for colour "
        "emoji.", "fid"),
    "stylegan_faces": preset(
        "stylegan", "A small StyleGAN2 (at most 64 filters, mapping network, modulated "
        "convolutions, style mixing, lazy R1, EMA generator, tanh output) for 32x32 emoji faces.",
        "fid"),
}


def sample_figures(model, dataset, image_size, count):
    """FID/KID, confident share and (conditional models) class consistency of `count`
    samples against the test split, with the evaluator that judges `dataset`."""
    x_test, _ = data.load_arrays(dataset, "test", image_size=image_size)
    extractor = metrics.evaluator_features(dataset)
    labels = None
    num_classes = getattr(model, "num_classes", None)
    if num_classes:
        labels = np.arange(count) % int(num_classes)
        images = model.sample(count, seed=1, labels=labels)
    else:
        images = model.sample(count, seed=1)
    report = metrics.sample_quality(np.asarray(images), extractor, extractor.features(x_test),
                                    requested_classes=labels,
                                    kid_subset_size=min(500, count, len(x_test)))
    keep = ("fid", "kid", "confident_share", "class_consistency")
    return {key: float(report[key]) for key in keep if key in report}


def heldout_figures(run, entry):
    """The preset's figures on held-out data: the family's losses on the test split (Keras's
    `val_*`, named `test_*` here) and sample quality."""
    figures = {"test_" + k[4:]: v for k, v in run.summary["final_metrics"].items()
               if k.startswith("val_")}
    model = run.model
    if entry["samples"] and model.preview == "samples" and hasattr(model, "sample"):
        figures.update(sample_figures(model, entry["recipe"].dataset, entry["recipe"].image_size,
                                      entry["samples"]))
    return {k: round(float(v), 4) for k, v in figures.items()}


def card(name, entry, model, figures, command, attribution, seconds, machine):
    date = time.strftime("%Y-%m-%d", time.gmtime())
    lines = [f"# {name}", "", entry["description"], "",
             f"- family: `{entry['family']}` (`keras_gen.models.{type(model).__name__}`)",
             f"- data: `{entry['recipe'].dataset}`",
             f"- trained by: `{command}` ({seconds / 60:.1f} minutes on "
             f"{machine}, float32, {date}), the family's recipe: what `python apps/train.py "
             f"{entry['family']}` trains by default",
             "- held-out figures (test split): " + ", ".join(f"{k} {v}" for k, v in figures.items()),
             f"- headline: {entry['headline']} {figures.get(entry['headline'])}"]
    if attribution:
        lines.append(f"- data licence: {attribution}")
    lines += ["", "```python", "import keras_gen",
              f"model = keras_gen.models.{type(model).__name__}.from_preset(\"{name}\")", "```", ""]
    return "\n".join(lines)


def metrics_machine():
    """"<processor>, <n> cores", from the benchmarks' machine description."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.reporting import machine_description

    machine = machine_description()
    return f"{machine['processor']}, {machine['cpu_count']} cores"


def make(name, out, steps=None):
    """Train, measure and save preset `name` under `out`; `steps` (a quick check of the
    whole path) trains one epoch of that many steps and measures 20 samples instead."""
    entry = dict(PRESETS[name])
    run_args = entry["recipe"].run_args_for()
    if steps:
        entry["samples"] = 20
        run_args.update(epochs=1, time_budget_s=None, steps_per_epoch=steps,
                        pretrain_epochs=min(run_args.get("pretrain_epochs", 0), 1))
    start = time.time()
    run = TrainingRun(entry["family"], seed=0, verbose=2, **run_args)
    run.build()
    run.fit()
    seconds = time.time() - start
    figures = heldout_figures(run, entry)
    command = f"python apps/make_presets.py --only {name}" + (f" --steps {steps}" if steps else "")
    attribution = data.attribution(entry["recipe"].dataset)
    machine = metrics_machine()
    meta = {"name": name, "family": entry["family"], "description": entry["description"],
            "training_data": entry["recipe"].dataset, "epochs": len(run.history.epoch),
            "train_steps": run.summary.get("train_steps"), "minutes": entry["recipe"].minutes,
            "training_seconds": round(seconds, 1), "machine": machine,
            "figures": figures, "command": command,
            "headline": {"name": entry["headline"], "value": figures.get(entry["headline"]),
                         "split": "test"}}
    if attribution:
        meta["data_attribution"] = attribution
    path = save_to_preset(run.model, os.path.join(out, name), weights_dtype="float16",
                          readme=card(name, entry, run.model, figures, command, attribution, seconds,
                                      machine),
                          metadata=meta)
    print(name, "->", path, json.dumps(figures), flush=True)


def table(listed=None):
    """The README's preset table, from the shipped presets' metadata."""
    listed = list_presets() if listed is None else listed
    rows = ["| preset | family | data | size | headline (test split) | trained |",
            "| --- | --- | --- | --- | --- | --- |"]
    for name, facts in listed.items():
        meta = preset_metadata(facts["folder"])
        headline = facts["headline"] or {}
        trained = (f"{meta['training_seconds'] / 60:.1f} min" if "training_seconds" in meta else "")
        rows.append(f"| `{name}` | `{facts['family']}` | {facts['data']} | "
                    f"{facts['bytes'] / 1e6:.2f} MB | {headline.get('name')} {headline.get('value')} | "
                    f"{trained} |")
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(PRESETS), action="append")
    parser.add_argument("--out", default=PRESET_ROOT)
    parser.add_argument("--steps", type=int, default=None,
                        help="a quick check: one epoch of this many steps, 20 samples measured")
    parser.add_argument("--table", action="store_true", help="print the README's preset table")
    args = parser.parse_args(argv)
    if args.table:
        print(table())
        return 0
    for name in args.only or list(PRESETS):
        make(name, args.out, args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
