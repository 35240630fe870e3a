"""How fast are exported generators when called through the loaded SavedModel?

For each generator: latency at batch 1 (p50 and p99 over `--calls` calls) and throughput at
batch 64, through the SavedModel's float32 signature (`tf.saved_model.load`, as TF Serving
runs the graph) beside `model.predict` and a direct `model(x)` call on the same Keras model,
all measured alternately in this run. Shipped presets supply trained weights where there is
one (vae_mnist, cgan_mnist, denoising_ae_mnist); the others are default-size untrained models
(timing does not depend on the weights).

    python benchmarks/serving.py

Writes benchmarks/results/serving.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_gen.export import export  # noqa: E402
from keras_gen.models import DCGAN, VAE, ConditionalGAN, DenoisingAutoEncoder, Pix2Pix  # noqa: E402
from reporting import write_results  # noqa: E402


def generators():
    """`name -> (model, signature, inputs for a batch size, keras input for predict, weights)`."""
    rng = np.random.default_rng(0)
    images = lambda n, shape=(28, 28, 1): rng.random((n, *shape)).astype("float32")  # noqa: E731
    normal = lambda n, d: rng.standard_normal((n, d)).astype("float32")  # noqa: E731
    labels = lambda n: (np.arange(n) % 10).astype("int32")  # noqa: E731
    return {
        "vae_mnist (reconstruct)": (VAE.from_preset("vae_mnist"), "reconstruct",
                                    lambda n: {"images": images(n)}, "preset"),
        "denoising_ae_mnist (reconstruct)": (DenoisingAutoEncoder.from_preset("denoising_ae_mnist"),
                                             "reconstruct", lambda n: {"images": images(n)}, "preset"),
        "dcgan (generate)": (DCGAN(latent_dim=100), "generate", lambda n: {"z": normal(n, 100)},
                             "untrained"),
        "cgan_mnist (generate)": (ConditionalGAN.from_preset("cgan_mnist"), "generate",
                                  lambda n: {"z": normal(n, 64), "labels": labels(n)}, "preset"),
        "pix2pix 64x64 (translate)": (Pix2Pix(image_shape=(64, 64, 1)), "translate",
                                      lambda n: {"images": images(n, (64, 64, 1))}, "untrained"),
    }


def keras_input(inputs):
    values = list(inputs.values())
    return values[0] if len(values) == 1 else values


def latencies(fn, calls):
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return np.asarray(times) * 1000.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="batch-1 calls per way, for p50/p99")
    parser.add_argument("--batches", type=int, default=20, help="batch-64 calls per way")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    root = tempfile.mkdtemp()
    results = {"config": {k: v for k, v in vars(args).items() if k != "out"}, "models": {}}
    for name, (model, signature, make_inputs, weights) in generators().items():
        path = export(model, os.path.join(root, name.split()[0]), models_config=False)
        function = tf.saved_model.load(path).signatures[signature]
        one, many = make_inputs(1), make_inputs(64)
        ways = {
            "saved_model": lambda x: function(**{k: tf.constant(v) for k, v in x.items()}),
            "model.predict": lambda x: model.predict(keras_input(x), batch_size=64, verbose=0),
            "model(x)": lambda x: model(keras_input(x), training=False),
        }
        for call in ways.values():  # trace / warm up
            call(one), call(many)
        record = {"weights": weights, "signature": signature}
        for way, call in ways.items():
            ms = latencies(lambda: call(one), args.calls)
            seconds = latencies(lambda: call(many), args.batches) / 1000.0
            record[way] = {"p50_ms": round(float(np.percentile(ms, 50)), 3),
                           "p99_ms": round(float(np.percentile(ms, 99)), 3),
                           "images_per_s_batch64": round(float(64 / np.median(seconds)), 1)}
        results["models"][name] = record
        print(name, record, flush=True)
    rows = [("model (weights): each way as p50 / p99 ms at batch 1, images/s at batch 64",
             "SavedModel signature; model.predict; model(x)")]
    for name, r in results["models"].items():
        cells = [f"{r[w]['p50_ms']} / {r[w]['p99_ms']} ms, {r[w]['images_per_s_batch64']}"
                 for w in ("saved_model", "model.predict", "model(x)")]
        rows.append((f"{name} ({r['weights']})", "; ".join(cells)))
    write_results(args.out, "serving", results, rows,
                  command="python benchmarks/serving.py " + " ".join(argv or sys.argv[1:]))
    return results


if __name__ == "__main__":
    main()
