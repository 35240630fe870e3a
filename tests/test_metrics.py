"""FID, KID, class consistency and mode coverage against their definitions."""

import numpy as np
import pytest

from keras_gen import data, metrics


def test_frechet_distance_of_identical_sets_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 8))
    assert metrics.frechet_distance_of_features(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_closed_form_for_shifted_gaussians():
    rng = np.random.default_rng(1)
    mean_a, mean_b = np.zeros(4), np.array([1.0, -2.0, 0.5, 0.0])
    var_a, var_b = np.array([1.0, 2.0, 0.5, 1.0]), np.array([2.0, 1.0, 0.5, 4.0])
    closed = np.sum((mean_a - mean_b) ** 2) + np.sum(var_a + var_b - 2 * np.sqrt(var_a * var_b))
    # the formula on exact statistics
    assert metrics.frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b)) == pytest.approx(closed)
    # and on samples, within sampling error
    a = rng.normal(mean_a, np.sqrt(var_a), size=(100_000, 4))
    b = rng.normal(mean_b, np.sqrt(var_b), size=(100_000, 4))
    assert metrics.frechet_distance_of_features(a, b) == pytest.approx(closed, rel=0.02)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_grows_with_shift():
    rng = np.random.default_rng(2)
    same_a, same_b = rng.normal(size=(400, 6)), rng.normal(size=(400, 6))
    mean, _ = metrics.kernel_distance_of_features(same_a, same_b, num_subsets=10, subset_size=200)
    assert abs(mean) < 0.02
    shifted = rng.normal(0.5, 1.0, size=(400, 6))
    far, _ = metrics.kernel_distance_of_features(same_a, shifted, num_subsets=10, subset_size=200)
    assert far > 0.1 and far > 10 * abs(mean)


def test_mmd_matches_a_direct_double_loop():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    k = lambda x, y: (x @ y / 3 + 1) ** 3  # noqa: E731
    aa = sum(k(a[i], a[j]) for i in range(6) for j in range(6) if i != j) / 30
    bb = sum(k(b[i], b[j]) for i in range(5) for j in range(5) if i != j) / 20
    ab = sum(k(a[i], b[j]) for i in range(6) for j in range(5)) / 30
    assert metrics.mmd_squared_unbiased(a, b) == pytest.approx(aa + bb - 2 * ab)


