"""SAGAN and BigGAN: their layers against NumPy definitions, the networks' structure
(attention where the papers put it, spectral norm everywhere, projection, hierarchical latent),
the training recipe and the truncation trick end to end (a killed BigGAN run that resumes:
`test_reliability`)."""


import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from keras_gen import losses as L
from keras_gen.data import training_data
from keras_gen.latent import normal_from_seeds, truncate_normal
from keras_gen.models import FAMILIES, BigGAN, SAGAN
from keras_gen.networks.attention import ConditionalBatchNorm, SelfAttention2D


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("pool_keys", [False, True])
def test_self_attention_matches_its_definition(pool_keys):
    layer = SelfAttention2D(spectral_norm=False, pool_keys=pool_keys)
    x = np.random.default_rng(0).normal(size=(2, 4, 6, 16)).astype("float32")
    np.testing.assert_allclose(layer(x), x, atol=1e-6)  # gamma starts at 0: the identity
    layer.gamma.assign(0.7)
    wq, wk, wv, wo = (np.asarray(l.kernel)[0, 0] for l in
                      (layer.query, layer.key, layer.value, layer.output_projection))
    q, k, v = x @ wq, x @ wk, x @ wv  # 1x1 convolutions
    if pool_keys:  # 2x2 max pooling of keys and values
        k, v = (t.reshape(2, 2, 2, 3, 2, -1).max(axis=(2, 4)) for t in (k, v))
    q, k, v = (t.reshape(2, -1, t.shape[-1]) for t in (q, k, v))
    attended = (softmax(q @ k.transpose(0, 2, 1)) @ v).reshape(2, 4, 6, -1)
    expected = x + 0.7 * (attended @ wo)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-5)
    assert wq.shape == (16, 2) and wv.shape == (16, 8)  # channels / 8 and / 2


def test_conditional_batch_norm_matches_its_definition():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 3.0, size=(6, 3, 3, 4)).astype("float32")
    c = rng.normal(size=(6, 5)).astype("float32")
    layer = ConditionalBatchNorm()
    np.testing.assert_allclose(layer([x, c], training=True),
                               (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + 1e-3),
                               rtol=1e-4, atol=1e-4)  # zero-initialised gain and bias: plain BN
    wg, bg, wb, bb = (rng.normal(size=s).astype("float32") for s in ((5, 4), (4,), (5, 4), (4,)))
    layer.gain.set_weights([wg, bg])
    layer.bias.set_weights([wb, bb])
    normalised = (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + 1e-3)
    expected = normalised * (1 + c @ wg + bg)[:, None, None] + (c @ wb + bb)[:, None, None]
    np.testing.assert_allclose(layer([x, c], training=True), expected, rtol=1e-4, atol=1e-4)


def test_orthogonal_regularization_matches_numpy():
    rng = np.random.default_rng(2)
    kernels = [rng.normal(size=(3, 3, 4, 5)).astype("float32"), rng.normal(size=(7, 6)).astype("float32")]
    expected = 0.0
    for kernel in kernels:
        w = kernel.reshape(-1, kernel.shape[-1])
        gram = w.T @ w
        expected += np.sum((gram * (1 - np.eye(len(gram)))) ** 2)
    assert float(L.orthogonal_regularization(kernels)) == pytest.approx(expected, rel=1e-5)
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert float(L.orthogonal_regularization([q * 3.0])) == pytest.approx(0.0, abs=1e-6)


def test_truncation_is_the_truncated_normal_and_keeps_each_code():
    z = np.asarray(normal_from_seeds(np.arange(3000), 32))
    for t in (0.5, 1.5):
        truncated = np.asarray(truncate_normal(z, t))
        assert np.abs(truncated).max() <= t
        # the same distribution as resampling |z| > t: a Kolmogorov-Smirnov test against it
        assert stats.kstest(truncated.ravel()[:20000], stats.truncnorm(-t, t).cdf).pvalue > 0.01
        # monotone per value: the order of the values of a code is kept
        assert np.array_equal(np.argsort(truncated[0]), np.argsort(z[0]))
    np.testing.assert_array_equal(truncate_normal(z, 0.0), z)  # <= 0: none
    np.testing.assert_allclose(truncate_normal(z[:50], 50.0), z[:50], atol=1e-5)
    per_code = np.asarray(truncate_normal(z[:2], np.array([0.5, 0.0], "float32")))
    np.testing.assert_allclose(per_code[0], truncate_normal(z[:1], 0.5)[0])
    np.testing.assert_array_equal(per_code[1], z[1])


def _wrapped_weight_layers(model):
    """(weight layers, those inside a SpectralNormalization wrapper)."""
    wrapped, plain = set(), []
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.SpectralNormalization):
            wrapped.add(id(layer.layer))
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)):
            plain.append(layer)
    return plain, [layer for layer in plain if id(layer) in wrapped]


