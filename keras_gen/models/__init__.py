"""Model families. `FAMILIES` maps the names used by `apps/train.py` to their classes."""

from keras_gen.models.vae import VAE

FAMILIES = {"vae": VAE}

__all__ = ["FAMILIES", "VAE"]
