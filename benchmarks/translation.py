"""How well do pix2pix and CycleGAN translate held-out digits, and how fast do they train?

- pix2pix on edges -> digit (Sobel edges of mnist_5k digits as input, the digit as target):
  L1, PSNR and SSIM to the targets on the 1,000 test pairs, and the digit classifier's
  accuracy on the translated images (does the output show the right digit?).
- CycleGAN on scikit-learn's 8x8 digits (upsampled, X) <-> mnist_5k (Y), unpaired: label
  preservation (classifier accuracy on G(x) and F(y) against the source labels) in both
  directions, beside the classifier's accuracy on the untranslated images, and the cycle
  reconstruction error |F(G(x)) - x| and |G(F(y)) - y|.
- Training throughput (images/s) of both.

    python benchmarks/translation.py

Writes benchmarks/results/translation.{json,md} and input / output / target grids under
benchmarks/results/figures/.
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

from keras_gen import metrics  # noqa: E402
from keras_gen.data import paired  # noqa: E402
from keras_gen.models import CycleGAN, Pix2Pix  # noqa: E402
from keras_gen.plots import save_image_grid  # noqa: E402
from reporting import write_results  # noqa: E402


def batched(fn, x, batch=250):
    return np.concatenate([np.asarray(fn(x[i : i + batch])) for i in range(0, len(x), batch)])


def timed_fit(model, dataset, epochs, steps_per_epoch, batch_size):
    model.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0)  # trace outside the timing
    start = time.time()
    model.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=0)
    seconds = time.time() - start
    steps = epochs * steps_per_epoch
    return round(seconds, 1), round(steps * batch_size / seconds, 1)


def run_pix2pix(args, extractor, figures):
    edges, digits, _ = paired.edges_to_digits("train")
    test_edges, test_digits, test_labels = paired.edges_to_digits("test")
    keras.utils.set_random_seed(0)
    model = Pix2Pix(image_shape=(28, 28, 1), base_filters=args.pix2pix_filters)
    model.compile(optimizer=model.default_optimizer())
    train = paired.pairs_from_arrays(edges, digits, batch_size=args.batch_size, augment=True,
                                     drop_remainder=True).repeat()
    steps = len(edges) // args.batch_size
    seconds, rate = timed_fit(model, train, args.pix2pix_epochs, steps, args.batch_size)
    outputs = batched(model.translate, test_edges)
    targets = test_digits
    l1 = float(np.mean(np.abs(outputs - targets)))
    mse = np.mean((outputs - targets) ** 2, axis=(1, 2, 3))
    psnr = float(np.mean(10 * np.log10(1.0 / np.maximum(mse, 1e-10))))
    ssim = float(np.mean(tf.image.ssim(tf.constant(outputs), tf.constant(targets), max_val=1.0)))
    accuracy = float(np.mean(extractor.predict(outputs) == test_labels))
    picks = np.arange(0, 1000, 100)
    save_image_grid(np.concatenate([test_edges[picks], outputs[picks], targets[picks]]),
                    os.path.join(figures, "pix2pix_edges_output_target.png"), cols=10)
    return {"epochs": args.pix2pix_epochs, "test_l1": round(l1, 4), "test_psnr_db": round(psnr, 2),
            "test_ssim": round(ssim, 4), "classifier_accuracy_on_outputs": round(accuracy, 4),
            "classifier_accuracy_on_targets": round(float(np.mean(extractor.predict(targets) == test_labels)), 4),
            "train_seconds": seconds, "train_images_per_s": rate}


def run_cyclegan(args, extractor, figures):
    (x, _), (y, _) = paired.digits_to_mnist("train")
    (x_test, x_labels), (y_test, y_labels) = paired.digits_to_mnist("test")
    keras.utils.set_random_seed(0)
    model = CycleGAN(image_shape=(28, 28, 1), base_filters=args.cyclegan_filters,
                     num_blocks=args.cyclegan_blocks)
    model.compile(optimizer=model.default_optimizer())
    train = paired.unpaired_from_arrays(x, y, batch_size=args.cyclegan_batch_size)
    seconds, rate = timed_fit(model, train, args.cyclegan_epochs, args.cyclegan_steps,
                              args.cyclegan_batch_size)
    to_y = batched(model.translate_x_to_y, x_test)
    to_x = batched(model.translate_y_to_x, y_test)
    cycle_x, cycle_y = (np.concatenate([np.asarray(v) for v in pair]) for pair in zip(*[
        model.cycle_error(x_test[i : i + 250], y_test[i : i + 250])
        for i in range(0, min(len(x_test), len(y_test)), 250)]))
    picks_x, picks_y = np.arange(0, len(x_test), len(x_test) // 10)[:10], np.arange(0, 1000, 100)
    save_image_grid(np.concatenate([x_test[picks_x], to_y[picks_x], y_test[picks_y], to_x[picks_y]]),
                    os.path.join(figures, "cyclegan_x_to_y_and_y_to_x.png"), cols=10)
    accuracy = lambda images, labels: round(float(np.mean(extractor.predict(images) == labels)), 4)  # noqa: E731
    return {"steps": args.cyclegan_epochs * args.cyclegan_steps,
            "label_preservation_x_to_y": accuracy(to_y, x_labels),
            "label_preservation_y_to_x": accuracy(to_x, y_labels),
            "classifier_accuracy_untranslated_x": accuracy(x_test, x_labels),
            "classifier_accuracy_untranslated_y": accuracy(y_test, y_labels),
            "cycle_l1_x": round(float(np.mean(cycle_x)), 4), "cycle_l1_y": round(float(np.mean(cycle_y)), 4),
            "train_seconds": seconds, "train_images_per_s": rate}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pix2pix-epochs", type=int, default=10)
    parser.add_argument("--pix2pix-filters", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cyclegan-epochs", type=int, default=10)
    parser.add_argument("--cyclegan-steps", type=int, default=150)
    parser.add_argument("--cyclegan-batch-size", type=int, default=8)
    parser.add_argument("--cyclegan-filters", type=int, default=32)
    parser.add_argument("--cyclegan-blocks", type=int, default=4)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    figures = os.path.join(args.out, "figures")
    extractor = metrics.DigitFeatures()
    results = {"config": vars(args), "pix2pix_edges_to_digits": run_pix2pix(args, extractor, figures),
               "cyclegan_digits_mnist": run_cyclegan(args, extractor, figures)}
    p, c = results["pix2pix_edges_to_digits"], results["cyclegan_digits_mnist"]
    rows = [
        (f"pix2pix edges -> digit ({p['epochs']} epochs): test L1 / PSNR / SSIM",
         f"{p['test_l1']} / {p['test_psnr_db']} dB / {p['test_ssim']}"),
        ("pix2pix: classifier accuracy on outputs (on real targets)",
         f"{p['classifier_accuracy_on_outputs']} ({p['classifier_accuracy_on_targets']})"),
        (f"CycleGAN digits <-> MNIST ({c['steps']} steps): label preservation X->Y / Y->X",
         f"{c['label_preservation_x_to_y']} / {c['label_preservation_y_to_x']}"),
        ("classifier accuracy on untranslated X (sklearn digits) / Y (MNIST)",
         f"{c['classifier_accuracy_untranslated_x']} / {c['classifier_accuracy_untranslated_y']}"),
        ("CycleGAN cycle L1 X / Y ([0, 1] units)", f"{c['cycle_l1_x']} / {c['cycle_l1_y']}"),
        ("train images/s: pix2pix / CycleGAN (pairs per s)",
         f"{p['train_images_per_s']} / {c['train_images_per_s']}"),
    ]
    write_results(args.out, "translation", results, rows,
                  command="python benchmarks/translation.py " + " ".join(argv or sys.argv[1:]),
                  figures=["pix2pix_edges_output_target.png", "cyclegan_x_to_y_and_y_to_x.png"])
    return results


if __name__ == "__main__":
    main()
