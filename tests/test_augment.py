"""DiffAugment: each transformation against its definition, gradients through it, and the
`augment` option of every GAN family (D sees augmented real and generated images in training
only)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from family_cases import make_case
from keras_gen.augment import (
    _shift_matrices,
    adjust_color,
    cutout,
    diff_augment,
    parse_policy,
    translate,
)
from keras_gen.models import FAMILIES
from keras_gen.models.gan import AdversarialModel


def test_translation_shifts_with_zero_fill():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 8, 8, 2)).astype("float32")
    shifts = np.array([2, -3, 0])
    moved = np.asarray(tf.einsum("bij,bjwc->biwc", _shift_matrices(shifts, 8, "float32"), x))
    expected = np.zeros_like(x)
    for b, s in enumerate(shifts):
        for i in range(8):
            if 0 <= i - s < 8:
                expected[b, i] = x[b, i - s]
    np.testing.assert_array_equal(moved, expected)
    out = np.asarray(translate(x, seed=1))
    for b in range(3):  # every output is a shifted copy of its input by at most 1/8 of a side
        matches = [(dy, dx) for dy in range(-1, 2) for dx in range(-1, 2)
                   if np.allclose(out[b], _shifted(x[b], dy, dx))]
        assert matches, b


def _shifted(image, dy, dx):
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[i, j] = image[i - dy, j - dx]
    return out


def test_cutout_zeroes_one_square_of_half_the_side():
    out = np.asarray(cutout(tf.ones((64, 8, 8, 1)), seed=2))[..., 0]
    zeros = out == 0
    for mask in zeros:
        rows, cols = np.where(mask)
        assert len(rows) <= 16
        if len(rows):  # a rectangle (the square clipped by the border)
            assert mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
    assert (zeros.sum(axis=(1, 2)) == 16).mean() > 0.2  # most squares lie inside


def test_colour_changes_brightness_saturation_and_contrast_per_image():
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (256, 4, 4, 3)).astype("float32")
    out = np.asarray(adjust_color(x, seed=4))
    shift = out.mean(axis=(1, 2, 3)) - x.mean(axis=(1, 2, 3))  # contrast keeps the image mean
    assert -0.5 <= shift.min() < -0.4 and 0.4 < shift.max() <= 0.5
    grey = np.repeat(x[..., :1], 3, axis=-1)  # no colour: saturation leaves it grey
    out = np.asarray(adjust_color(grey, seed=5))
    np.testing.assert_allclose(out[..., 0], out[..., 2], atol=1e-6)


def test_the_policy_is_checked_and_the_transformations_are_differentiable():
    assert parse_policy("color, cutout") == ("color", "cutout") and parse_policy("") == ()
    with pytest.raises(ValueError, match="policy"):
        parse_policy("colour")
    x = tf.constant(np.random.default_rng(6).uniform(-1, 1, (4, 8, 8, 3)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = diff_augment(x, "color,translation,cutout", seed=keras.random.SeedGenerator(0))
        total = tf.reduce_sum(y * y)
    gradient = tape.gradient(total, x)
    assert gradient is not None and float(tf.reduce_max(tf.abs(gradient))) > 0
    np.testing.assert_array_equal(diff_augment(x, ""), x)


GAN_FAMILIES = sorted(name for name, cls in FAMILIES.items() if issubclass(cls, AdversarialModel))


def augmented_case(family, policy):
    """`(model, batch)`: family `family` at its smoke config with `augment=policy`, compiled."""
    cls = FAMILIES[family]
    model = cls(image_shape=(16, 16, 1), **cls.smoke_config, augment=policy)
    assert model.get_config()["augment"] == policy
    model.compile(optimizer=model.default_optimizer())
    return model, make_case(family)[1]


def inputs_seen(discriminator, step):
    """Run `step()` and return the inputs of each call of `discriminator` in it (NumPy lists)."""
    seen, call = [], discriminator.call

    def spy(inputs, *args, **kwargs):
        seen.append([np.asarray(t) for t in (inputs if isinstance(inputs, (list, tuple)) else [inputs])])
        return call(inputs, *args, **kwargs)

    discriminator.call = spy
    try:
        step()
    finally:
        discriminator.call = call
    return seen


@pytest.mark.parametrize("family", GAN_FAMILIES)
def test_every_gan_family_takes_the_augment_option(family):
    model, batch = augmented_case(family, "translation,cutout")
    keras.utils.set_random_seed(0)
    augmented = inputs_seen(model.discriminator, lambda: model.compute_losses(batch, training=True))
    plain = inputs_seen(model.discriminator, lambda: model.compute_losses(batch, training=False))
    images = batch[0] if isinstance(batch, tuple) else batch
    # the first call scores the real batch (or real and fake at once): in training every image
    # has cutout's zeroed square; in evaluation D sees the images as they are
    assert (augmented[0][0] == 0).all(axis=-1).sum(axis=(1, 2)).min() >= 16
    if family != "progan":  # ProGAN shows D the reals at the current resolution mix
        np.testing.assert_allclose(plain[0][0][: len(images)], images, atol=1e-6)


@pytest.mark.parametrize("family", ["pix2pix", "cyclegan"])
def test_image_to_image_families_take_the_augment_option(family):
    model, batch = augmented_case(family, "cutout")
    discriminator = model.discriminator if family == "pix2pix" else model.discriminator_y
    seen = inputs_seen(discriminator, lambda: model.compute_losses(batch, training=True))
    for images in seen:  # every image D saw, and both of a pair in the same place
        holes = [(t == 0).all(axis=-1) for t in images]
        assert holes[0].sum(axis=(1, 2)).min() >= 16
        for other in holes[1:]:
            np.testing.assert_array_equal(other, holes[0])
    assert FAMILIES[family](image_shape=(16, 16, 1), **FAMILIES[family].smoke_config).augment == ""
