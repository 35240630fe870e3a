"""A family's optimizers, declared once: one `OptimizerSpec` per slot.

A family sets the class attribute `optimizer_spec` to one spec (every slot gets its own copy)
or to `{slot: spec}` (two time-scale rules, as BigGAN's). `GenerativeModel.default_optimizer`
builds from it, a recipe's `learning_rates` and the training app's `--learning-rate` (every
slot) or `--learning-rates SLOT=RATE` (one slot) override its rates, and the `.keras` file or
preset keeps what was built (each slot's optimizer config). Nothing else sets optimizers.

Examples:
    >>> spec = OptimizerSpec(2e-4, beta_1=0.5)
    >>> spec.with_rate(1e-4)
    OptimizerSpec(learning_rate=0.0001, beta_1=0.5, beta_2=0.999, epsilon=1e-07)
    >>> spec.build().beta_1
    0.5
"""

from __future__ import annotations

import dataclasses
import math

import keras


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """Adam at `learning_rate` with its moment decays and epsilon (every family here uses Adam;
    a spec is what a slot's optimizer is built from)."""

    learning_rate: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7

    def __post_init__(self):
        check_rate("learning_rate", self.learning_rate)

    def with_rate(self, learning_rate):
        """The same optimizer at another learning rate."""
        return dataclasses.replace(self, learning_rate=float(learning_rate))

    def build(self):
        """A fresh `keras.optimizers.Adam`."""
        return keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1, beta_2=self.beta_2,
                                     epsilon=self.epsilon)


def check_rate(name, rate):
    """Raise a `ValueError` naming `name` unless `rate` is a finite number > 0."""
    try:
        ok = 0 < float(rate) < math.inf
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number > 0, got {rate!r}")


def slot_specs(declared, slots, learning_rate=None, learning_rates=None, owner="the family"):
    """`{slot: OptimizerSpec}` for `slots`: the `declared` spec (one, or one per slot), every
    slot's rate replaced by `learning_rate` when given, then the rates `learning_rates` names.

    Examples:
        >>> specs = slot_specs(OptimizerSpec(2e-4), ("generator", "discriminator"),
        ...                    learning_rate=1e-4, learning_rates={"discriminator": 4e-4})
        >>> [specs[s].learning_rate for s in ("generator", "discriminator")]
        [0.0001, 0.0004]
    """
    if isinstance(declared, OptimizerSpec):
        specs = {slot: declared for slot in slots}
    else:
        specs = dict(declared)
        if sorted(specs) != sorted(slots):
            raise ValueError(f"{owner} declares optimizers for {sorted(specs)}; its slots are "
                             f"{list(slots)}")
    if learning_rate is not None:
        check_rate("learning_rate", learning_rate)
        specs = {slot: spec.with_rate(learning_rate) for slot, spec in specs.items()}
    for slot, rate in dict(learning_rates or {}).items():
        if slot not in specs:
            raise ValueError(f"learning_rates names {slot!r}; {owner}'s optimizers are "
                             f"{list(slots)}")
        check_rate(f"learning_rates[{slot!r}]", rate)
        specs[slot] = specs[slot].with_rate(rate)
    return specs
