"""`tf.data` pipelines shared by every family: named sources, image folders and arrays."""

from keras_gen.data.datasets import OFFLINE_SOURCES, load, load_arrays, num_classes
from keras_gen.data import folders
from keras_gen.data.folders import class_names, from_directory
from keras_gen.data.pipelines import batch_pipeline, from_arrays, images_only, without_autotuner

__all__ = [
    "OFFLINE_SOURCES",
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
