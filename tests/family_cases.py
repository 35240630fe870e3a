"""One tiny model and one training batch per family, for checks that must cover every family
the same way (mixed precision, tf.distribute, XLA).

`FAMILY_CASES[name]()` returns `(model, batch)`; `batch` is what the family's `fit` takes
(images, `(images, labels)` or `(a, b)` pairs), in the family's value range. Deterministic
families (no noise drawn inside `train_step`) are listed in `DETERMINISTIC`.
"""

import numpy as np

from keras_gen.models import FAMILIES

SIZE = 16  # even, and enough for two stride-2 stages


def _images(n=8, size=SIZE, channels=1, value_range=(0.0, 1.0), seed=0):
    x = np.random.default_rng(seed).random((n, size, size, channels)).astype("float32")
    low, high = value_range
    return x * (high - low) + low


def _labels(n=8, classes=3):
    return (np.arange(n) % classes).astype("int32")


SHAPE = (SIZE, SIZE, 1)
FAMILY_ARGS = {
    "vae": dict(latent_dim=2, filters=(4, 8), dense_units=8),
    "beta_vae": dict(latent_dim=2, filters=(4, 8), dense_units=8, beta=4.0),
    "cvae": dict(latent_dim=2, filters=(4, 8), dense_units=8, num_classes=3),
    "dbvae": dict(latent_dim=2, filters=(4, 8), dense_units=8),
    "autoencoder": dict(latent_dim=4, units=(8,)),
    "stacked_ae": dict(latent_dim=4, units=(8, 6)),
    "sparse_ae": dict(latent_dim=8, units=(8,)),
    "denoising_ae": dict(latent_dim=4, units=(8,)),
    "gan": dict(latent_dim=4, units=(8,), ema_decay=0.9),
    "dcgan": dict(latent_dim=4, base_filters=4),
    "cgan": dict(latent_dim=4, units=(8,), num_classes=3),
    "wgan_gp": dict(latent_dim=4, base_filters=4, n_critic=2),
    "pix2pix": dict(base_filters=4, discriminator_layers=2, dropout=0.0),
    "cyclegan": dict(base_filters=4, num_blocks=1, discriminator_layers=2, pool_size=4),
    "pixelcnn": dict(filters=4, num_blocks=1),
    "diffusion": dict(base_filters=8, timesteps=10),
}
DETERMINISTIC = ("autoencoder", "stacked_ae", "sparse_ae", "pixelcnn", "pix2pix")


def make_case(name, n=8):
    """`(model, batch)` for family `name`, built under the current dtype policy / scope."""
    family = FAMILIES[name]
    model = family(image_shape=SHAPE, **FAMILY_ARGS[name])
    value_range = getattr(family, "value_range", (0.0, 1.0))
    x = _images(n, value_range=value_range)
    if name == "dbvae":
        batch = (x, (np.arange(n) % 2).astype("float32"))
    elif getattr(family, "needs_labels", False):
        batch = (x, _labels(n))
    elif name in ("pix2pix", "cyclegan"):
        batch = (x, _images(n, value_range=value_range, seed=1))
    else:
        batch = x
    return model, batch


def all_families():
    return sorted(FAMILY_ARGS)