def test_spectral_norm_updates_as_keras_does_without_its_conditional():
    """The project's layer takes Keras's steps (power iteration, kernel rewritten as
    kernel / sigma) with `where` in place of `cond`, and leaves an all-zero kernel alone."""
    from keras_gen.networks.normalization import SpectralNormalization

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((3, 5, 5, 2)).astype("float32")
    ours = SpectralNormalization(keras.layers.Conv2D(4, 3))
    theirs = keras.layers.SpectralNormalization(keras.layers.Conv2D(4, 3))
    ours.build(x.shape), theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    for _ in range(10):  # one power iteration per training call
        np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True), atol=1e-5)
    np.testing.assert_allclose(ours.vector_u.numpy(), theirs.vector_u.numpy(), atol=1e-6)
    largest = np.linalg.svd(ours.kernel.numpy().reshape(-1, 4), compute_uv=False)[0]
    assert abs(largest - 1.0) < 0.1  # the kernel's spectral norm is brought towards 1
    zero = SpectralNormalization(keras.layers.Dense(3, kernel_initializer="zeros"))
    assert np.all(np.isfinite(zero(np.ones((2, 4), "float32"), training=True)))
    assert not zero.kernel.numpy().any()


@pytest.mark.parametrize("architecture", ["resnet", "dcgan"])
@pytest.mark.parametrize("size, attention_side", [(32, 16), (64, 32), (28, 14)])
def test_sagan_networks_follow_the_paper(size, attention_side, architecture):
    model = SAGAN(image_shape=(size, size, 3), latent_dim=8, base_filters=4,
                  architecture=architecture)
    for network in (model.generator, model.discriminator):
        attention = [l for l in network.layers if isinstance(l, SelfAttention2D)]
        assert len(attention) == 1
        assert tuple(attention[0].input.shape[1:3]) == (attention_side, attention_side)
        layers, normalised = _wrapped_weight_layers(network)
        assert layers and len(normalised) == len(layers), network.name  # spectral norm on all
        for layer in layers:  # orthogonal, but the zero-started conditional norm gains
            assert isinstance(layer.kernel_initializer, keras.initializers.Orthogonal), layer.name
    assert not any(isinstance(l, keras.layers.BatchNormalization)
                   for l in model.discriminator._flatten_layers())
    assert model.loss_kind == "hinge" and model.ema_generator is not None
    model.compile(optimizer=model.default_optimizer())
    _assert_adam_rates(model, 2e-4, 2e-4)  # equal rates: measured better than TTUR here


def _assert_adam_rates(model, generator_rate, discriminator_rate):
    for slot, rate in (("generator", generator_rate), ("discriminator", discriminator_rate)):
        optimizer = model.get_optimizer(slot)
        assert float(optimizer.learning_rate) == pytest.approx(rate)
        assert float(optimizer.beta_1) == 0.0 and float(optimizer.beta_2) == pytest.approx(0.9)


def test_learning_rates_two_time_scale_option_and_default():
    """The papers' two time-scale rule is BigGAN's declaration and an option of SAGAN's (one
    rate by default); one learning rate given is every slot's (issue 39: BigGAN's D had 4x it)."""
    sagan = SAGAN(image_shape=(16, 16, 3), latent_dim=4, base_filters=2)
    sagan.compile(optimizer=sagan.default_optimizer())
    _assert_adam_rates(sagan, 2e-4, 2e-4)
    sagan.compile(optimizer=sagan.default_optimizer(
        learning_rates={"generator": 1e-4, "discriminator": 4e-4}))
    _assert_adam_rates(sagan, 1e-4, 4e-4)
    biggan = BigGAN(image_shape=(16, 16, 3), latent_dim=6, base_filters=2, embedding_dim=2,
                    num_classes=3)
    biggan.compile(optimizer=biggan.default_optimizer())
    _assert_adam_rates(biggan, 1e-4, 4e-4)
    biggan.compile(optimizer=biggan.default_optimizer(3e-4))
    _assert_adam_rates(biggan, 3e-4, 3e-4)
    with pytest.raises(ValueError, match="discriminator_lr_ratio"):
        SAGAN(image_shape=(16, 16, 3), latent_dim=4, base_filters=2, discriminator_lr_ratio=4)


