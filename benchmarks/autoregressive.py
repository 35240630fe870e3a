"""The autoregressive families side by side on mnist_5k (or colour openmoji), at one
wall-clock training budget: PixelCNN, gated PixelCNN, Row LSTM and Diagonal BiLSTM (PixelRNN).

For each: test-split bits/dim (exact), sample FID / KID / confident share with the digit
classifier's features (colour: the openmoji evaluator's, against the training split, as in
`openmoji.py`), an inpainting figure (top half kept), and seconds per sample at one
batch size with the naive sampler (the whole network per pixel) and, where the model has one,
the cached sampler (`keras_gen.networks.incremental`), both measured in this run; the cached
sampler's draws are checked to equal the naive ones on the same seeds.

    python benchmarks/autoregressive.py --minutes 10
    python benchmarks/autoregressive.py --dataset openmoji --models pixelcnn --minutes 10 \
        --name autoregressive_openmoji

Grey digits use each model's 256-way softmax unless `--likelihood` says otherwise; colour uses
PixelCNN++'s discretised logistic mixture (R, then G given R, then B given R and G).
`--levels 2` models binarised digits (the PixelRNN paper's MNIST), which puts the model's
capacity into the shapes rather than the grey levels of stroke edges:

    python benchmarks/autoregressive.py --models small_pixelcnn --levels 2 --batch-size 16 \
        --minutes 24 --name autoregressive_binary

Writes benchmarks/results/<name>.{json,md} and figures in results/figures/.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from keras_gen import data, metrics  # noqa: E402
from keras_gen.plots import save_image_grid  # noqa: E402
from keras_gen.training import TrainingRun  # noqa: E402
from reporting import (  # noqa: E402
    digit_reference, mean_bits_per_dim, rounded, seconds_per_image, write_results)

# name -> (family, constructor arguments); widths chosen so that a step costs about the same
MODELS = {
    "pixelcnn": ("pixelcnn", {"filters": 64, "num_blocks": 15}),
    "small_pixelcnn": ("pixelcnn", {"filters": 32, "num_blocks": 15}),
    "gated_pixelcnn": ("pixelcnn", {"filters": 32, "num_blocks": 15, "gated": True}),
    "pixelcnn_pp": ("pixelcnn", {"network": "pixelcnn++", "filters": 32, "num_blocks": 2}),
    "row_lstm": ("pixelrnn", {"variant": "row", "units": 32, "num_layers": 4}),
    "diagonal_bilstm": ("pixelrnn", {"variant": "diagonal", "units": 32, "num_layers": 2}),
}


def reference(dataset, size):
    """`(extractor, test images, reference features, real confident share)`: the digit
    classifier against the test split for mnist_5k; the openmoji evaluator against the
    training split (the held-out split then scores bits/dim) for colour."""
    if dataset == "mnist_5k":
        return digit_reference()
    extractor = metrics.ClassifierFeatures("openmoji")
    x_train, _ = data.load_arrays(dataset, "train", image_size=(size, size))
    x_test, _ = data.load_arrays(dataset, "test", image_size=(size, size))
    _, probabilities = extractor.features_and_probabilities(x_test)
    return (extractor, x_test, extractor.features(x_train),
            round(metrics.confident_share(probabilities), 3))


def seconds_per_sample(sample, batch):
    """`(seconds per image, images)` of `sample(seeds)` on seeds 0 .. batch - 1."""
    seconds, images = seconds_per_image(lambda n: sample(np.arange(n, dtype=np.int32)), batch)
    return seconds, np.asarray(images)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per model")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--timing-batch", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--decay", action="store_true",
                        help="lower the learning rate linearly to 0 over the budget")
    parser.add_argument("--dataset", default="mnist_5k", choices=("mnist_5k", *data.COLOUR_SOURCES))
    parser.add_argument("--size", type=int, default=32, help="image size of colour data")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--levels", type=int, default=256,
                        help="intensity levels per channel (2: binarised digits)")
    parser.add_argument("--likelihood", default=None,
                        help="categorical | logistic_mixture (default: the first for mnist_5k, "
                             "the second for colour)")
    parser.add_argument("--name", default="autoregressive")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    figures = os.path.join(args.out, "figures")
    colour = args.dataset != "mnist_5k"
    likelihood = args.likelihood or ("logistic_mixture" if colour else "categorical")
    extractor, x_test, test_features, real_confident = reference(args.dataset, args.size)
    results = {"config": vars(args), "models": {}, "real_test_confident": real_confident}
    if args.levels < 256:  # what the classifier makes of real images at the models' levels
        quantised = np.round(x_test * (args.levels - 1)) / (args.levels - 1)
        results["real_test_confident_quantised"] = round(metrics.confident_share(
            extractor.features_and_probabilities(quantised)[1]), 3)
    for name in args.models.split(","):
        family, model_args = MODELS[name]
        model_args = {**model_args, "likelihood": likelihood, "levels": args.levels}
        run = TrainingRun(family, args.dataset, epochs=10_000, batch_size=args.batch_size,
                          model_args=model_args,
                          image_size=(args.size, args.size) if colour else None,
                          learning_rate=args.learning_rate, validation=False,
                          time_budget_s=60 * args.minutes, decay_over_budget=args.decay,
                          verbose=0, seed=0)
        run.build()
        run.fit()
        model = run.model
        entry = {"family": family, "model_args": model_args,
                 "train_steps": run.summary.get("train_steps"),
                 "parameters": int(model.network.count_params()),
                 "test_bits_per_dim": round(mean_bits_per_dim(model, x_test), 4)}
        naive, naive_images = seconds_per_sample(
            lambda s: model.sample_from_seeds(s, cached=False), args.timing_batch)
        entry["seconds_per_sample_naive"] = round(naive, 4)
        if model.cached_network is not None:
            fast, fast_images = seconds_per_sample(model.sample_from_seeds, args.timing_batch)
            entry["seconds_per_sample_cached"] = round(fast, 4)
            entry["cached_speedup"] = round(naive / fast, 1)
            entry["cached_equals_naive"] = float(np.mean(
                np.round(fast_images * 255) == np.round(naive_images * 255)))
        samples = np.concatenate([model.sample(50, seed=s) for s in range(0, args.samples, 50)])
        entry.update(rounded(metrics.sample_quality(samples, extractor, test_features)))
        save_image_grid(samples[:100], os.path.join(figures, f"{args.name}_{name}_samples.png"),
                        cols=10)
        known = x_test[::max(1, len(x_test) // 10)][:10]  # a row of test images, their completions below
        save_image_grid(np.concatenate([known, model.inpaint(known)]),
                        os.path.join(figures, f"{args.name}_{name}_inpainting.png"), cols=len(known))
        results["models"][name] = entry
        print(name, entry, flush=True)
        write_report(args, results, argv)  # after each model: a stopped run keeps what it measured
    return results


def write_report(args, results, argv):
    """The JSON and markdown table of the models measured so far."""
    what = "digits" if args.dataset == "mnist_5k" else f"{args.dataset} images"
    rows = [(f"real test {what}: confident share (classifier p >= 0.9)", results["real_test_confident"])]
    if "real_test_confident_quantised" in results:
        rows.append((f"the same at {args.levels} levels", results["real_test_confident_quantised"]))
    setting = (f"batch {args.batch_size}, {args.levels} levels"
               + (", learning rate decayed to 0" if args.decay else ""))
    for name, e in results["models"].items():
        timing = f"{e['seconds_per_sample_naive']}"
        if "seconds_per_sample_cached" in e:
            timing += (f" / {e['seconds_per_sample_cached']} ({e['cached_speedup']}x; same draws: "
                       f"{e['cached_equals_naive']:.3f})")
        rows += [
            (f"{name} ({e['train_steps']} steps in {args.minutes:g} min, {setting}, "
             f"{e['parameters']:,} parameters): test bits/dim", e["test_bits_per_dim"]),
            (f"{name} samples (n={e['samples']}): FID / KID / classes covered / confident",
             f"{e['fid']} / {e['kid']} / {e['classes_covered']} / {e['confident_share']}"),
            (f"{name}: seconds per sample at batch {args.timing_batch}, naive / cached", timing),
        ]
    command = "python benchmarks/autoregressive.py " + " ".join(argv or sys.argv[1:])
    write_results(args.out, args.name, results, rows, command=command)


if __name__ == "__main__":
    main()
