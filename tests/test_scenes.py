"""Procedural clean scenes: reproducible, photo-sized, and full of the thin bright shapes they exist for."""

from __future__ import annotations

import cv2
import numpy as np

from tests.test_perceive import CONFIG
from uhdrestore.train.perceiver_examples import draw_example
from uhdrestore.train.scenes import scene, scenes


def test_scenes_are_reproducible_and_differ_from_each_other():
    first, second = scenes(2, seed=3, height=120, width=160)
    assert first.shape == (120, 160, 3) and first.dtype == np.uint8
    assert np.array_equal(first, scenes(1, seed=3, height=120, width=160)[0])
    assert not np.array_equal(first, second)


def test_scenes_hold_sharp_thin_structures_not_just_smooth_colour():
    image = scene(np.random.default_rng(0), 240, 320).astype(np.float32) / 255
    detail = np.abs(image - cv2.GaussianBlur(image, (0, 0), 3)).max(axis=2)
    assert (detail > 0.05).mean() > 0.01  # edges of blades, stems and petals
    assert image.std() > 0.05


def test_examples_are_cut_from_scenes_as_well_as_photos():
    photos = [np.zeros((300, 400, 3), np.uint8)]  # black photo: any bright view came from a scene
    white = [np.full((300, 400, 3), 255, np.uint8)]
    views = [draw_example(photos, CONFIG, 0, 0, index, scenes=white).view for index in range(60)]
    without = [draw_example(photos, CONFIG, 0, 0, index).view for index in range(60)]
    # Degrading can brighten a black photo (haze, snow) but not to near white.
    assert sum(view.mean() > 230 for view in views) >= 5
    assert not any(view.mean() > 230 for view in without)


def test_grass_share_adds_dense_grass_and_leaves_the_other_scenes_as_they_were():
    plain = scenes(6, seed=4, height=120, width=160)
    mixed = scenes(6, seed=4, height=120, width=160, grass=0.5)
    same = [np.array_equal(a, b) for a, b in zip(plain, mixed)]
    assert 0 < sum(same) < 6  # some scenes became grass, the rest are unchanged (old recipes reproduce)
    assert np.array_equal(mixed[0], scenes(6, seed=4, height=120, width=160, grass=0.5)[0])


def test_grass_scenes_are_pale_and_full_of_blades_leaning_one_way():
    image = scene(np.random.default_rng(1), 240, 320, grass=True).astype(np.float32) / 255
    assert image.mean() > 0.4  # bright and pale, as the meadow and dune photos rain was seen on
    gray = image.mean(axis=2)
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    strong = np.hypot(gx, gy) > 0.2
    assert strong.mean() > 0.01  # many blade edges
    # Edges of blades that lean one way share one orientation: the structure tensor is far from isotropic.
    jxx, jyy, jxy = (gx * gx)[strong].sum(), (gy * gy)[strong].sum(), (gx * gy)[strong].sum()
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / (jxx + jyy)
    assert coherence > 0.5
