"""Train the digit classifier used as the feature extractor for FID / KID and as the judge of
class consistency, on mnist_5k's training split, and save its weights into the package.

    python apps/train_digit_classifier.py --epochs 15

Prints the test-split accuracy. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="weights path (default: the packaged one)")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from keras_gen import data
    from keras_gen.metrics.classifier import WEIGHTS_PATH, digit_classifier

    keras.utils.set_random_seed(args.seed)
    x_train, y_train = data.load_arrays("mnist_5k", "train")
    x_test, y_test = data.load_arrays("mnist_5k", "test")
    augment = keras.layers.RandomTranslation(0.06, 0.06, fill_mode="constant")
    train = data.from_arrays(x_train, y_train, batch_size=64, seed=args.seed)
    train = train.map(lambda x, y: (augment(x, training=True), y))
    model = digit_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(train, epochs=args.epochs, validation_data=(x_test, y_test), verbose=2)
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), -1) == y_test))
    out = args.out or WEIGHTS_PATH
    os.makedirs(os.path.dirname(out), exist_ok=True)
    model.save_weights(out)
    print(f"test accuracy {accuracy:.4f}; weights written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
