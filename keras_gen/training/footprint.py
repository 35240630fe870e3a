"""What a model would cost in memory, estimated before it is built.

`estimate(family, image_shape, batch_size, **model_args)` constructs the family inside a
`keras.StatelessScope`, where Keras creates variables without allocating them, and reads
from that shell the parameter count and every layer's output shape. A training step holds
the weights, their gradients and two Adam moments (16 bytes per float32 parameter) and keeps
the layers' outputs for the backward pass (4 bytes per value per image); `check` refuses a
model whose estimate passes the budget before a byte of it is allocated, so that
`--set base_filters=100000` is one clear error instead of swap and a traceback.

Examples:
    >>> from keras_gen.models import AutoEncoder
    >>> footprint = estimate(AutoEncoder, (28, 28, 1), 64, latent_dim=4, units=(16,))
    >>> footprint.parameters, footprint.largest_activation
    (26036, 784)
    >>> footprint.training_bytes < 20e6
    True
"""

from __future__ import annotations

import dataclasses
import math

import keras
from keras.src.backend.common import global_state

#: The budget a training run checks against, in bytes (`TrainingRun(memory_budget_gb=)`,
#: `apps/train.py --memory-budget-gb`): 8 GB, a third of the reference machine's 24 GB.
DEFAULT_BUDGET_GB = 8.0
BYTES_PER_PARAMETER = 16  # float32 weight, gradient and Adam's two moments
BYTES_PER_VALUE = 4  # float32 activations kept for the backward pass


@dataclasses.dataclass(frozen=True)
class Footprint:
    """Parameter count, the largest and the summed layer outputs (values per image), and the
    batch they were estimated at."""

    parameters: int
    largest_activation: int
    activations: int
    batch_size: int

    @property
    def training_bytes(self):
        """Weights, gradients and optimizer moments, plus every layer output at the batch."""
        return (BYTES_PER_PARAMETER * self.parameters
                + BYTES_PER_VALUE * self.batch_size * self.activations)

    def describe(self):
        return (f"{self.parameters:,} parameters, largest activation {self.largest_activation:,} "
                f"values per image, about {self.training_bytes / 1e9:.2f} GB to train at batch "
                f"{self.batch_size}")


def _values(shape):
    """Values per example of a symbolic output shape (batch dimension dropped)."""
    dims = [d for d in tuple(shape)[1:] if d is not None]
    return math.prod(int(d) for d in dims)


def _outputs(layer):
    """The symbolic outputs of a layer called in a functional graph (none when it was not)."""
    try:
        output = layer.output
    except (AttributeError, ValueError):
        return []
    return [t for t in keras.tree.flatten(output) if hasattr(t, "shape")]


def estimate(family, image_shape, batch_size, **model_args):
    """The `Footprint` of `family(image_shape=image_shape, **model_args)` at `batch_size`,
    without allocating its weights. Errors in the arguments raise as the constructor raises."""
    # Keras keeps variables made in a stateless scope on a global list and allocates them when
    # the outermost scope closes; this scope allocates nothing, and its variables leave the list.
    waiting = list(global_state.get_global_attribute("uninitialized_variables", []) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = family(image_shape=tuple(image_shape), **model_args)
            shapes = [tuple(v.shape) for v in model.weights]
            sizes = [_values(t.shape) for layer in model._flatten_layers()
                     for t in _outputs(layer)]
    finally:
        global_state.set_global_attribute("uninitialized_variables", waiting)
    parameters = sum(math.prod(int(d) for d in shape) for shape in shapes)
    return Footprint(parameters=parameters, largest_activation=max(sizes, default=0),
                     activations=sum(sizes), batch_size=int(batch_size))


def check(footprint, budget_gb=DEFAULT_BUDGET_GB, what="this model"):
    """Raise a `ValueError` naming the estimate and how to raise the budget when `footprint`
    needs more than `budget_gb`."""
    if footprint.training_bytes > budget_gb * 1e9:
        raise ValueError(
            f"{what} is too large to train here: {footprint.describe()}, over the "
            f"{budget_gb:g} GB budget; use smaller sizes or batch, or raise the budget "
            "(--memory-budget-gb, TrainingRun(memory_budget_gb=...))")
    return footprint
