"""How good are PixelCNN and the diffusion model on mnist_5k, and how fast do they sample?

- PixelCNN (gated): exact test-split negative log-likelihood in bits per dimension after a
  fixed number of epochs, and its receptive field (how many rows above a pixel can change its
  prediction, found by gradients): a digit spans about 20 rows, and a network that sees
  fewer draws strokes without a whole digit;
- FID / KID (digit-classifier features) of PixelCNN and diffusion (DDIM, 50 steps) samples
  to the 1,000 test images, and mode coverage;
- sampling time per image: diffusion DDIM at 50 steps vs DDPM at all T steps, and PixelCNN,
  measured in this run on the same batch size.

    python benchmarks/pixelcnn_diffusion.py

Writes benchmarks/results/pixelcnn_diffusion.{json,md} and sample grids in results/figures/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_gen import data, metrics  # noqa: E402
from keras_gen.models import DiffusionModel, PixelCNN  # noqa: E402
from keras_gen.networks.masked import receptive_field  # noqa: E402
from keras_gen.plots import save_image_grid  # noqa: E402
from reporting import (  # noqa: E402
    digit_reference, mean_bits_per_dim, rounded, seconds_per_image, write_results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixelcnn-epochs", type=int, default=5)
    parser.add_argument("--pixelcnn-filters", type=int, default=32)
    parser.add_argument("--pixelcnn-blocks", type=int, default=15,
                        help="gated blocks after the 7x7 layer; each adds a row of context (5 saw 8 rows)")
    parser.add_argument("--models", default="pixelcnn,diffusion",
                        help="comma-separated; with --merge, \"\" rewrites the tables from the last results")
    parser.add_argument("--merge", action="store_true",
                        help="keep an earlier results file's entry for the model not run now")
    parser.add_argument("--diffusion-epochs", type=int, default=30)
    parser.add_argument("--diffusion-filters", type=int, default=32)
    parser.add_argument("--precision", default="float32",
                        help="training policy: float32 or mixed_bfloat16 (this CPU has AMX bfloat16)")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--timing-batch", type=int, default=16)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    figures = os.path.join(args.out, "figures")
    extractor, x_test, test_features, real_confident = digit_reference()
    keras.mixed_precision.set_global_policy(args.precision)  # the models only; the extractor stays float32
    results = {"config": vars(args), "real_test_confident": real_confident}

    if "pixelcnn" in args.models.split(","):
        keras.utils.set_random_seed(0)
        pixelcnn = PixelCNN(image_shape=(28, 28, 1), filters=args.pixelcnn_filters,
                            num_blocks=args.pixelcnn_blocks, gated=True)
        pixelcnn.compile(optimizer=keras.optimizers.Adam(1e-3))
        start = time.time()
        pixelcnn.fit(data.load("mnist_5k", "train", batch_size=64), epochs=args.pixelcnn_epochs, verbose=2)
        train_seconds = time.time() - start
        bits = mean_bits_per_dim(pixelcnn, x_test)
        samples = np.concatenate([pixelcnn.sample(50, seed=s) for s in range(0, args.samples, 50)])
        save_image_grid(samples[:100], os.path.join(figures, "pixelcnn_samples.png"), cols=10)
        inpainted = np.asarray(pixelcnn.inpaint(x_test[::100][:10]))
        save_image_grid(np.concatenate([x_test[::100][:10], inpainted]),
                        os.path.join(figures, "pixelcnn_inpainting.png"), cols=10)
        rows_above, left, right = receptive_field(pixelcnn.network, (28, 28, 1))
        results["pixelcnn"] = {
            "epochs": args.pixelcnn_epochs, "blocks": args.pixelcnn_blocks, "precision": args.precision,
            "receptive_rows_above": rows_above, "receptive_columns": [left, right],
            "train_seconds": round(train_seconds, 1), "test_bits_per_dim": round(bits, 4),
            **rounded(metrics.sample_quality(samples, extractor, test_features)),
            "seconds_per_sample": round(seconds_per_image(
                lambda n: pixelcnn.sample(n, seed=1), args.timing_batch)[0], 4)}
        print(results["pixelcnn"], flush=True)

    if "diffusion" in args.models.split(","):
        keras.utils.set_random_seed(0)
        diffusion = DiffusionModel(image_shape=(28, 28, 1), timesteps=1000, base_filters=args.diffusion_filters)
        diffusion.compile(optimizer=diffusion.default_optimizer(1e-3))
        start = time.time()
        diffusion.fit(data.load("mnist_5k", "train", batch_size=64, value_range=(-1, 1)),
                      epochs=args.diffusion_epochs, verbose=2)
        train_seconds = time.time() - start
        samples = np.concatenate([diffusion.sample(100, seed=s) for s in range(0, args.samples, 100)])
        save_image_grid(samples[:100], os.path.join(figures, "diffusion_ddim50_samples.png"), cols=10)
        results["diffusion"] = {
            "epochs": args.diffusion_epochs, "precision": args.precision, "train_seconds": round(train_seconds, 1),
            "ddim_50": rounded(metrics.sample_quality(samples, extractor, test_features)),
            "seconds_per_sample_ddim_50": round(seconds_per_image(
                lambda n: diffusion.sample(n, seed=1, steps=50), args.timing_batch)[0], 4),
            "seconds_per_sample_ddpm_1000": round(seconds_per_image(
                lambda n: diffusion.sample(n, seed=1, method="ddpm"), args.timing_batch)[0], 4)}
        print(results["diffusion"], flush=True)

    previous_path = os.path.join(args.out, "pixelcnn_diffusion.json")
    command = "python benchmarks/pixelcnn_diffusion.py " + " ".join(argv or sys.argv[1:])
    if args.merge and os.path.exists(previous_path):
        with open(previous_path) as handle:
            previous = json.load(handle)
        for name in ("pixelcnn", "diffusion"):
            if name not in results and name in previous:
                results[name] = previous[name]
        if not {"pixelcnn", "diffusion"} & set(args.models.split(",")):  # tables only: keep the run's config
            results["config"] = previous.get("config", results["config"])
        command = "; ".join([*previous.get("commands", [previous.get("command", "")]), command])
    results["commands"] = command.split("; ")
    p, d = results.get("pixelcnn"), results.get("diffusion")  # one may be absent: a run without --merge
    rows = []
    if p:
        rows += [
            (f"gated PixelCNN ({p['epochs']} epochs, {p.get('blocks', 5)} blocks, {p.get('precision', 'float32')}): "
             "test bits/dim", p["test_bits_per_dim"]),
            ("PixelCNN receptive field of the bottom-centre pixel: rows above / columns",
             f"{p.get('receptive_rows_above', 8)} / {p.get('receptive_columns', [6, 22])}"),
            (f"PixelCNN samples (n={p['samples']}): FID / KID / classes covered / confident",
             f"{p['fid']} / {p['kid']} / {p['classes_covered']} / {p.get('confident_share', 'not measured')}")]
    if d:
        rows.append((f"diffusion DDIM-50 samples ({d['epochs']} epochs, {d.get('precision', 'float32')}, "
                     f"n={d['ddim_50']['samples']}): FID / KID / classes / confident",
                     f"{d['ddim_50']['fid']} / {d['ddim_50']['kid']} / {d['ddim_50']['classes_covered']} / "
                     f"{d['ddim_50'].get('confident_share', 'not measured')}"))
    rows += [
        ("real test digits: confident (share the classifier puts in one class with p >= 0.9)",
         results["real_test_confident"]),
        ("seconds per sample: PixelCNN / DDIM 50 steps / DDPM 1000 steps",
         f"{p['seconds_per_sample'] if p else 'not run'} / "
         f"{d['seconds_per_sample_ddim_50'] if d else 'not run'} / "
         f"{d['seconds_per_sample_ddpm_1000'] if d else 'not run'}"),
    ]
    write_results(args.out, "pixelcnn_diffusion", results, rows, command=command,
                  figures=[f for f, ran in (("pixelcnn_samples.png", p), ("pixelcnn_inpainting.png", p),
                                            ("diffusion_ddim50_samples.png", d)) if ran])
    return results


if __name__ == "__main__":
    main()
