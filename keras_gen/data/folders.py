"""A user's own images from a folder, as a `tf.data` pipeline.

Images are PNG, JPEG, GIF or BMP files anywhere under `path`. When the images sit in
sub-folders, each sub-folder is a class (sorted by name, as in
`keras.utils.image_dataset_from_directory`) and `with_labels=True` yields its index.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from keras_gen.data.pipelines import AUTOTUNE, batch_pipeline, check_value_range

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def list_images(path):
    """Sorted image files under `path` and their class names (first sub-folder, or '').

    Raises:
        ValueError: when `path` is not a folder or holds no image files.
    """
    if not os.path.isdir(path):
        raise ValueError(f"image folder {path!r} does not exist or is not a folder")
    files = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        for file_name in sorted(names):
            if file_name.lower().endswith(IMAGE_EXTENSIONS) and not file_name.startswith("."):
                files.append(os.path.join(root, file_name))
    if not files:
        raise ValueError(
            f"image folder {path!r} holds no images (looked for {', '.join(IMAGE_EXTENSIONS)})"
        )
    classes = [os.path.relpath(f, path).split(os.sep)[0] if os.sep in os.path.relpath(f, path)
               else "" for f in files]
    return files, classes


#: PIL modes that hold grey images (every other mode is read as RGB).
GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F")


def read_image(file_name, channels=None):
    """The pixels of one image file as `(h, w, channels)` uint8, channels 1 or 3 (default:
    the file's own: 1 for grey, 3 for anything with colour), decoded by PIL.

    The folder check and the training pipeline both decode with this function, so what
    passes the check trains on the pixels it shows: palette images (8-bit BMP, GIF, PNG) give
    their colours, not their palette indices; 1-bit images give black and white; 16-bit grey
    is scaled to 8 bits; alpha is dropped; GIFs give their first frame.

    Examples:
        >>> import tempfile, numpy as np, PIL.Image
        >>> path = tempfile.mkdtemp() + "/p.bmp"
        >>> image = PIL.Image.fromarray(np.zeros((2, 2), "uint8"), "P")
        >>> image.putpalette([255, 0, 0] * 256); image.save(path)
        >>> read_image(path)[0, 0].tolist()
        [255, 0, 0]
    """
    from PIL import Image

    with Image.open(file_name) as image:
        image.load()
        if channels is None:
            channels = 1 if image.mode in GREY_MODES else 3
        if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16/32-bit grey: 8 bits
            grey = np.asarray(image, np.float64)
            peak = 65535.0 if image.mode.startswith("I;16") or grey.max() > 255 else 255.0
            image = Image.fromarray(np.clip(np.round(grey * 255.0 / peak), 0, 255).astype(np.uint8))
        pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"), np.uint8)
    return pixels.reshape(*pixels.shape[:2], channels)


def check_readable(files):
    """Raise a `ValueError` naming the files that are not whole PNG/JPEG/GIF/BMP images.

    Every file is decoded once here, by the decoder training uses (`read_image`): headers
    alone miss truncated files, which would otherwise fail in the middle of an epoch with an
    error that names no file.
    """
    bad = []
    for file_name in files:
        with open(file_name, "rb") as handle:
            head = handle.read(8)
        if not head.startswith(_SIGNATURES):
            bad.append(f"{file_name} (not PNG/JPEG/GIF/BMP)")
            continue
        try:
            read_image(file_name)
        except Exception as err:  # noqa: BLE001  (PIL raises many kinds on a malformed file)
            bad.append(f"{file_name} ({err})")
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ValueError(f"{len(bad)} unreadable image file(s): {shown}")


def _decode(file_name, channels):
    """`read_image` inside a `tf.data` map: `(h, w, channels)` uint8."""
    image = tf.numpy_function(lambda name: read_image(name.decode(), channels), [file_name],
                              tf.uint8, stateful=False)
    image.set_shape((None, None, channels))
    return image


def from_directory(
    path,
    *,
    image_size=None,
    channels=None,
    batch_size=64,
    value_range=(0.0, 1.0),
    with_labels=False,
    shuffle=True,
    seed=0,
    cache=True,
    drop_remainder=False,
):
    """Batched dataset of the images under `path`, resized to one size and scaled.

    Args:
        image_size: `(height, width)`; defaults to the size of the first image, and every other
            image is resized to it.
        channels: 1 or 3; defaults to the channel count of the first image (RGBA becomes RGB).
        with_labels: yield `(images, labels)`, the label being the index of the image's
            sub-folder; raises if the images are not in sub-folders.

    Examples:
        >>> import tempfile, numpy as np, PIL.Image
        >>> folder = tempfile.mkdtemp()
        >>> PIL.Image.fromarray(np.zeros((8, 8), "uint8")).save(folder + "/a.png")
        >>> tuple(next(iter(from_directory(folder))).shape)
        (1, 8, 8, 1)
    """
    low, high = check_value_range(value_range)
    files, class_names = list_images(path)
    check_readable(files)
    first = read_image(files[0])
    if channels is None:
        channels = int(first.shape[-1])
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    image_size = tuple(image_size) if image_size else tuple(int(d) for d in first.shape[:2])
    if with_labels:
        if "" in class_names:
            raise ValueError(
                f"with_labels=True needs the images of {path!r} in one sub-folder per class"
            )
        names = sorted(set(class_names))
        labels = np.array([names.index(c) for c in class_names], np.int32)
    else:
        labels = np.zeros(len(files), np.int32)

    def decode(file_name, label):
        images = tf.image.resize(_decode(file_name, channels), image_size, antialias=True)
        images = tf.cast(tf.clip_by_value(tf.round(images), 0.0, 255.0), tf.uint8)
        images.set_shape((*image_size, channels))
        return images, label

    def to_model_range(images, label):
        images = tf.cast(images, tf.float32) / 255.0 * (high - low) + low
        return (images, label) if with_labels else images

    # decoded and resized once, cached as uint8, scaled to floats after the cache
    ds = tf.data.Dataset.from_tensor_slices((files, labels))
    ds = ds.map(decode, num_parallel_calls=AUTOTUNE)
    return batch_pipeline(ds, batch_size, shuffle=shuffle, seed=seed, cache=cache,
                          drop_remainder=drop_remainder, prepare=to_model_range)


def class_names(path):
    """Sorted class (sub-folder) names of an image folder, as `from_directory` numbers them."""
    _, classes = list_images(path)
    return sorted(set(c for c in classes if c))
