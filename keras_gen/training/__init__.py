"""The shared training core every family builds on, the family registry, and the training run."""

from keras_gen.training.base import (
    BATCH_LAYOUTS,
    FAMILIES,
    GenerativeModel,
    Update,
    first_element,
    global_batch_mean,
    reduce_loss,
    register_family,
    run_when,
    start_average,
    update_moving_average,
    warmed_up_decay,
)
from keras_gen.training.optimizers import OptimizerSpec
from keras_gen.training.recipe import PresetSpec, Recipe
from keras_gen.training.run import TrainingRun

__all__ = ["BATCH_LAYOUTS", "FAMILIES", "GenerativeModel", "Update", "first_element",
           "global_batch_mean", "OptimizerSpec", "PresetSpec", "Recipe", "reduce_loss", "register_family", "run_when", "start_average", "TrainingRun",
           "update_moving_average", "warmed_up_decay"]
