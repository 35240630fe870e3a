"""How good and how fast is the VAE on mnist_5k?

Question 1: test-set negative ELBO (nats per image, lower is better) after a fixed number of
epochs on the 4,000 training images, evaluated on the 1,000 held-out test images.
Question 2: training throughput (images/s) of the same model with and without XLA
(`jit_compile`), measured in this run, alternating the two so machine load hits both alike.

    python benchmarks/vae_mnist.py --epochs 30

Writes benchmarks/results/vae_mnist.json and .md (figures are reported, never asserted).
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

from keras_gen import data  # noqa: E402
from keras_gen.models import VAE  # noqa: E402
from keras_gen.training import TrainingRun  # noqa: E402
from reporting import write_results  # noqa: E402


def measure_throughput(jit_compile, latent_dim, batch_size, steps, repeats):
    """Images/s of `train_step` over `steps` steps after a warm-up, best of `repeats`."""
    keras.utils.set_random_seed(0)
    vae = VAE(latent_dim=latent_dim)
    vae.compile(optimizer="adam", jit_compile=jit_compile)
    train = data.load("mnist_5k", "train", batch_size=batch_size, drop_remainder=True).repeat()
    vae.fit(train, steps_per_epoch=5, epochs=1, verbose=0)  # trace / compile
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        vae.fit(train, steps_per_epoch=steps, epochs=1, verbose=0)
        rates.append(steps * batch_size / (time.perf_counter() - start))
    return max(rates), rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--eval-passes", type=int, default=10,
                        help="single-sample ELBO passes over the test set, averaged")
    parser.add_argument("--speed-steps", type=int, default=60)
    parser.add_argument("--speed-repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)

    run = TrainingRun("vae", "mnist_5k", epochs=args.epochs, batch_size=args.batch_size,
                      model_args={"latent_dim": args.latent_dim},
                      optimizer=keras.optimizers.Adam(1e-3), validation=False, verbose=0)
    run.run()
    vae, history, train_seconds = run.model, run.history, run.summary["train_seconds"]
    test = data.load("mnist_5k", "test", batch_size=500)
    nelbo = [vae.negative_elbo(test) for _ in range(args.eval_passes)]

    speed = {}
    for flag in (False, True, False, True):  # interleaved: both see the same machine state
        best, rates = measure_throughput(flag, args.latent_dim, args.batch_size,
                                         args.speed_steps, args.speed_repeats)
        entry = speed.setdefault("xla" if flag else "no_xla", {"best": 0.0, "runs": []})
        entry["best"] = max(entry["best"], best)
        entry["runs"].extend(round(r, 1) for r in rates)

    results = {
        "question": "VAE test negative ELBO on mnist_5k after a fixed budget; train throughput "
                    "with and without XLA",
        "config": vars(args) | {"model": "VAE conv (32, 64), dense 128", "likelihood": "bernoulli"},
        "test_negative_elbo_nats": round(float(np.mean(nelbo)), 2),
        "test_negative_elbo_std_over_passes": round(float(np.std(nelbo)), 2),
        "final_train_loss": round(float(history.history["loss"][-1]), 2),
        "train_seconds": round(train_seconds, 1),
        "throughput_images_per_s": {k: round(v["best"], 1) for k, v in speed.items()},
        "throughput_runs": {k: v["runs"] for k, v in speed.items()},
        "xla_speedup": round(speed["xla"]["best"] / speed["no_xla"]["best"], 3),
    }
    rows = [
        ("test negative ELBO (nats/image)",
         f"{results['test_negative_elbo_nats']} ± {results['test_negative_elbo_std_over_passes']}"),
        ("epochs / train time", f"{args.epochs} / {results['train_seconds']} s"),
        ("train images/s, no XLA", results["throughput_images_per_s"]["no_xla"]),
        ("train images/s, XLA (jit_compile=True)", results["throughput_images_per_s"]["xla"]),
        ("XLA / no-XLA ratio", results["xla_speedup"]),
    ]
    write_results(args.out, "vae_mnist", results, rows,
                  command="python benchmarks/vae_mnist.py " + " ".join(argv or sys.argv[1:]))
    return results


if __name__ == "__main__":
    main()
