"""One tiny model and one training batch per registered family, built from the family's own
traits (`smoke_config`, `batch_layout`, `value_range`), for the checks that must cover every
family the same way (round trips, mixed precision, tf.distribute, XLA, the CLI).

`make_case(name)` returns `(model, batch)`; `batch` is what the family's `fit` takes, in the
family's value range. A family registered with `keras_gen.training.register_family` is in
`all_families()` with no edit here. Deterministic families (no noise drawn inside
`train_step`) declare `deterministic_training`; `test_family_contract` checks each claim.
"""

import numpy as np

from keras_gen.models import FAMILIES

SIZE = 16  # even, and enough for two stride-2 stages
SHAPE = (SIZE, SIZE, 1)
#: The families that declare `deterministic_training` (no noise drawn inside `train_step`).
DETERMINISTIC = tuple(name for name in sorted(FAMILIES)
                      if FAMILIES[name].declared("deterministic_training"))


def _images(n=8, size=SIZE, channels=1, value_range=(0.0, 1.0), seed=0):
    x = np.random.default_rng(seed).random((n, size, size, channels)).astype("float32")
    low, high = value_range
    return x * (high - low) + low


def make_batch(model, n=8):
    """A training batch of `model`'s batch layout, in its value range."""
    x = _images(n, value_range=model.value_range)
    layout = model.batch_layout
    if layout == "labelled":
        return x, (np.arange(n) % model.num_classes).astype("int32")
    if layout == "debiasing":
        return x, (np.arange(n) % 2).astype("float32")
    if layout in ("paired", "unpaired"):
        return x, _images(n, value_range=model.value_range, seed=1)
    return x


def make_case(name, n=8):
    """`(model, batch)` for family `name`, built under the current dtype policy / scope."""
    model = FAMILIES[name](image_shape=SHAPE, **FAMILIES[name].smoke_config)
    return model, make_batch(model, n)


def all_families():
    return sorted(FAMILIES)


def default_outputs(model):
    """`{name: tensor}` of the family's `serving_default` endpoint on valid inputs."""
    from keras_gen.export import with_serving_default

    function, specs = with_serving_default(model)["serving_default"]
    return function(*signature_inputs(specs))


def signature_inputs(specs, n=2):
    """Valid inputs for a signature: zero floats (images, z) and ones for integers (seeds,
    labels, diffusion steps, which must be at least 1)."""
    return [(np.zeros if spec.dtype.is_floating else np.ones)(
        (n, *spec.shape[1:]), spec.dtype.as_numpy_dtype) for spec in specs]
