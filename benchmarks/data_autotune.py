"""Does tf.data's autotuner slow training down at the end of each epoch?

keras_gen's pipelines turn the autotuner off (`keras_gen.data.without_autotuner`). This
benchmark measures why, in one run: for each family it trains on mnist_5k with
`model.fit(dataset, epochs=...)`, alternately on keras_gen's pipeline and on the same pipeline
with the autotuner switched back on, and reports the seconds of each epoch (the first epoch,
which traces, is left out), their median and total, and how many epochs took over 1.3 times the
median epoch of keras_gen's pipeline (an epoch that waited for the autotuner's next wake-up,
10 ms x (2^n - 1) after its iterator started, can take up to twice as long).

    python benchmarks/data_autotune.py
    python benchmarks/data_autotune.py --families vae,dcgan --epochs 6 --rounds 3

Writes benchmarks/results/data_autotune.{json,md}. Run it alone.
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
import tensorflow as tf  # noqa: E402

from keras_gen import data  # noqa: E402
from keras_gen.models import FAMILIES  # noqa: E402
from reporting import write_results  # noqa: E402
from speed import compiled_family  # noqa: E402

LONG = 1.3  # an epoch over 1.3x the median epoch without the autotuner counts as long


class EpochClock(keras.callbacks.Callback):
    """Seconds from one epoch's start to the next one's (so an epoch's teardown counts)."""

    def on_train_begin(self, logs=None):
        self.marks = []

    def on_epoch_begin(self, epoch, logs=None):
        self.marks.append(time.perf_counter())

    def on_train_end(self, logs=None):
        self.marks.append(time.perf_counter())

    @property
    def seconds(self):
        return list(np.diff(self.marks))


def train_epochs(name, dataset, epochs):
    keras.utils.set_random_seed(0)
    model = compiled_family(name)
    clock = EpochClock()
    model.fit(dataset, epochs=epochs, verbose=0, callbacks=[clock])
    return clock.seconds[1:]  # the first epoch traces


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="vae,autoencoder,gan,dcgan")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two pipelines")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    autotuner_on = tf.data.Options()
    autotuner_on.autotune.enabled = True
    results = {"config": {k: v for k, v in vars(args).items() if k != "out"}, "families": {}}
    for name in args.families.split(","):
        family = FAMILIES[name]
        dataset = data.load("mnist_5k", "train", batch_size=64, value_range=family.value_range,
                            with_labels=family.batch_layout == "labelled")
        pipelines = {"autotuner off (keras_gen)": dataset, "autotuner on": dataset.with_options(autotuner_on)}
        epochs = {key: [] for key in pipelines}
        for _ in range(args.rounds):
            for key, ds in pipelines.items():
                epochs[key] += train_epochs(name, ds, args.epochs)
        typical = float(np.median(epochs["autotuner off (keras_gen)"]))
        results["families"][name] = {
            key: {"epoch_seconds": [round(float(s), 3) for s in values],
                  "median_epoch_seconds": round(float(np.median(values)), 3),
                  "total_seconds": round(float(np.sum(values)), 2),
                  "long_epochs": int(np.sum(np.array(values) > LONG * typical))}
            for key, values in epochs.items()}
        print(name, results["families"][name], flush=True)
    rows = []
    for name, entry in results["families"].items():
        off, on = entry["autotuner off (keras_gen)"], entry["autotuner on"]
        n = len(off["epoch_seconds"])
        rows.append((f"{name}: median epoch s, off / on; total of {n} epochs; epochs over {LONG}x the median",
                     f"{off['median_epoch_seconds']} / {on['median_epoch_seconds']}; "
                     f"{off['total_seconds']} / {on['total_seconds']} (on takes "
                     f"x{on['total_seconds'] / off['total_seconds']:.2f}); "
                     f"{off['long_epochs']} / {on['long_epochs']}"))
    write_results(args.out, "data_autotune", results, rows,
                  command="python benchmarks/data_autotune.py " + " ".join(argv or sys.argv[1:]))
    return results


if __name__ == "__main__":
    main()
