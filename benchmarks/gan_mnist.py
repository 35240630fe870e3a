"""How good and how fast are the GANs on mnist_5k?

For GAN (MLP, non-saturating), DCGAN, conditional GAN and WGAN-GP, after a fixed number of
epochs on the 4,000 training images: FID and KID (digit-classifier features) of 1,000 samples
to the 1,000 test images, mode coverage of the predicted classes, the share of samples the
classifier puts in one class with probability >= 0.9 (beside that share for real test digits),
and for the cGAN the class consistency (does the classifier see the requested digit). Then training throughput of
keras_gen's DCGAN against a keras.io-style reference on the same networks (generator run twice
per step), measured alternately in this run.

    python benchmarks/gan_mnist.py --epochs 20

Writes benchmarks/results/gan_mnist.{json,md} and sample grids under results/figures/.
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
from keras_gen.models import DCGAN  # noqa: E402
from keras_gen.networks import dcgan_discriminator, dcgan_generator  # noqa: E402
from keras_gen.plots import save_image_grid  # noqa: E402
from keras_gen.training import TrainingRun  # noqa: E402
from reference_dcgan import ReferenceDCGAN  # noqa: E402
from reporting import rounded, write_results  # noqa: E402


def model_args(name, args):
    """Constructor arguments of each benchmarked GAN (the data sets image shape and classes)."""
    # EMA is on by default in the GAN families; the models not listed sample G itself
    ema = {"ema_decay": args.ema_decay if name in args.ema_models.split(",") else None}
    if name == "gan":
        return {"latent_dim": 64, "units": (256, 512), **ema}
    if name == "cgan":
        return {"architecture": "dcgan", "latent_dim": args.latent_dim, **ema}
    if name == "wgan_gp":
        return {"latent_dim": args.latent_dim, "n_critic": args.wgan_n_critic, **ema}
    return {"latent_dim": args.latent_dim, **ema}


def optimizer_for(name, args):
    """None (the family's default optimizer), or for WGAN-GP with `--wgan-learning-rates G,D`
    one Adam(beta_1=0.5, beta_2=0.9) per network (two time-scale update rule)."""
    if name != "wgan_gp" or not args.wgan_learning_rates:
        return None
    g_rate, d_rate = (float(v) for v in args.wgan_learning_rates.split(","))
    return {"generator": keras.optimizers.Adam(g_rate, beta_1=0.5, beta_2=0.9),
            "discriminator": keras.optimizers.Adam(d_rate, beta_1=0.5, beta_2=0.9)}


def evaluate(model, extractor, test_features, num_samples):
    images = model.sample(num_samples, seed=123)
    requested = np.arange(num_samples) % 10 if model.batch_layout == "labelled" else None
    report = metrics.sample_quality(images, extractor, test_features, requested_classes=requested)
    return rounded(report), images


def throughput(model, train, steps, repeats):
    model.fit(train, steps_per_epoch=3, epochs=1, verbose=0)  # trace
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(train, steps_per_epoch=steps, epochs=1, verbose=0)
        rates.append(steps / (time.perf_counter() - start))
    return max(rates)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--wgan-epochs", type=int, default=30)
    parser.add_argument("--mlp-epochs", type=int, default=100,
                        help="epochs of the MLP GAN (a step costs a tenth of a DCGAN step)")
    parser.add_argument("--wgan-n-critic", type=int, default=5,
                        help="critic steps per generator step (5 in the WGAN-GP paper)")
    parser.add_argument("--wgan-learning-rates", default="",
                        help="'G,D' Adam learning rates for WGAN-GP (default: 1e-4 for both)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--models", default="gan,dcgan,cgan,wgan_gp")
    parser.add_argument("--ema-models", default="",
                        help="comma-separated models sampled from an EMA generator")
    parser.add_argument("--ema-decay", type=float, default=0.999)
    parser.add_argument("--speed-steps", type=int, default=40)
    parser.add_argument("--speed-repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    parser.add_argument("--merge", action="store_true",
                        help="keep the other models' entries (and their commands) of an earlier "
                             "results file, replacing only the models run now")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args(argv)
    figures = os.path.join(args.out, "figures")
    extractor = metrics.DigitFeatures()
    x_test, y_test = data.load_arrays("mnist_5k", "test")
    test_features = extractor.features(x_test)
    x_train, _ = data.load_arrays("mnist_5k", "train")
    results = {"config": vars(args), "models": {},
               "reference_points": {
                   "test_confident_share": round(metrics.confident_share(extractor.probabilities(x_test)), 4),
               "train_split_vs_test_fid": round(metrics.frechet_distance_of_features(
                       extractor.features(x_train[::4]), test_features), 3),
                   "uniform_noise_vs_test_fid": round(metrics.frechet_distance_of_features(
                       extractor.features(np.random.default_rng(0).uniform(size=(1000, 28, 28, 1))),
                       test_features), 3)}}

    for name in args.models.split(","):
        epochs = {"wgan_gp": args.wgan_epochs, "gan": args.mlp_epochs}.get(name, args.epochs)
        run = TrainingRun(name, "mnist_5k", epochs=epochs, batch_size=args.batch_size,
                          model_args=model_args(name, args), optimizer=optimizer_for(name, args),
                          validation=False, drop_remainder=True, verbose=0)
        run.run()
        model = run.model
        entry, images = evaluate(model, extractor, test_features, args.samples)
        entry.update(epochs=epochs, train_seconds=run.summary["train_seconds"],
                     ema_decay=model.ema_decay)
        if name == "wgan_gp":
            entry.update(n_critic=model.n_critic, learning_rates=args.wgan_learning_rates or "1e-4,1e-4")
        results["models"][name] = entry
        save_image_grid(images[:100], os.path.join(figures, f"{name}_samples.png"), cols=10)
        print(name, entry, flush=True)

    command = "python benchmarks/gan_mnist.py " + " ".join(argv or sys.argv[1:])
    previous_path = os.path.join(args.out, "gan_mnist.json")
    if args.merge and os.path.exists(previous_path):
        import json

        with open(previous_path) as handle:
            previous = json.load(handle)
        for name, entry in previous.get("models", {}).items():
            results["models"].setdefault(name, entry)
        for key in ("throughput_images_per_s", "speedup_vs_reference"):
            if args.skip_speed and key in previous:
                results[key] = previous[key]
        command = "; ".join([*previous.get("commands", [previous.get("command", "")]), command])
    if not args.skip_speed:
        measure_speed(args, results)
    results["commands"] = command.split("; ")

    rows = [(f"{name} ({describe(entry)}): FID / KID / classes covered / entropy / confident",
             f"{entry['fid']} / {entry['kid']} / {entry['classes_covered']} / {entry['entropy']} / "
             f"{entry.get('confident_share', 'n/a')}"
             + (f"; class consistency {entry['class_consistency']}" if "class_consistency" in entry else ""))
            for name, entry in results["models"].items()]
    rows.append(("share of real test digits the classifier puts in one class with p >= 0.9",
                 results["reference_points"]["test_confident_share"]))
    rows.append(("FID train split vs test (floor) / uniform noise vs test",
                 f"{results['reference_points']['train_split_vs_test_fid']} / "
                 f"{results['reference_points']['uniform_noise_vs_test_fid']}"))
    if "throughput_images_per_s" in results:
        rows.append(("train images/s: keras_gen DCGAN / keras.io-style reference",
                     f"{results['throughput_images_per_s']['keras_gen_dcgan']} / "
                     f"{results['throughput_images_per_s']['reference_dcgan']}"))
        rows.append(("speed-up over the reference (same networks)", results["speedup_vs_reference"]))
    write_results(args.out, "gan_mnist", results, rows, command=command,
                  figures=[f"{name}_samples.png" for name in results["models"]])
    return results


def describe(entry):
    """'60 epochs, EMA' (plus n_critic and G,D learning rates for WGAN-GP)."""
    parts = [f"{entry['epochs']} epochs"]
    if entry.get("ema_decay"):
        parts.append("EMA")
    if "n_critic" in entry:
        parts.append(f"n_critic {entry['n_critic']}, lr G,D {entry['learning_rates']}")
    return ", ".join(parts)


def measure_speed(args, results):
    """Train throughput of keras_gen's DCGAN and the keras.io-style reference, alternated."""
    train = data.load("mnist_5k", "train", batch_size=args.batch_size, value_range=(-1, 1),
                      drop_remainder=True).repeat()
    keras.utils.set_random_seed(0)
    ours = DCGAN(latent_dim=args.latent_dim)
    ours.compile(optimizer=ours.default_optimizer())
    reference = ReferenceDCGAN(dcgan_generator(args.latent_dim, (28, 28, 1)),
                               dcgan_discriminator((28, 28, 1), dropout=0.0), args.latent_dim)
    reference.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    speeds = {"keras_gen_dcgan": [], "reference_dcgan": []}
    for _ in range(2):
        speeds["keras_gen_dcgan"].append(throughput(ours, train, args.speed_steps, args.speed_repeats))
        speeds["reference_dcgan"].append(throughput(reference, train, args.speed_steps, args.speed_repeats))
    best = {k: max(v) * args.batch_size for k, v in speeds.items()}
    results["throughput_images_per_s"] = {k: round(v, 1) for k, v in best.items()}
    results["speedup_vs_reference"] = round(best["keras_gen_dcgan"] / best["reference_dcgan"], 3)


if __name__ == "__main__":
    main()
