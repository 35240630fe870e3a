"""Pictures of what models make: image grids as exact-pixel PNGs, and matplotlib curves."""

from __future__ import annotations

import math
import os

import numpy as np


def image_grid(images, cols=None, padding=1, pad_value=1.0):
    """Tile `(n, h, w, c)` images in [0, 1] into one `(H, W, c)` float array.

    Examples:
        >>> image_grid(np.zeros((6, 4, 4, 1)), cols=3).shape  # one-pixel gaps between tiles
        (9, 14, 1)
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"image_grid needs (n, h, w, c) images, got shape {images.shape}")
    n, h, w, c = images.shape
    cols = int(cols or math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.full(
        (rows * h + (rows - 1) * padding, cols * w + (cols - 1) * padding, c),
        pad_value,
        np.float32,
    )
    for i, image in enumerate(images):
        r, k = divmod(i, cols)
        grid[r * (h + padding) : r * (h + padding) + h, k * (w + padding) : k * (w + padding) + w] = image
    return grid


def to_uint8(images):
    """Float images in [0, 1] (clipped) to uint8."""
    return (np.clip(np.asarray(images, np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_image_grid(images, path, cols=None, scale=2):
    """Write a grid of `(n, h, w, c)` images in [0, 1] to a PNG, each pixel `scale` x `scale`."""
    from PIL import Image

    grid = to_uint8(image_grid(images, cols))
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    if grid.shape[-1] == 1:
        grid = grid[..., 0]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(grid).save(path)
    return path


def style_mixing_tiles(mix, seeds_a, seeds_b, crossover, num_ws):
    """The tiles of StyleGAN's style-mixing figure, row by row, for a grid of
    `len(seeds_b) + 1` columns: a white corner, then the B seeds' images along the top, and
    for each A seed its image followed by the mixes that take their coarse styles (layers
    below `crossover`) from it and their fine ones from each B seed.

    `mix(seeds_a, seeds_b, crossover)` returns images for equal-length integer arrays (the
    model's `style_mix_from_seeds`, or an exported `style_mix` signature); a crossover of
    `num_ws` takes every layer from A.

    Examples:
        >>> fake = lambda a, b, c: np.stack([np.full((2, 2, 1), (x + y) / 10) for x, y in zip(a, b)])
        >>> style_mixing_tiles(fake, [1, 2], [3], 1, 4).shape
        (6, 2, 2, 1)
    """
    a = np.asarray(seeds_a, np.int32)
    b = np.asarray(seeds_b, np.int32)
    rows, cols = len(a), len(b)
    alone_a = np.asarray(mix(a, a, np.full(rows, num_ws, np.int32)), np.float32)
    alone_b = np.asarray(mix(b, b, np.full(cols, num_ws, np.int32)), np.float32)
    mixed = np.asarray(mix(np.repeat(a, cols), np.tile(b, rows),
                           np.full(rows * cols, crossover, np.int32)), np.float32)
    tiles = [np.ones_like(alone_b[:1]), alone_b]
    for i in range(rows):
        tiles += [alone_a[i:i + 1], mixed[i * cols:(i + 1) * cols]]
    return np.concatenate(tiles)


def plot_history(history, path, keys=None):
    """Plot training curves from a `History.history` dict (train and `val_` pairs) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = keys or sorted(k for k in history if not k.startswith("val_"))
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3), squeeze=False)
    for ax, key in zip(axes[0], keys):
        ax.plot(range(1, len(history[key]) + 1), history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(range(1, len(history[f"val_{key}"]) + 1), history[f"val_{key}"], label="validation")
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