def test_joint_discriminator_pass_scores_like_two_calls():
    model = SAGAN(image_shape=(16, 16, 3), latent_dim=4, base_filters=4)
    real, fake = (np.random.default_rng(i).uniform(-1, 1, (3, 16, 16, 3)).astype("float32")
                  for i in (0, 1))
    joint = model.score_real_and_fake(real, fake, None, training=False)
    np.testing.assert_allclose(joint[0], model.discriminator(real), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(joint[1], model.discriminator(fake), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("architecture", ["resnet", "dcgan"])
def test_conditional_sagan_takes_labels_through_its_layout(architecture):
    assert SAGAN.layout_for({}) == "images" and SAGAN.layout_for({"conditional": True}) == "labelled"
    task = training_data(FAMILIES["sagan"], "digits", batch_size=8, model_args={"conditional": True})
    images, labels = next(iter(task.train))
    assert task.model_args == {"num_classes": 10} and labels.shape == (8,)
    plain = training_data(FAMILIES["sagan"], "digits", batch_size=8)
    assert plain.model_args == {} and not isinstance(plain.train.element_spec, tuple)
    model = SAGAN(image_shape=(28, 28, 1), latent_dim=8, base_filters=4, conditional=True,
                  num_classes=10, architecture=architecture)
    assert model.batch_layout == "labelled"
    assert any(isinstance(l, ConditionalBatchNorm) for l in model.generator.layers)
    # projection: the same image scores differently under different labels
    x = np.repeat(np.asarray(images[:1]), 2, axis=0)
    kernel = model.discriminator.get_layer("projection_sn").layer.kernel
    kernel.assign(np.random.default_rng(0).normal(size=kernel.shape).astype("float32"))
    scores = np.asarray(model.discriminator([x, np.eye(10)[[0, 1]]]))
    assert abs(scores[0, 0] - scores[1, 0]) > 1e-4
    model.compile(optimizer=model.default_optimizer())
    model.fit(task.train.take(2), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="unconditional"):
        SAGAN(num_classes=10)
    with pytest.raises(ValueError, match="num_classes"):
        SAGAN(conditional=True)


def test_biggan_latent_is_hierarchical_and_labels_reach_every_block():
    model = BigGAN(image_shape=(32, 32, 3), latent_dim=20, base_filters=4, embedding_dim=6,
                   num_classes=4)
    chunks = model.generator.get_layer("z_chunks")
    assert chunks.sizes == [5, 5, 5, 5]  # the projection and three up-blocks
    z = tf.constant(np.random.default_rng(0).normal(size=(2, 20)).astype("float32"))
    labels = tf.constant(np.eye(4, dtype="float32")[[1, 2]])
    for i in range(3):  # each block's conditional norm sees [class embedding, its own chunk]
        norm = model.generator.get_layer(f"up_{i}_norm_a")
        probe = keras.Model(model.generator.inputs, norm.input[1])
        with tf.GradientTape() as tape:
            tape.watch(z)
            condition = probe([z, labels])
        jacobian = tape.jacobian(condition, z).numpy()  # (2, 11, 2, 20)
        used = np.abs(jacobian).sum(axis=(0, 1, 2)) > 0
        assert used.tolist() == [5 * (i + 1) <= j < 5 * (i + 2) for j in range(20)]
        assert condition.shape[-1] == 6 + 5
    embedding = [l for l in model.generator._flatten_layers() if l.name == "class_embedding"]
    assert len(embedding) == 1  # one embedding, shared by every block
    # and free to grow: spectral norm on one-hot inputs capped each class vector at length 1,
    # and G ignored the class (consistency 0.15 on openmoji, benchmarks/results/biggan_recipes.md)
    names = {l.name for l in model.generator._flatten_layers()}
    assert "project_sn" in names and "class_embedding_sn" not in names


def test_biggan_orthogonal_loss_and_truncated_sampling():
    model = BigGAN(image_shape=(16, 16, 3), latent_dim=9, base_filters=4, embedding_dim=4,
                   num_classes=3, orthogonal_weight=1e-3)
    kernels = model.regularised_kernels()
    names = {k.path.split("/")[-2] for k in kernels}
    assert "class_embedding" not in names and "project" in names and "to_image" in names
    x = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    model.compile(optimizer=model.default_optimizer())
    losses = model.compute_losses((x, np.array([0, 1, 2, 0])), training=False)
    expected = 1e-3 * float(L.orthogonal_regularization([k.numpy() for k in kernels]))
    assert float(losses["orthogonal_loss"]) == pytest.approx(expected, rel=1e-5)
    assert [u.loss for u in model.updates() if u.slot == "generator"] == ["g_loss", "orthogonal_loss"]
    history = model.fit(x, np.array([0, 1, 2, 0]), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["orthogonal_loss"][-1])
    # the exported sample signature's truncation: z from truncate_normal of the seed's code
    function, specs = model.serving_endpoints()["sample"]
    assert [s.name for s in specs] == ["seeds", "labels", "truncation"]
    seeds, labels = np.array([3, 4], "int32"), np.array([1, 2], "int32")
    got = function(seeds, labels, np.array([0.5, 0.5], "float32"))["images"]
    z = truncate_normal(normal_from_seeds(seeds, 9), 0.5)
    np.testing.assert_allclose(got, model.generate_from(z, labels), atol=1e-6)
    untruncated = function(seeds, labels, np.zeros(2, "float32"))["images"]
    np.testing.assert_allclose(untruncated, model.sample_from_seeds(seeds, labels), atol=1e-6)
    assert not np.allclose(got, untruncated)
