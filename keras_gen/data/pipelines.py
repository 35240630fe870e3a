"""Turn in-memory arrays or decoded image streams into training-ready `tf.data` pipelines.

Every loader in `keras_gen.data` ends here, so every family sees the same element layout:
a batch of float32 images of shape `(batch, height, width, channels)` scaled to
`value_range`, or a tuple `(images, labels)` when `with_labels=True` (integer labels).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def check_value_range(value_range):
    """Return `value_range` as a `(low, high)` float pair or raise a `ValueError`."""
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be a pair (low, high), got {value_range!r}") from None
    if not low < high:
        raise ValueError(f"value_range must have low < high, got {value_range!r}")
    return low, high


def rescale(images, value_range, source_max=1.0):
    """Map images from `[0, source_max]` to `value_range` as float32 (works on tensors)."""
    low, high = check_value_range(value_range)
    images = tf.cast(images, tf.float32) / float(source_max)
    return images * (high - low) + low


def as_image_array(x, name="x"):
    """Validate an array of images and return it as `(n, h, w, c)` (a missing channel axis is added).

    Raises:
        ValueError: naming the problem, when `x` is empty or not rank 3 or 4, or has more than
            4 channels.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    if x.ndim != 4:
        raise ValueError(
            f"{name} must be images of shape (n, height, width) or (n, height, width, channels); "
            f"got an array of shape {x.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} holds no images (shape {x.shape})")
    if x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(f"{name} has images of zero height or width (shape {x.shape})")
    if x.dtype.kind not in "uifb":
        raise ValueError(f"{name} must hold numbers (integers, floats or booleans), got dtype {x.dtype}")
    if x.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            f"{name} must have 1 to 4 channels on its last axis; got shape {x.shape} "
            "(channels-first arrays must be transposed to channels-last)"
        )
    return x


def batch_pipeline(
    dataset,
    batch_size,
    *,
    shuffle=True,
    seed=0,
    cache=True,
    drop_remainder=False,
    shuffle_buffer=10_000,
    prepare=None,
):
    """Cache, shuffle, prepare, batch and prefetch a dataset of single examples (autotuner off).

    Caching happens before shuffling, so decoding runs once while every epoch still sees a new
    order; `prepare` (scaling to floats, resizing) runs after the cache, so what is cached stays
    as compact as the source (uint8 images from TFDS and folders).
    """
    if batch_size is None or int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if prepare is not None:
        dataset = dataset.map(prepare, num_parallel_calls=AUTOTUNE)
    dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
    return without_autotuner(dataset.prefetch(AUTOTUNE))


def without_autotuner(dataset):
    """`dataset` with tf.data's autotuner off (AUTOTUNE maps then run one call per core).

    Why: with the autotuner on (TensorFlow 2.21, CPU), ending an iterator -- at the end of every
    epoch and of every `fit` -- often waits for the autotuner's next wake-up. Its wake-ups come
    10 ms x (2^n - 1) after the iterator starts (0.63, 1.27, 2.55, 5.11 s, ...), so an epoch can
    last up to twice its work: 10 DCGAN epochs on mnist_5k took 71.2 s with it, three of them
    over 10 s, and 59.1 s without (benchmarks/results/data_autotune.md). Decoding throughput is
    the same either way, since AUTOTUNE maps fall back to one parallel call per core.

    Examples:
        >>> ds = without_autotuner(tf.data.Dataset.range(8).batch(4).prefetch(AUTOTUNE))
        >>> ds.options().autotune.enabled
        False
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def from_arrays(
    x,
    y=None,
    *,
    batch_size=64,
    value_range=(0.0, 1.0),
    source_max=None,
    with_labels=None,
    shuffle=True,
    seed=0,
    cache=True,
    drop_remainder=False,
    image_size=None,
):
    """Build a batched pipeline from NumPy images (and optional integer labels).

    Args:
        x: images `(n, h, w)` or `(n, h, w, c)`, uint8 in [0, 255] or floats in [0, 1]
            (or pass `source_max`).
        y: optional labels, one per image.
        value_range: the range the model expects, `(0, 1)` or `(-1, 1)`.
        with_labels: yield `(images, labels)`; defaults to `y is not None`.
        image_size: `(height, width)` to resize to as the images stream (one at a time, after
            the cache of the arrays as given), never the whole array at once.

    Examples:
        >>> import numpy as np
        >>> ds = from_arrays(np.zeros((10, 8, 8), "uint8"), np.arange(10), batch_size=4)
        >>> [tuple(t.shape) for t in next(iter(ds))]
        [(4, 8, 8, 1), (4,)]
    """
    x = as_image_array(x)
    if not np.all(np.isfinite(x)):
        raise ValueError("x holds NaN or infinite values")
    if source_max is None:
        source_max = 255.0 if (x.dtype == np.uint8 or float(np.max(x)) > 1.0) else 1.0
    if float(np.min(x)) < 0 or float(np.max(x)) > source_max:
        raise ValueError(f"x values must lie in [0, {source_max:g}] (uint8 or floats in [0, 1], or "
                         f"pass source_max); got {np.min(x)}..{np.max(x)}")
    with_labels = (y is not None) if with_labels is None else with_labels
    if with_labels and y is None:
        raise ValueError("with_labels=True needs labels y")
    if y is not None:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(
                f"y must be one integer label per image: got shape {y.shape} for {len(x)} images"
            )
    x = x.astype(np.float32)
    scale = lambda images: rescale(images, value_range, source_max)  # noqa: E731
    if with_labels:
        ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
        ds = ds.map(lambda a, b: (scale(a), b), num_parallel_calls=AUTOTUNE)
    else:
        ds = tf.data.Dataset.from_tensor_slices(x).map(scale, num_parallel_calls=AUTOTUNE)
    prepare = None
    if image_size is not None and tuple(image_size) != x.shape[1:3]:
        low, high = check_value_range(value_range)

        def resize(images):
            resized = tf.image.resize(images, tuple(image_size), antialias=True)
            return tf.clip_by_value(resized, low, high)

        prepare = (lambda a, b: (resize(a), b)) if with_labels else resize  # noqa: E731
    return batch_pipeline(
        ds, batch_size, shuffle=shuffle, seed=seed, cache=cache, drop_remainder=drop_remainder,
        prepare=prepare,
    )


def images_only(dataset):
    """Drop labels from a dataset of `(images, labels)` batches (a no-op on image-only data)."""
    if isinstance(dataset.element_spec, tuple):
        return dataset.map(lambda images, *rest: images, num_parallel_calls=AUTOTUNE)
    return dataset