def test_mode_coverage_and_class_consistency():
    even = metrics.mode_coverage(np.arange(1000) % 10)
    assert even["entropy"] == pytest.approx(np.log(10)) and even["classes_covered"] == 10
    collapsed = metrics.mode_coverage(np.array([3] * 990 + [4] * 10))
    assert collapsed["classes_covered"] == 2 and collapsed["kl_to_uniform"] > 1.5
    one_class = metrics.mode_coverage(np.full(50, 7))
    assert one_class["entropy"] == 0.0 and np.copysign(1.0, one_class["entropy"]) == 1.0  # not -0.0
    assert metrics.class_consistency([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75


def test_confident_share_counts_confident_images():
    probabilities = np.array([[0.95, 0.05], [0.5, 0.5], [0.1, 0.9], [0.2, 0.8]])
    assert metrics.confident_share(probabilities) == 0.5
    assert metrics.confident_share(probabilities, threshold=0.8) == 0.75


def test_confident_share_is_high_on_digits_and_low_on_blurred_mixtures():
    extractor = metrics.DigitFeatures()
    x_test, y_test = data.load_arrays("mnist_5k", "test")
    probabilities = extractor.probabilities(x_test[:500])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(probabilities.argmax(axis=1), extractor.predict(x_test[:500]))
    real = metrics.confident_share(probabilities)
    # overlays of two digits of different classes are not one digit
    order = np.argsort(y_test[:500], kind="stable")
    mixed = 0.5 * (x_test[:500][order] + x_test[:500][order[::-1]])
    blended = metrics.confident_share(extractor.probabilities(mixed))
    assert real > 0.9 and blended < real - 0.2, (real, blended)


def test_shipped_classifier_recognises_test_digits_and_separates_fid():
    extractor = metrics.DigitFeatures()
    x_test, y_test = data.load_arrays("mnist_5k", "test")
    assert np.mean(extractor.predict(x_test) == y_test) > 0.95
    x_train, _ = data.load_arrays("mnist_5k", "train")
    real = metrics.fid(x_train[::4], x_test, extractor)
    noise = metrics.fid(np.random.default_rng(0).uniform(size=(1000, 28, 28, 1)), x_test, extractor)
    assert real < 0.1 * noise
    rgb_small = np.repeat(x_test[:4], 3, axis=-1)[:, ::2, ::2]  # other sizes and channels work
    assert extractor.features(rgb_small).shape == (4, 64)


def test_sample_quality_reports_each_metric_from_one_classifier_pass():
    extractor = metrics.DigitFeatures()
    x_test, y_test = data.load_arrays("mnist_5k", "test")
    images, reference = x_test[:300], extractor.features(x_test[300:])
    report = metrics.sample_quality(images, extractor, reference, requested_classes=y_test[:300],
                                    kid_subset_size=200)
    features, probabilities = extractor.features(images), extractor.probabilities(images)
    predictions = probabilities.argmax(axis=-1)
    assert report["samples"] == 300
    assert report["fid"] == pytest.approx(metrics.frechet_distance_of_features(features, reference), rel=1e-5)
    kid_mean, kid_std = metrics.kernel_distance_of_features(features, reference, subset_size=200)
    assert (report["kid"], report["kid_std"]) == pytest.approx((kid_mean, kid_std), rel=1e-4)
    assert report["confident_share"] == metrics.confident_share(probabilities)
    assert report["spread"] == pytest.approx(metrics.feature_spread(features, reference), rel=1e-5)
    assert 0.8 < report["spread"] < 1.2  # real digits against real digits
    assert report["class_consistency"] == np.mean(predictions == y_test[:300]) > 0.9
    for key, value in metrics.mode_coverage(predictions).items():
        assert report[key] == pytest.approx(value)
    # a generator stuck on one class: coverage and class consistency say so
    ones = x_test[y_test == 1][:50]
    collapsed = metrics.sample_quality(ones, extractor, reference, requested_classes=np.arange(50) % 10)
    assert collapsed["classes_covered"] <= 2 and collapsed["class_consistency"] < 0.3
    assert collapsed["spread"] < 0.8 * report["spread"]
    assert collapsed["fid"] > report["fid"] and "class_consistency" not in metrics.sample_quality(
        images, extractor, reference)


def test_colour_evaluator_recognises_held_out_emoji_and_separates_fid():
    extractor = metrics.ClassifierFeatures("openmoji")
    x_test, y_test = data.load_arrays("openmoji", "test")
    x_train, _ = data.load_arrays("openmoji", "train")
    probabilities = extractor.probabilities(x_test)
    assert probabilities.shape == (len(x_test), 10)
    # 80% when trained (benchmarks/results/openmoji_classifier.json); a majority-class guess
    # (people-body) would score 64%
    assert np.mean(probabilities.argmax(-1) == y_test) > 0.75
    reference = extractor.features(x_train)
    real = metrics.frechet_distance_of_features(extractor.features(x_test), reference)
    noise = metrics.frechet_distance_of_features(
        extractor.features(np.random.default_rng(0).uniform(size=(500, 32, 32, 3))), reference)
    # a colour-blind evaluator would score emoji with their colours swapped as real ones
    swapped = metrics.frechet_distance_of_features(extractor.features(x_test[..., ::-1]), reference)
    assert real < 0.05 * noise and swapped > 3 * real, (real, swapped, noise)
    report = metrics.sample_quality(x_test, extractor, reference, kid_subset_size=200)
    assert report["max_entropy"] == pytest.approx(np.log(10))
    # 64x64 colour and 28x28 grey images are resized and converted to the evaluator's input
    assert extractor.features(np.zeros((2, 64, 64, 3))).shape == (2, 128)
    assert extractor.features(np.zeros((2, 28, 28, 1))).shape == (2, 128)


def test_each_source_is_judged_by_the_evaluator_for_its_images():
    assert metrics.evaluator_for("openmoji") == metrics.evaluator_for("openmoji_faces") == "openmoji"
    assert metrics.evaluator_for("mnist_5k") == metrics.evaluator_for("digits") == "digits"
    assert metrics.evaluator_for("tfds:cifar10", channels=3) == "openmoji"
    assert metrics.evaluator_for("my_folder", channels=1) == "digits"
    with pytest.raises(ValueError, match="unknown evaluator"):
        metrics.ClassifierFeatures("inception")
    grey = metrics.to_classifier_input(np.ones((1, 8, 8, 1)), (32, 32, 3))
    assert tuple(grey.shape) == (1, 32, 32, 3)
