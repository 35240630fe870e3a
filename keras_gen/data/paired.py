"""Data for image-to-image translation: paired (pix2pix) and unpaired (CycleGAN) datasets.

Elements are `(a, b)` image pairs scaled to `value_range` (default [-1, 1], the range of the
translators' tanh). Paired data keeps `a` and `b` aligned through augmentation (the same
random jitter and mirroring for both); unpaired data draws `a` and `b` independently.

Sources: a folder of side-by-side `A|B` images (the pix2pix convention), two aligned
folders (matched by sorted file name), two unaligned folders, NumPy arrays, TFDS
`cycle_gan/<pair>` configs, and two offline tasks built from real digits:
`edges_to_digits` (Sobel edges -> digit, paired) and `digits_to_mnist` (scikit-learn's
8x8 digits upsampled <-> MNIST, unpaired), and two in colour from openmoji:
`line_art_to_openmoji` (black line art -> colour emoji, paired) and `openmoji_skin_tones`
(people in light <-> dark skin tone, unpaired).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_gen.data import openmoji
from keras_gen.data.datasets import load_arrays
from keras_gen.data.folders import _decode, check_readable, list_images
from keras_gen.data.pipelines import AUTOTUNE, batch_pipeline, check_value_range


def _scale(images, value_range):
    low, high = check_value_range(value_range)
    return tf.cast(images, tf.float32) / 255.0 * (high - low) + low


def jitter_pair(a, b, seed=None, scale=1.12):
    """The same random resize-and-crop jitter and horizontal mirroring for `a` and `b`."""
    h, w = int(a.shape[0]), int(a.shape[1])
    stacked = tf.concat([a, b], axis=-1)
    big = tf.image.resize(stacked, (int(round(h * scale)), int(round(w * scale))))
    cropped = tf.image.random_crop(big, (h, w, stacked.shape[-1]), seed=seed)
    flipped = tf.image.random_flip_left_right(cropped, seed=seed)
    return flipped[..., : a.shape[-1]], flipped[..., a.shape[-1] :]


def jitter_image(image, seed=None, scale=1.12):
    """Random resize-and-crop jitter and mirroring of one image (unpaired data)."""
    return jitter_pair(image, image[..., :0], seed, scale)[0]


def pairs_from_arrays(a, b, *, batch_size=16, value_range=(-1.0, 1.0), augment=False,
                      shuffle=True, seed=0, drop_remainder=False):
    """Aligned pairs `(a[i], b[i])` from arrays of images in [0, 1] (or uint8).

    Examples:
        >>> ds = pairs_from_arrays(np.zeros((4, 8, 8, 1)), np.ones((4, 8, 8, 1)), batch_size=2)
        >>> [tuple(t.shape) for t in next(iter(ds))]
        [(2, 8, 8, 1), (2, 8, 8, 1)]
    """
    a, b = _as_uint8(a, "a"), _as_uint8(b, "b")
    if len(a) != len(b):
        raise ValueError(f"paired data needs as many a as b images, got {len(a)} and {len(b)}")
    if a.shape[1:3] != b.shape[1:3]:
        raise ValueError(f"paired images must have the same size, got {a.shape[1:3]} and {b.shape[1:3]}")

    def prepare(x, y):
        x, y = _scale(x, value_range), _scale(y, value_range)
        return jitter_pair(x, y) if augment else (x, y)

    return batch_pipeline(tf.data.Dataset.from_tensor_slices((a, b)), batch_size, shuffle=shuffle,
                          seed=seed, drop_remainder=drop_remainder, prepare=prepare)


def unpaired_from_arrays(a, b, *, batch_size=16, value_range=(-1.0, 1.0), augment=False,
                         seed=0, drop_remainder=True):
    """Endless batches `(a_batch, b_batch)` drawn independently from two image sets."""
    a, b = _as_uint8(a, "a"), _as_uint8(b, "b")

    def side(images, side_seed):
        prepare = (lambda x: jitter_image(_scale(x, value_range))) if augment else (
            lambda x: _scale(x, value_range))
        ds = batch_pipeline(tf.data.Dataset.from_tensor_slices(images), batch_size, shuffle=True,
                            seed=side_seed, drop_remainder=drop_remainder, prepare=prepare)
        return ds.repeat()

    return tf.data.Dataset.zip((side(a, seed), side(b, seed + 1)))


def _as_uint8(images, name):
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"{name} must be a non-empty (n, h, w[, c]) image array, got {images.shape}")
    if images.dtype != np.uint8:
        images = np.clip(np.round(np.asarray(images, np.float32) * 255.0), 0, 255).astype(np.uint8)
    return images


def _folder_images(path, image_size, channels):
    files, _ = list_images(path)
    check_readable(files)

    def decode(file_name):
        image = tf.image.resize(_decode(file_name, channels), image_size, antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)

    return files, decode


def paired_from_directory(path, *, image_size=(256, 256), channels=3, batch_size=1,
                          value_range=(-1.0, 1.0), augment=True, shuffle=True, seed=0):
    """Pairs from a folder of side-by-side `A|B` images (left half A, right half B)."""
    files, _ = list_images(path)
    check_readable(files)
    height, width = (int(d) for d in image_size)

    def decode(file_name):
        image = _decode(file_name, channels)
        half = tf.shape(image)[1] // 2
        a = tf.image.resize(image[:, :half], (height, width), antialias=True)
        b = tf.image.resize(image[:, half : 2 * half], (height, width), antialias=True)
        to_uint8 = lambda t: tf.cast(tf.clip_by_value(tf.round(t), 0, 255), tf.uint8)  # noqa: E731
        return to_uint8(a), to_uint8(b)

    def prepare(a, b):
        a, b = _scale(a, value_range), _scale(b, value_range)
        a.set_shape((height, width, channels))
        b.set_shape((height, width, channels))
        return jitter_pair(a, b) if augment else (a, b)

    ds = tf.data.Dataset.from_tensor_slices(files).map(decode, num_parallel_calls=AUTOTUNE)
    return batch_pipeline(ds, batch_size, shuffle=shuffle, seed=seed, prepare=prepare)


def paired_from_directories(path_a, path_b, *, image_size=(256, 256), channels=3, batch_size=1,
                            value_range=(-1.0, 1.0), augment=True, shuffle=True, seed=0):
    """Pairs from two aligned folders: the i-th file (sorted by name) of each is a pair."""
    files_a, decode_a = _folder_images(path_a, tuple(image_size), channels)
    files_b, decode_b = _folder_images(path_b, tuple(image_size), channels)
    if len(files_a) != len(files_b):
        raise ValueError(f"aligned folders must hold as many images: {path_a!r} has "
                         f"{len(files_a)}, {path_b!r} has {len(files_b)}")
    height, width = (int(d) for d in image_size)

    def prepare(a, b):
        a, b = _scale(a, value_range), _scale(b, value_range)
        a.set_shape((height, width, channels))
        b.set_shape((height, width, channels))
        return jitter_pair(a, b) if augment else (a, b)

    ds = tf.data.Dataset.from_tensor_slices((files_a, files_b))
    ds = ds.map(lambda a, b: (decode_a(a), decode_b(b)), num_parallel_calls=AUTOTUNE)
    return batch_pipeline(ds, batch_size, shuffle=shuffle, seed=seed, prepare=prepare)


def unpaired_from_directories(path_x, path_y, *, image_size=(256, 256), channels=3, batch_size=1,
                              value_range=(-1.0, 1.0), augment=True, seed=0):
    """Endless unpaired batches `(x, y)` from two folders of any sizes."""
    height, width = (int(d) for d in image_size)

    def side(path, side_seed):
        files, decode = _folder_images(path, (height, width), channels)

        def prepare(image):
            image = _scale(image, value_range)
            image.set_shape((height, width, channels))
            return jitter_image(image) if augment else image

        ds = tf.data.Dataset.from_tensor_slices(files).map(decode, num_parallel_calls=AUTOTUNE)
        return batch_pipeline(ds, batch_size, shuffle=True, seed=side_seed, drop_remainder=True,
                              prepare=prepare).repeat()

    return tf.data.Dataset.zip((side(path_x, seed), side(path_y, seed + 1)))


def load_cycle_gan(name, split="train", *, image_size=(256, 256), batch_size=1,
                   value_range=(-1.0, 1.0), augment=True, seed=0, data_dir=None, download=True):
    """Unpaired batches from TFDS `cycle_gan/<pair>` (splits trainA/trainB or testA/testB).

    `name` is `"tfds:cycle_gan/horse2zebra"` or `"cycle_gan/horse2zebra"`.
    """
    import tensorflow_datasets as tfds

    tfds_name = name[len("tfds:"):] if name.startswith("tfds:") else name
    if not tfds_name.startswith("cycle_gan"):
        raise ValueError(f"expected a TFDS cycle_gan/<pair> dataset, got {name!r}")
    suffix = {"train": "train", "test": "test"}.get(split)
    if suffix is None:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    height, width = (int(d) for d in image_size)

    def side(part, side_seed):
        raw = tfds.load(tfds_name, split=f"{suffix}{part}", as_supervised=True, data_dir=data_dir,
                        download=download)
        raw = raw.map(lambda image, label: tf.cast(tf.clip_by_value(tf.round(
            tf.image.resize(image, (height, width), antialias=True)), 0, 255), tf.uint8))

        def prepare(image):
            image = _scale(image, value_range)
            return jitter_image(image) if augment else image

        return batch_pipeline(raw, batch_size, shuffle=True, seed=side_seed, drop_remainder=True,
                              prepare=prepare).repeat()

    return tf.data.Dataset.zip((side("A", seed), side("B", seed + 1)))


def sobel_edges(images):
    """Edge maps in [0, 1] of images in [0, 1]: Sobel gradient magnitude, scaled per image."""
    images = tf.convert_to_tensor(np.asarray(images, np.float32))
    gradients = tf.image.sobel_edges(images)  # (n, h, w, c, 2)
    magnitude = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=-1))
    peak = tf.reduce_max(magnitude, axis=(1, 2, 3), keepdims=True)
    return (magnitude / tf.maximum(peak, 1e-6)).numpy()


def edges_to_digits(split="train", source="mnist_5k"):
    """Paired arrays `(edges, digits, labels)`: each real digit's Sobel edges and the digit."""
    digits, labels = load_arrays(source, split)
    return sobel_edges(digits), digits, labels


