"""DB-VAE: the debiasing weights, the resampling pipeline, the loss, and the biased task."""

import numpy as np
import pytest

from keras_gen import export
from keras_gen.data.biased import biased_digit_task, thicken
from keras_gen.data import DebiasingSampler, debiasing_weights
from keras_gen.models import DBVAE
from model_checks import call_saved_model, check_keras_file_round_trip


def test_weights_match_inverse_histogram_density_in_one_dimension():
    mu = np.array([[0.0]] * 6 + [[1.0]] * 3 + [[2.0]])
    p = debiasing_weights(mu, bins=2, alpha=0.0)
    # bins [0, 1) holds 6 examples, [1, 2] holds 4: weights proportional to 1/6 and 1/4
    expected = np.array([1 / 6] * 6 + [1 / 4] * 4)
    np.testing.assert_allclose(p, expected / expected.sum())
    assert p.sum() == pytest.approx(1.0)


def test_weights_favour_rare_latent_regions_and_alpha_flattens_them():
    rng = np.random.default_rng(0)
    mu = np.concatenate([rng.normal(0, 1, (950, 4)), rng.normal(6, 0.3, (50, 4))])
    p = debiasing_weights(mu, bins=10, alpha=0.001)
    assert p[950:].mean() > 3 * p[:950].mean()
    flat = debiasing_weights(mu, bins=10, alpha=1e6)
    np.testing.assert_allclose(flat, np.full(1000, 1e-3), rtol=1e-3)


class _FixedLatents:
    def __init__(self, means):
        self.means = means

    def latent_means(self, images):
        return self.means


def test_sampler_batches_follow_updated_probabilities():
    x = np.zeros((120, 4, 4, 1), "float32")
    x[:100, 0, 0, 0] = 1.0  # positives 0..99: common kind marked in one pixel
    y = np.array([1] * 100 + [0] * 20)
    sampler = DebiasingSampler(x, y, batch_size=200, seed=1)
    images, labels = next(iter(sampler.dataset))
    assert labels.numpy().tolist() == [1] * 100 + [0] * 100
    assert sampler.dataset.options().autotune.enabled is False  # as keras_gen.data's pipelines
    rare = np.zeros((100, 1))
    rare[90:] = 5.0  # the last 10 positives are rare in latent space
    x[90:100, 1, 1, 0] = 1.0
    sampler = DebiasingSampler(x, y, batch_size=400, seed=1, bins=5)
    before = next(iter(sampler.dataset))[0].numpy()[:200]
    sampler.update(_FixedLatents(rare))
    after = next(iter(sampler.dataset.skip(5)))[0].numpy()[:200]
    share = lambda batch: float(np.mean(batch[:, 1, 1, 0] == 1.0))  # noqa: E731
    assert share(before) == pytest.approx(0.1, abs=0.06)
    assert share(after) > 0.35


def test_vae_terms_only_for_positives():
    model = DBVAE(latent_dim=3, filters=(4, 8), dense_units=16)
    x = np.random.default_rng(0).uniform(size=(6, 28, 28, 1)).astype("float32")
    negatives = model.compute_losses((x, np.zeros(6, "int32")))
    np.testing.assert_allclose(negatives["loss"], negatives["classification_loss"], rtol=1e-6)
    positives = model.compute_losses((x, np.ones(6, "int32")))
    assert np.all(np.asarray(positives["loss"]) > np.asarray(positives["classification_loss"]))
    baseline = DBVAE(latent_dim=3, vae_weight=0.0, filters=(4, 8), dense_units=16)
    result = baseline.compute_losses((x, np.ones(6, "int32")))
    np.testing.assert_allclose(result["loss"], result["classification_loss"], rtol=1e-6)


def test_biased_task_is_biased_as_described():
    task = biased_digit_task(rare_fraction=0.03, bold_negative_fraction=0.5)
    x, y, bold = task["train"]
    assert x.shape == (4000, 28, 28, 1) and int(y.sum()) == 400
    assert int(bold[y == 1].sum()) == 12 and int(bold[y == 0].sum()) == 1800
    x_test, y_test, bold_test = task["test"]
    assert int(bold_test[y_test == 1].sum()) == 50
    # bold images hold more ink than their originals
    single = x[bold == 0][:5]
    assert thicken(single).sum() > 1.5 * single.sum()


def test_dbvae_trains_with_sampler_round_trips_and_exports(tmp_path):
    task = biased_digit_task()
    x, y, _ = task["train"]
    model = DBVAE(latent_dim=3, filters=(8, 16), dense_units=32)
    model.compile(optimizer="adam")
    sampler = DebiasingSampler(x, y, batch_size=32)
    history = model.fit(sampler.dataset, steps_per_epoch=5, epochs=2, callbacks=[sampler], verbose=0)
    assert set(history.history) == {"loss", "classification_loss", "reconstruction_loss", "kl_loss",
                                    "accuracy"}
    assert len(sampler.history) == 2 and not np.allclose(sampler.history[-1], 1 / 400)
    images = x[:4]
    check_keras_file_round_trip(model, tmp_path, lambda m: m.classify(images))
    path = export.export(model, str(tmp_path / "dbvae"))
    outputs, signatures = call_saved_model(path, {"classify__images": images})
    assert {"serving_default", "encode", "decode", "reconstruct", "classify"} <= set(signatures)
    np.testing.assert_allclose(outputs["classify__probability"], model.classify(images), atol=1e-5)
