"""One report on a set of generated images: FID, KID, feature spread, mode coverage and the
confident share."""

from __future__ import annotations

import numpy as np

from keras_gen.metrics.coverage import (
    class_consistency,
    confident_share,
    feature_spread,
    mode_coverage,
)
from keras_gen.metrics.fid import frechet_distance_of_features, kernel_distance_of_features


def sample_quality(images, extractor, reference_features, requested_classes=None, kid_subset_size=500):
    """FID, KID, feature spread, mode coverage and confident share of `images`, from one
    classifier pass.

    `extractor` is a `ClassifierFeatures` (anything with `features_and_probabilities(images)`);
    `reference_features` are its features of real images (e.g. the test split). With
    `requested_classes` (the labels a conditional model was asked for), the report adds
    `class_consistency`. Keys: `samples`, `fid`, `kid`, `kid_std`, `spread`
    (`feature_spread` against the reference), `confident_share`,
    `entropy`, `max_entropy`, `kl_to_uniform`, `classes_covered` (and `class_consistency`).

    Examples:
        >>> from keras_gen import data, metrics
        >>> extractor = metrics.DigitFeatures()
        >>> x_test, y_test = data.load_arrays("mnist_5k", "test")
        >>> report = metrics.sample_quality(x_test[::5], extractor, extractor.features(x_test[1::5]),
        ...                                 requested_classes=y_test[::5])
        >>> report["classes_covered"], report["class_consistency"] > 0.9
        (10, True)
    """
    features, probabilities = extractor.features_and_probabilities(images)
    predictions = np.asarray(probabilities).argmax(axis=-1)
    kid_mean, kid_std = kernel_distance_of_features(features, reference_features, subset_size=kid_subset_size)
    report = {"samples": int(len(features)),
              "fid": frechet_distance_of_features(features, reference_features),
              "kid": float(kid_mean), "kid_std": float(kid_std),
              "spread": feature_spread(features, reference_features),
              "confident_share": confident_share(probabilities),
              **mode_coverage(predictions, num_classes=np.shape(probabilities)[-1])}
    if requested_classes is not None:
        report["class_consistency"] = class_consistency(requested_classes, predictions)
    return report
