"""Evaluation: FID / KID on the features of the project's own classifiers (digits in grey,
openmoji in colour), class consistency, mode coverage, and the share of confidently classified
samples."""

from keras_gen.metrics.classifier import (
    EVALUATORS,
    ClassifierFeatures,
    DigitFeatures,
    colour_classifier,
    digit_classifier,
    evaluator_features,
    evaluator_for,
    to_classifier_input,
)
from keras_gen.metrics.coverage import (
    class_consistency,
    class_histogram,
    confident_share,
    feature_spread,
    mode_coverage,
)
from keras_gen.metrics.fid import (
    feature_statistics,
    fid,
    frechet_distance,
    frechet_distance_of_features,
    kernel_distance_of_features,
    kid,
    mmd_squared_unbiased,
)
from keras_gen.metrics.report import sample_quality

__all__ = [
    "EVALUATORS",
    "ClassifierFeatures",
    "DigitFeatures",
    "colour_classifier",
    "evaluator_features",
    "evaluator_for",
    "class_consistency",
    "class_histogram",
    "confident_share",
    "digit_classifier",
    "feature_spread",
    "feature_statistics",
    "fid",
    "frechet_distance",
    "frechet_distance_of_features",
    "kernel_distance_of_features",
    "kid",
    "mmd_squared_unbiased",
    "mode_coverage",
    "sample_quality",
    "to_classifier_input",
]
