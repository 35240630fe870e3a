"""Train an evaluator (the classifier behind FID / KID, class consistency and mode coverage) on
an offline source's training split, and save its weights into the package.

    python apps/train_classifier.py digits --epochs 15
    python apps/train_classifier.py openmoji --epochs 40

Prints the held-out accuracy (and, for openmoji, the accuracy per emoji group). Nothing is
downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_EPOCHS = {"digits": 15, "openmoji": 40}


def _augmentation(keras, evaluator):
    if evaluator == "digits":
        return keras.layers.RandomTranslation(0.06, 0.06, fill_mode="constant")
    # emoji keep their group when mirrored, shifted or slightly zoomed; white is the background
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", fill_value=1.0),
        keras.layers.RandomZoom(0.1, fill_mode="constant", fill_value=1.0),
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluator", choices=sorted(DEFAULT_EPOCHS))
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="weights path (default: the packaged one)")
    parser.add_argument("--report", default=None, help="also write the accuracies as JSON here")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from keras_gen import data
    from keras_gen.metrics.classifier import EVALUATORS

    spec = EVALUATORS[args.evaluator]
    epochs = args.epochs or DEFAULT_EPOCHS[args.evaluator]
    keras.utils.set_random_seed(args.seed)
    x_train, y_train = data.load_arrays(spec.dataset, "train")
    x_test, y_test = data.load_arrays(spec.dataset, "test")
    augment = _augmentation(keras, args.evaluator)
    train = data.from_arrays(x_train, y_train, batch_size=64, seed=args.seed)
    train = train.map(lambda x, y: (augment(x, training=True), y))
    model = spec.build(num_classes=spec.num_classes)
    learning_rate = 1e-3
    if args.evaluator != "digits":  # decayed to 0, so the last epoch's batch-norm weights settle
        steps = epochs * int(np.ceil(len(x_train) / 64))
        learning_rate = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(train, epochs=epochs, validation_data=(x_test, y_test), verbose=2)
    predictions = np.argmax(model.predict(x_test, verbose=0), -1)
    accuracy = float(np.mean(predictions == y_test))
    per_class = {int(c): float(np.mean(predictions[y_test == c] == c)) for c in np.unique(y_test)}
    out = args.out or spec.weights_path
    os.makedirs(os.path.dirname(out), exist_ok=True)
    model.save_weights(out)
    print(f"test accuracy {accuracy:.4f} on {len(y_test)} held-out images; "
          f"balanced {np.mean(list(per_class.values())):.4f}; weights written to {out}")
    if args.report:
        with open(args.report, "w") as handle:
            json.dump({"evaluator": args.evaluator, "epochs": epochs, "seed": args.seed,
                       "test_images": int(len(y_test)), "test_accuracy": accuracy,
                       "balanced_accuracy": float(np.mean(list(per_class.values()))),
                       "accuracy_per_class": per_class}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
