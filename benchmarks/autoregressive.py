"""The autoregressive families side by side on mnist_5k, at one wall-clock training budget:
PixelCNN, gated PixelCNN, Row LSTM and Diagonal BiLSTM (PixelRNN).

For each: test-split bits/dim (exact), sample FID / KID / confident share with the digit
classifier's features, an inpainting figure (top half kept), and seconds per sample at one
batch size with the naive sampler (the whole network per pixel) and, where the model has one,
the cached sampler (`keras_gen.networks.incremental`), both measured in this run; the cached
sampler's draws are checked to equal the naive ones on the same seeds.

    python benchmarks/autoregressive.py --minutes 10

Writes benchmarks/results/<name>.{json,md} and figures in results/figures/.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from keras_gen import metrics  # noqa: E402
from keras_gen.plots import save_image_grid  # noqa: E402
from keras_gen.training import TrainingRun  # noqa: E402
from reporting import digit_reference, rounded, write_results  # noqa: E402

# name -> (family, constructor arguments); widths chosen so that a step costs about the same
MODELS = {
    "pixelcnn": ("pixelcnn", {"filters": 64, "num_blocks": 15}),
    "gated_pixelcnn": ("pixelcnn", {"filters": 32, "num_blocks": 15, "gated": True}),
    "row_lstm": ("pixelrnn", {"variant": "row", "units": 32, "num_layers": 4}),
    "diagonal_bilstm": ("pixelrnn", {"variant": "diagonal", "units": 32, "num_layers": 2}),
}


def seconds_per_sample(sample, batch):
    """Wall-clock seconds per image of `sample(seeds)` on one batch, after a tracing call."""
    seeds = np.arange(batch, dtype=np.int32)
    sample(seeds)
    start = time.perf_counter()
    images = np.asarray(sample(seeds))
    return (time.perf_counter() - start) / batch, images


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per model")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--timing-batch", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--name", default="autoregressive")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    figures = os.path.join(args.out, "figures")
    extractor, x_test, test_features, real_confident = digit_reference()
    results = {"config": vars(args), "models": {}, "real_test_confident": real_confident}
    for name in args.models.split(","):
        family, model_args = MODELS[name]
        run = TrainingRun(family, "mnist_5k", epochs=10_000, batch_size=64, model_args=model_args,
                          learning_rate=args.learning_rate, validation=False,
                          time_budget_s=60 * args.minutes, verbose=0, seed=0)
        run.build()
        run.fit()
        model = run.model
        bits = np.concatenate([np.asarray(model.log_prob(x_test[i:i + 250]))
                               for i in range(0, len(x_test), 250)])
        entry = {"family": family, "model_args": model_args,
                 "train_steps": run.summary.get("train_steps"),
                 "parameters": int(model.network.count_params()),
                 "test_bits_per_dim": round(float(bits.mean()), 4)}
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
        known = x_test[::100][:10]
        save_image_grid(np.concatenate([known, model.inpaint(known)]),
                        os.path.join(figures, f"{args.name}_{name}_inpainting.png"), cols=10)
        results["models"][name] = entry
        print(name, entry, flush=True)
        write_report(args, results, argv)  # after each model: a stopped run keeps what it measured
    return results


def write_report(args, results, argv):
    """The JSON and markdown table of the models measured so far."""
    rows = [("real test digits: confident share (classifier p >= 0.9)", results["real_test_confident"])]
    for name, e in results["models"].items():
        timing = f"{e['seconds_per_sample_naive']}"
        if "seconds_per_sample_cached" in e:
            timing += (f" / {e['seconds_per_sample_cached']} ({e['cached_speedup']}x; same draws: "
                       f"{e['cached_equals_naive']:.3f})")
        rows += [
            (f"{name} ({e['train_steps']} steps in {args.minutes:g} min, {e['parameters']:,} "
             "parameters): test bits/dim", e["test_bits_per_dim"]),
            (f"{name} samples (n={e['samples']}): FID / KID / classes covered / confident",
             f"{e['fid']} / {e['kid']} / {e['classes_covered']} / {e['confident_share']}"),
            (f"{name}: seconds per sample at batch {args.timing_batch}, naive / cached", timing),
        ]
    command = "python benchmarks/autoregressive.py " + " ".join(argv or sys.argv[1:])
    write_results(args.out, args.name, results, rows, command=command)


if __name__ == "__main__":
    main()
