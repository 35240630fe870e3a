"""Differentiable augmentation for the discriminator (DiffAugment, Zhao et al., 2020).

A GAN trained on a few thousand images lets its discriminator memorise them. Augmenting every
image D sees, real and generated alike, with transformations that are differentiable in the
pixels keeps D from memorising while G still gets gradients through the transformation, and
G does not learn to produce augmented images (both sides see the same distribution of
transformations). Each transformation draws its parameters per image:

- `color`: brightness (add U(-0.5, 0.5)), saturation (scale the deviation from the pixel's
  channel mean by U(0, 2)) and contrast (scale the deviation from the image mean by
  U(0.5, 1.5)), on images in [-1, 1];
- `translation`: shift by up to 1/8 of the height and width, filling with zeros (mid-grey);
- `cutout`: zero a square of half the image's side at a random place.

`policy` is a comma-separated subset, e.g. `"color,translation,cutout"` (the paper's choice
for small data sets); `""` is the identity.

Examples:
    >>> import numpy as np
    >>> images = np.random.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    >>> diff_augment(images, "translation,cutout", seed=0).shape
    TensorShape([4, 16, 16, 3])
"""

from __future__ import annotations

import keras
from keras import ops

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy):
    """The tuple of transformation names in `policy` (a comma-separated string or a sequence),
    in the order given; unknown names raise."""
    names = tuple(p.strip() for p in (policy.split(",") if isinstance(policy, str) else policy or ())
                  if p.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"augmentation policy may hold {POLICIES}, got {unknown}")
    return names


def adjust_color(images, seed=None):
    """Random brightness, saturation and contrast per image (images in [-1, 1])."""
    batch = ops.shape(images)[0]
    dtype = images.dtype

    def per_image(low, high):
        return ops.cast(keras.random.uniform((batch, 1, 1, 1), low, high, seed=seed), dtype)

    images = images + per_image(-0.5, 0.5)
    mean = ops.mean(images, axis=-1, keepdims=True)
    images = (images - mean) * per_image(0.0, 2.0) + mean
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return (images - mean) * per_image(0.5, 1.5) + mean


def _shift_matrices(shifts, size, dtype):
    """(batch, size, size) matrices S with (S @ x)[i] = x[i - shift] (0 outside the image)."""
    rows = ops.arange(size, dtype="int32")[None, :, None]
    cols = ops.arange(size, dtype="int32")[None, None, :]
    return ops.cast(ops.equal(cols, rows - ops.cast(shifts, "int32")[:, None, None]), dtype)


def translate(images, ratio=0.125, seed=None):
    """Shift each image by up to `ratio` of its height and width (integer pixels, zero fill);
    a product with one-hot shift matrices, so it is differentiable in the pixels."""
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    dy, dx = (int(size * ratio + 0.5) for size in (height, width))
    shift_y = keras.random.randint((batch,), -dy, dy + 1, seed=seed)
    shift_x = keras.random.randint((batch,), -dx, dx + 1, seed=seed)
    images = ops.einsum("bij,bjwc->biwc", _shift_matrices(shift_y, height, images.dtype), images)
    return ops.einsum("bij,bhjc->bhic", _shift_matrices(shift_x, width, images.dtype), images)


def cutout(images, ratio=0.5, seed=None):
    """Zero one square of `ratio` times the image's side per image, at a random place (it
    may hang over the edge)."""
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = keras.random.randint((batch, 1, 1), 0, height + (1 - size_y % 2), seed=seed) - size_y // 2
    left = keras.random.randint((batch, 1, 1), 0, width + (1 - size_x % 2), seed=seed) - size_x // 2
    y = ops.arange(height, dtype="int32")[None, :, None]
    x = ops.arange(width, dtype="int32")[None, None, :]
    inside = ((y >= top) & (y < top + size_y)) & ((x >= left) & (x < left + size_x))
    return images * ops.cast(~inside, images.dtype)[..., None]


TRANSFORMS = {"color": adjust_color, "translation": translate, "cutout": cutout}


def diff_augment(images, policy, seed=None):
    """`images` through each transformation of `policy`, in its order (see the module)."""
    for name in parse_policy(policy):
        images = TRANSFORMS[name](images, seed=seed)
    return images


def diff_augment_pair(inputs, targets, policy, seed=None):
    """`(inputs, targets)` with one draw of the transformations for both images of each pair
    (pix2pix's discriminator judges aligned pairs): they are joined along the channels,
    augmented, and split (colour statistics are then those of the pair)."""
    channels = inputs.shape[-1]
    both = diff_augment(ops.concatenate([inputs, ops.cast(targets, inputs.dtype)], axis=-1),
                        policy, seed=seed)
    return both[..., :channels], both[..., channels:]

