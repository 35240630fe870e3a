"""Constructor arguments checked where a family declares them: sizes are whole numbers of at
least one (or zero, where none is allowed), named in the error, never silently rounded.

    self.latent_dim = size("latent_dim", latent_dim)         # 2.5, -1, "8", True: ValueError
    self.units = sizes("units", units)                       # a sequence of sizes
"""

from __future__ import annotations

import numbers


def size(name, value, least=1):
    """`value` as an `int` when it is a whole number `>= least`; else a `ValueError` naming
    `name`. Floats with no fraction (`64.0`, as JSON may give) are taken; booleans are not.

    Examples:
        >>> size("latent_dim", 64.0)
        64
        >>> size("latent_dim", 2.5)
        Traceback (most recent call last):
        ...
        ValueError: latent_dim must be a whole number >= 1, got 2.5
    """
    whole = (isinstance(value, numbers.Integral) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())
    if not whole or value < least:
        raise ValueError(f"{name} must be a whole number >= {least}, got {value!r}")
    return int(value)


def sizes(name, values, least=1):
    """A tuple of sizes (`size` each), from a list or tuple; a `ValueError` naming `name` for
    anything else (a bare number, a string).

    Examples:
        >>> sizes("units", [128, 256])
        (128, 256)
        >>> sizes("units", -1)
        Traceback (most recent call last):
        ...
        ValueError: units must be a list of whole numbers >= 1, got -1
    """
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{name} must be a list of whole numbers >= {least}, got {values!r}")
    return tuple(size(f"{name}[{i}]", value, least) for i, value in enumerate(values))


def image_shape_of(value):
    """`(height, width, channels)`, each a size.

    Examples:
        >>> image_shape_of([28, 28, 1])
        (28, 28, 1)
    """
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {value!r}")
    return sizes("image_shape", value)
