"""Fréchet and kernel distances between two sets of features (FID and KID).

Pure NumPy/SciPy functions of feature arrays, testable without any model; `fid` and `kid`
compute features of images with a shipped classifier (`DigitFeatures` unless told otherwise).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


def feature_statistics(features):
    """Mean and covariance (rows are samples) of a feature array."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be (n >= 2, d), got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """Fréchet distance between Gaussians: `|m_a - m_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2))`.

    Examples:
        >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)), 6)
        2.0
    """
    mean_a, mean_b = np.atleast_1d(mean_a), np.atleast_1d(mean_b)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    with warnings.catch_warnings():  # dead ReLU features make covariances singular; handled below
        warnings.simplefilter("ignore")
        root = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():  # singular product: regularise, as the reference code does
        offset = np.eye(len(cov_a)) * 1e-6
        root = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    root = np.real(root)
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                 - 2.0 * np.trace(root))


def frechet_distance_of_features(features_a, features_b):
    """FID between two feature sets (the Gaussian fit of each)."""
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))


def polynomial_kernel(a, b):
    """KID's kernel `(a . b / d + 1)^3`."""
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd_squared_unbiased(features_a, features_b):
    """Unbiased estimate of MMD^2 with the polynomial kernel (diagonals excluded)."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    m, n = len(a), len(b)
    k_aa, k_bb, k_ab = polynomial_kernel(a, a), polynomial_kernel(b, b), polynomial_kernel(a, b)
    return float((k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
                 + (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1)) - 2.0 * k_ab.mean())


def kernel_distance_of_features(features_a, features_b, num_subsets=10, subset_size=500, seed=0):
    """KID: mean and standard deviation of unbiased MMD^2 over random subsets."""
    rng = np.random.default_rng(seed)
    size = min(subset_size, len(features_a), len(features_b))
    values = [mmd_squared_unbiased(features_a[rng.choice(len(features_a), size, replace=False)],
                                   features_b[rng.choice(len(features_b), size, replace=False)])
              for _ in range(num_subsets)]
    return float(np.mean(values)), float(np.std(values))


def fid(images_a, images_b, extractor=None):
    """FID between two image sets (values in [0, 1]) in the digit classifier's feature space."""
    from keras_gen.metrics.classifier import DigitFeatures

    extractor = extractor or DigitFeatures()
    return frechet_distance_of_features(extractor.features(images_a), extractor.features(images_b))


def kid(images_a, images_b, extractor=None, num_subsets=10, subset_size=500):
    """KID (mean, std) between two image sets in the digit classifier's feature space."""
    from keras_gen.metrics.classifier import DigitFeatures

    extractor = extractor or DigitFeatures()
    return kernel_distance_of_features(extractor.features(images_a), extractor.features(images_b),
                                       num_subsets, subset_size)
