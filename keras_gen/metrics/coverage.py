"""Does a generator cover every class, and does a conditional one make the class it is asked for?"""

from __future__ import annotations

import numpy as np


def class_histogram(predictions, num_classes=10):
    """Fraction of predictions per class."""
    counts = np.bincount(np.asarray(predictions, np.int64), minlength=num_classes)
    return counts / max(counts.sum(), 1)


def mode_coverage(predictions, num_classes=10, min_share=0.01):
    """Entropy (nats) of the predicted-class histogram, its KL to uniform, and classes covered.

    A generator that covers every class evenly has entropy `log(num_classes)` and KL 0; mode
    collapse lowers the entropy. A class counts as covered with at least `min_share` of the
    samples.

    Examples:
        >>> round(mode_coverage(np.arange(100) % 10)["kl_to_uniform"], 9)
        0.0
    """
    hist = class_histogram(predictions, num_classes)
    nonzero = hist[hist > 0]
    entropy = max(0.0, float(-np.sum(nonzero * np.log(nonzero))))  # one class: 0.0, not -0.0
    return {"entropy": entropy, "max_entropy": float(np.log(num_classes)),
            "kl_to_uniform": float(np.log(num_classes) - entropy),
            "classes_covered": int(np.sum(hist >= min_share))}


def feature_spread(features, reference_features):
    """How varied a set of images is, against real ones: the mean over feature dimensions of
    the features' standard deviation, over that of `reference_features` (real images: about
    1). A generator collapsed onto one figure scores well below 1 even where its FID on a small
    data set looks fine; it needs no classes.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> real = rng.normal(size=(500, 8))
        >>> round(feature_spread(0.5 * rng.normal(size=(500, 8)), real), 1)
        0.5
    """
    spread = np.std(np.asarray(features, np.float64), axis=0).mean()
    return float(spread / np.std(np.asarray(reference_features, np.float64), axis=0).mean())


def class_consistency(requested, predicted):
    """Share of generated images whose predicted class is the requested one."""
    requested, predicted = np.asarray(requested).reshape(-1), np.asarray(predicted).reshape(-1)
    return float(np.mean(requested == predicted))


def confident_share(probabilities, threshold=0.9):
    """Share of images the classifier puts in one class with probability >= `threshold`.

    A rough "recognisable digit" rate for generated images: ambiguous scribbles spread their
    probability over several classes. Compare with the same figure on real images.

    Examples:
        >>> confident_share([[0.95, 0.05], [0.5, 0.5]])
        0.5
    """
    probabilities = np.asarray(probabilities, np.float64)
    return float(np.mean(probabilities.max(axis=-1) >= threshold))
