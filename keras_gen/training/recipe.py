"""A family's recipes: the quick default, the run `apps/train.py <family>` makes when no flag
says otherwise (a few minutes on 2 cores), and the preset recipe its shipped preset is trained
with (`apps/make_presets.py`); the preset's card says what each buys.

Each family declares its own as the class attribute `recipe`; the base class's is 40 epochs of
`mnist_5k` at batch 64 with the constructor's defaults. A family whose preset is worth a longer
run also declares `preset_recipe` (up to about an hour on 2 cores), counted in epochs so that a
run killed midway resumes where it stopped; `apps/train.py <family> --recipe preset` and
`apps/make_presets.py` train it. The figures behind each choice are in
`benchmarks/results/` and the preset cards, not here.
"""

from __future__ import annotations

import dataclasses

#: `Recipe.run_args` of the adversarial families: no per-epoch validation (their losses on
#: held-out images say little about the samples; FID, when asked, reads the test split) and
#: whole batches only.
ADVERSARIAL_RUN_ARGS = {"validation": False, "drop_remainder": True}
#: The recipes a family declares: `recipe` (the quick default) and `preset_recipe`.
RECIPE_KINDS = ("quick", "preset")


@dataclasses.dataclass(frozen=True)
class PresetSpec:
    """A family's shipped preset (the family's `preset`): its name, what its card says it is,
    the figure the card leads with (measured on held-out data) and how many samples it is
    judged on (0: none, as for DB-VAE, whose decoder serves its classifier). It is trained with
    the family's preset recipe (`apps/make_presets.py`).

    Examples:
        >>> PresetSpec("vae_mnist", "A VAE for digits.", "test_loss").samples
        1000
    """

    name: str
    description: str
    headline: str
    samples: int = 1000


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Data, budget, constructor arguments and learning rates of a family's default run.

    `minutes` (when set) is a wall-clock budget and `epochs` then the most it runs;
    `learning_rates` maps optimizer slots to rates on top of the family's declared
    optimizers (`optimizer_spec`; `None`: the declared rates); `run_args` are further `TrainingRun`
    fields (`validation`, `drop_remainder`, `pretrain_epochs`).

    Examples:
        >>> recipe = Recipe(epochs=20, model_args={"ema_decay": 0.999})
        >>> recipe.with_model_args({"latent_dim": 8}).model_args
        {'ema_decay': 0.999, 'latent_dim': 8}
    """

    dataset: str = "mnist_5k"
    image_size: tuple | None = None
    epochs: int = 40
    minutes: float | None = None
    batch_size: int = 64
    model_args: dict = dataclasses.field(default_factory=dict)
    learning_rates: dict | None = None
    run_args: dict = dataclasses.field(default_factory=dict)

    def with_model_args(self, overrides):
        """The recipe with `overrides` on top of its constructor arguments."""
        return dataclasses.replace(self, model_args={**self.model_args, **dict(overrides or {})})

    def run_args_for(self, dataset=None):
        """`TrainingRun` keyword arguments of this recipe (`dataset` replaces the recipe's; the
        recipe's image size then no longer applies).

        Examples:
            >>> Recipe(minutes=3, run_args={"validation": False}).run_args_for()["time_budget_s"]
            180.0
        """
        own = dataset is None or dataset == self.dataset
        return dict(dataset=self.dataset if own else dataset,
                    image_size=self.image_size if own else None, epochs=self.epochs,
                    time_budget_s=None if self.minutes is None else 60.0 * self.minutes,
                    batch_size=self.batch_size, model_args=dict(self.model_args),
                    learning_rates=self.learning_rates, **self.run_args)
