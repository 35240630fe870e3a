"""Biased binary tasks built from real images, for debiasing experiments (DB-VAE).

"Is this a 7?" on mnist_5k, where a *bold* stroke (the digit dilated by a 3x3 maximum, a
real image made thicker) is common among the other digits but rare among the training 7s.
A classifier can then take the shortcut "bold means not a 7", and fails on the rare subgroup
of bold 7s; the test split holds plenty of them to measure it.

In colour, "is it a face?" on openmoji (`biased_face_task`), where faces in dark skin tones are
rare in training: the setting of the debiasing paper, in emoji.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_gen.data.datasets import load_arrays


def thicken(images, iterations=1):
    """Dilate strokes with a 3x3 maximum filter, `iterations` times (images `(n, h, w, c)`)."""
    x = tf.convert_to_tensor(images, tf.float32)
    for _ in range(int(iterations)):
        x = tf.nn.max_pool2d(x, ksize=3, strides=1, padding="SAME")
    return x.numpy()


def biased_digit_task(positive=7, rare_fraction=0.03, bold_negative_fraction=0.5,
                      test_bold_fraction=0.5, seed=0, source="mnist_5k"):
    """Train and test arrays of the biased "is it a `positive`?" task.

    Train: every `positive` digit, of which only `rare_fraction` are bold; every other digit,
    `bold_negative_fraction` of them bold. Test: the held-out split with `test_bold_fraction` of
    every class bold, so the rare subgroup (bold positives) is well represented.

    Returns `{"train": (x, y, bold), "test": (x, y, bold)}`: images in [0, 1], `y` 1 for the
    positive class, `bold` 1 for thickened images.

    Examples:
        >>> task = biased_digit_task()
        >>> x, y, bold = task["train"]
        >>> int(y.sum()), int((bold * y).sum())
        (400, 12)
    """
    rng = np.random.default_rng(seed)

    def build(split, positive_bold, negative_bold):
        x, digits = load_arrays(source, split)
        y = (digits == positive).astype(np.int32)
        bold = np.zeros(len(x), np.int32)
        for cls, fraction in ((1, positive_bold), (0, negative_bold)):
            idx = np.flatnonzero(y == cls)
            chosen = rng.choice(idx, size=int(round(fraction * len(idx))), replace=False)
            bold[chosen] = 1
        x = x.copy()
        if bold.any():
            x[bold == 1] = thicken(x[bold == 1])
        return x, y, bold

    return {
        "train": build("train", rare_fraction, bold_negative_fraction),
        "test": build("test", test_bold_fraction, test_bold_fraction),
    }


def biased_face_task(rare_tones=(4, 5), rare_fraction=0.05, source="openmoji", image_size=None,
                     seed=0):
    """Train and test arrays of the biased "is it a face?" task on colour emoji (openmoji).

    The debiasing paper's setting in emoji: positives are the faces (`openmoji_faces`), negatives
    every other emoji. In the train split only `rare_fraction` of the faces in a `rare_tones`
    skin tone (default medium-dark and dark) are kept, so a classifier can learn "a face is
    light"; the test split keeps every face, so the rare subgroup is well represented.
    `source="openmoji_faces"` uses the same task (the negatives always come from all of openmoji).

    Returns `{"train": (x, y, rare), "test": (x, y, rare)}`: images float32 in [0, 1], `y` 1 for
    a face, `rare` 1 for a face in a rare tone.

    Examples:
        >>> task = biased_face_task()
        >>> x, y, rare = task["train"]
        >>> x.shape[1:], int(rare.sum()) < int(task["test"][2].sum()) * 3
        ((32, 32, 3), True)
    """
    from keras_gen.data import openmoji

    if source not in ("openmoji", "openmoji_faces"):
        raise ValueError(f"the face task is built from openmoji, not {source!r}")
    rng = np.random.default_rng(seed)
    rows = openmoji.metadata()
    images = openmoji.rendered(tuple(image_size or openmoji.DEFAULT_SIZE))
    face = np.array([openmoji.is_face(row) for row in rows], np.int32)
    rare = np.array([row["skin_tone"] in rare_tones for row in rows], np.int32) * face

    def build(split, keep_rare):
        in_split = np.array([row["split"] == split for row in rows])
        idx = np.flatnonzero(in_split & (rare == 0))
        rare_idx = np.flatnonzero(in_split & (rare == 1))
        kept = rng.choice(rare_idx, size=int(round(keep_rare * len(rare_idx))), replace=False)
        idx = np.sort(np.concatenate([idx, kept]))
        return images[idx].astype(np.float32) / 255.0, face[idx], rare[idx]

    return {"train": build("train", rare_fraction), "test": build("test", 1.0)}
