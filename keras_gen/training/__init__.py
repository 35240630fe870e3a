"""The shared training core every family builds on."""

from keras_gen.training.base import (
    GenerativeModel,
    first_element,
    global_batch_mean,
    reduce_loss,
    run_when,
    update_moving_average,
    warmed_up_decay,
)

__all__ = ["GenerativeModel", "first_element", "global_batch_mean", "reduce_loss", "run_when",
           "update_moving_average", "warmed_up_decay"]
