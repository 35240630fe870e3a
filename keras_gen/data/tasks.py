"""The training data of a family: chosen from its declared `batch_layout` and a dataset name.

`training_data(family, "mnist_5k")` gives what `fit` needs for any registered family, read
from its traits (`value_range`, `batch_layout`), never from its name:

| batch layout | dataset names it accepts | what it yields |
| --- | --- | --- |
| images | a named source (`mnist_5k`, `digits`, `openmoji`, `openmoji_faces`, `tfds:*`) or an image folder | images |
| labelled | the same (a folder's labels are its sub-folders) | `(images, labels)`, and `num_classes` for the model |
| paired | a digit source (Sobel edges -> digit), an openmoji source (black line art -> colour emoji) or a folder of side-by-side A|B images | `(inputs, targets)` |
| unpaired | a digit source (scikit-learn digits <-> mnist_5k), an openmoji source (people in light <-> dark skin tone) or `tfds:cycle_gan/<pair>` | `(x, y)` |
| debiasing | a digit source (the biased "is it a 7?" task) or an openmoji source (the biased "is it a face?" task) | `(images, 0/1 labels)` resampled each epoch by a `DebiasingSampler` callback |
"""

from __future__ import annotations

import dataclasses
import os

from keras_gen.data import datasets, folders, paired
from keras_gen.data.debiasing import biased_task_training
from keras_gen.data.pipelines import images_only


@dataclasses.dataclass
class TrainingData:
    """What `fit` needs: the training and validation datasets, callbacks the data needs (a
    resampler), the steps per epoch of an endless dataset, and constructor arguments the data
    decides (`num_classes`)."""

    train: object
    validation: object = None
    callbacks: list = dataclasses.field(default_factory=list)
    steps_per_epoch: int | None = None
    model_args: dict = dataclasses.field(default_factory=dict)

    @property
    def image_shape(self):
        """`(height, width, channels)` of the training images."""
        spec = self.train.element_spec
        spec = spec[0] if isinstance(spec, tuple) else spec
        return tuple(int(d) for d in spec.shape[1:])


def training_data(family, dataset="mnist_5k", *, batch_size=64, seed=0, image_size=None,
                  validation=True, drop_remainder=False, model_args=None):
    """The `TrainingData` of `family` (a registered class) on `dataset`; `model_args` are the
    constructor arguments the model will get, for a family whose batch layout depends on them
    (`family.layout_for`).

    Examples:
        >>> from keras_gen.models import FAMILIES
        >>> task = training_data(FAMILIES["cgan"], "digits", batch_size=8)
        >>> task.image_shape, task.model_args
        ((28, 28, 1), {'num_classes': 10})
    """
    layout = family.layout_for(model_args or {})
    fixed_size = dataset in datasets.DIGIT_SOURCES and layout in ("paired", "unpaired", "debiasing")
    if image_size is not None and fixed_size:
        raise ValueError(f"{family.family_name} on {dataset!r} trains on 28x28 digit tasks; "
                         f"an image size applies to its folder, openmoji or TFDS sources only")
    if layout in ("images", "labelled"):
        return _image_data(family, dataset, batch_size, seed, image_size, validation,
                           drop_remainder, labels=layout == "labelled")
    if layout == "debiasing":
        task = biased_task_training(dataset, batch_size=batch_size, seed=seed,
                                    image_size=image_size)
        return TrainingData(task["train"], task["validation"] if validation else None,
                            task["callbacks"], task["steps_per_epoch"])
    if layout == "paired":
        return _paired_data(family, dataset, batch_size, seed, image_size, validation)
    return _unpaired_data(family, dataset, batch_size, seed, image_size, validation)


def _image_data(family, dataset, batch_size, seed, image_size, validation, drop_remainder,
                labels):
    common = dict(batch_size=batch_size, value_range=family.value_range, seed=seed,
                  image_size=image_size, with_labels=labels)
    if os.path.isdir(dataset):
        train, test = folders.from_directory(dataset, **common), None
        num_classes = len(folders.class_names(dataset)) if labels else None
    else:
        train = datasets.load(dataset, "train", drop_remainder=drop_remainder, **common)
        test = datasets.load(dataset, "test", **common) if validation else None
        num_classes = datasets.num_classes(dataset) if labels else None
    if not labels:
        train = images_only(train)
        test = images_only(test) if test is not None else None
    return TrainingData(train, test, model_args={"num_classes": num_classes} if num_classes else {})


def _paired_data(family, dataset, batch_size, seed, image_size, validation):
    if os.path.isdir(dataset):
        train = paired.paired_from_directory(dataset, image_size=image_size or (256, 256),
                                             batch_size=batch_size, seed=seed,
                                             value_range=family.value_range)
        return TrainingData(train)
    if dataset in datasets.DIGIT_SOURCES:
        pairs = lambda split: paired.edges_to_digits(split, dataset)[:2]  # noqa: E731
    elif dataset in datasets.COLOUR_SOURCES:
        pairs = lambda split: paired.line_art_to_openmoji(split, dataset, image_size)  # noqa: E731
    else:
        raise ValueError(f"{family.family_name} trains on the edges -> digit task of "
                         f"{datasets.DIGIT_SOURCES}, the line art -> emoji task of "
                         f"{datasets.COLOUR_SOURCES} or on a folder of side-by-side A|B images, "
                         f"not {dataset!r}")
    inputs, targets = pairs("train")
    train = paired.pairs_from_arrays(inputs, targets, batch_size=batch_size, augment=True,
                                     seed=seed, value_range=family.value_range)
    test = None
    if validation:
        test_inputs, test_targets = pairs("test")
        test = paired.pairs_from_arrays(test_inputs, test_targets, batch_size=256, shuffle=False,
                                        value_range=family.value_range)
    return TrainingData(train, test)


def _unpaired_data(family, dataset, batch_size, seed, image_size, validation):
    if dataset.startswith("tfds:cycle_gan"):
        train = paired.load_cycle_gan(dataset, "train", image_size=image_size or (256, 256),
                                      batch_size=batch_size, seed=seed,
                                      value_range=family.value_range)
        return TrainingData(train, steps_per_epoch=100)
    if dataset in datasets.DIGIT_SOURCES:
        sets = lambda split: tuple(images for images, _ in paired.digits_to_mnist(split))  # noqa: E731
    elif dataset in datasets.COLOUR_SOURCES:
        sets = lambda split: paired.openmoji_skin_tones(split, dataset, image_size)  # noqa: E731
    else:
        raise ValueError(f"{family.family_name} trains on digits <-> mnist_5k "
                         f"({datasets.DIGIT_SOURCES}), light <-> dark skin tones "
                         f"({datasets.COLOUR_SOURCES}) or a 'tfds:cycle_gan/<pair>' dataset, "
                         f"not {dataset!r}")
    x, y = sets("train")
    train = paired.unpaired_from_arrays(x, y, batch_size=batch_size, seed=seed,
                                        value_range=family.value_range)
    test = None
    if validation:
        x_test, y_test = sets("test")
        n = min(len(x_test), len(y_test))
        test = paired.pairs_from_arrays(x_test[:n], y_test[:n], batch_size=256, shuffle=False,
                                        value_range=family.value_range)
    return TrainingData(train, test, steps_per_epoch=max(1, len(x) // batch_size))
