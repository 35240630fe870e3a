"""`tf.data` pipelines shared by every family: named sources, image folders and arrays."""

from keras_gen.data.datasets import (
    COLOUR_SOURCES,
    DIGIT_SOURCES,
    OFFLINE_SOURCES,
    attribution,
    load,
    load_arrays,
    num_classes,
)
from keras_gen.data import folders, openmoji
from keras_gen.data.folders import class_names, from_directory
from keras_gen.data.pipelines import batch_pipeline, from_arrays, images_only, without_autotuner
from keras_gen.data.debiasing import DebiasingSampler, biased_task_training, debiasing_weights
from keras_gen.data.tasks import TrainingData, training_data

__all__ = [
    "COLOUR_SOURCES",
    "DIGIT_SOURCES",
    "OFFLINE_SOURCES",
    "attribution",
    "openmoji",
    "DebiasingSampler",
    "TrainingData",
    "biased_task_training",
    "debiasing_weights",
    "training_data",
    "batch_pipeline",
    "class_names",
    "folders",
    "from_arrays",
    "from_directory",
    "images_only",
    "load",
    "load_arrays",
    "num_classes",
    "without_autotuner",
]
