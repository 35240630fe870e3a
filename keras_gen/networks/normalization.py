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
