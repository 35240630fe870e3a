"""Normalization layers shared by the network builders."""

from keras import layers


def synchronized_batch_norm(name=None):
    """Batch normalization whose statistics are those of the global batch under `tf.distribute`.

    `synchronized=True` all-reduces the batch mean and variance across replicas, so a
    data-parallel step normalises like a one-device step on the same global batch and the
    moving statistics stay identical on every replica (with one device it is plain batch norm).

    Example:
    >>> synchronized_batch_norm("norm").synchronized
    True
    """
    return layers.BatchNormalization(synchronized=True, name=name)


def spectral(layer, enabled=True):
    """`layer` wrapped in Keras's `SpectralNormalization` when `enabled` (the attention GANs
    put it on every weight layer of G and D); the wrapper is named `<layer name>_sn`.

    Keras's layer rewrites the kernel as `kernel / sigma` at each training call (no gradient
    through sigma), rather than dividing inside the forward pass as Miyato et al. define it.
    The second was tried for SAGAN on openmoji 32x32: as good at 5 minutes, worse at 10
    (`benchmarks/results/openmoji_growing.md`), so the Keras layer stays.

    Example:
    >>> spectral(layers.Dense(3, name="d")).name
    'd_sn'
    """
    return layers.SpectralNormalization(layer, name=f"{layer.name}_sn") if enabled else layer