def digits_to_mnist(split="train", image_size=(28, 28)):
    """Unpaired arrays `((x, x_labels), (y, y_labels))`: scikit-learn digits upsampled to
    `image_size` (domain X) and mnist_5k digits (domain Y)."""
    x, x_labels = load_arrays("digits", split, image_size=image_size)
    y, y_labels = load_arrays("mnist_5k", split, image_size=image_size)
    return (x, x_labels), (y, y_labels)


def _openmoji_subset(source):
    if source not in ("openmoji", "openmoji_faces"):
        raise ValueError(f"expected 'openmoji' or 'openmoji_faces', got {source!r}")
    return "faces" if source == "openmoji_faces" else "all"


def line_art_to_openmoji(split="train", source="openmoji", image_size=None):
    """Paired uint8 arrays `(line_art, emoji)`: each emoji's black line art (OpenMoji's `line`
    layer alone) and the colour emoji.

    Examples:
        >>> line_art, colour = line_art_to_openmoji("test", "openmoji_faces")
        >>> line_art.shape == colour.shape, line_art.shape[-1]
        (True, 3)
    """
    subset, size = _openmoji_subset(source), image_size or openmoji.DEFAULT_SIZE
    line_art, _ = openmoji.arrays(subset, split, size, style="line")
    colour, _ = openmoji.arrays(subset, split, size)
    return line_art, colour


def openmoji_skin_tones(split="train", source="openmoji", image_size=None):
    """Unpaired uint8 arrays `(light, dark)`: people in the light and in the dark skin tone."""
    return openmoji.skin_tone_sets(split, image_size or openmoji.DEFAULT_SIZE,
                                   subset=_openmoji_subset(source))
