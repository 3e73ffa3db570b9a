"""Rain: bright streaks along the fall angle, and a veil that grows with severity."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from tests.conftest import synthetic_photo
from uhdrestore.degrade import params_from_dict, params_to_dict
from uhdrestore.degrade.rain import STYLES, RainLayer, RainParams, apply, sample, streaks


def rain(angle: float = 0.0, *, blend: str = "screen", veil: float = 0.0, seed: int = 1,
         length: float = 30.0) -> RainParams:
    layer = RainLayer(density=0.004, length=length, angle=angle, width=1, brightness=0.6, blur=0.5)
    return RainParams(layers=(layer,), blend=blend, veil=veil, veil_colour=(0.8, 0.8, 0.8), seed=seed)


def dominant_gradient_orientation(image: np.ndarray) -> float:
    """Degrees in [0, 180): peak of the magnitude-weighted histogram of gradient orientations."""
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    orientation = np.degrees(np.arctan2(gy, gx)) % 180
    histogram, edges = np.histogram(orientation, bins=36, range=(0, 180), weights=np.hypot(gx, gy))
    return float(edges[np.argmax(histogram)] + 2.5)


@pytest.mark.parametrize("blend", ["screen", "add"])
def test_streaks_only_brighten_without_a_veil(blend):
    photo = synthetic_photo(96, 128, seed=5)
    rainy = apply(photo, rain(blend=blend))
    assert (rainy >= photo - 1e-6).all()
    assert rainy.mean() > photo.mean() + 0.01
    changed = (rainy - photo).max(axis=2) > 0.05
    assert 0.03 < changed.mean() < 0.6  # streaks, not a wash


@pytest.mark.parametrize("angle", [-25.0, 0.0, 20.0])
def test_streaks_are_oriented_along_the_angle(angle):
    grey = np.full((128, 128, 3), 0.3, np.float32)
    difference = (apply(grey, rain(angle)) - grey).mean(axis=2)
    # a streak heading (sin a, cos a) in (x, y) has its gradient across it, at -a degrees
    expected = -angle % 180
    error = abs((dominant_gradient_orientation(difference) - expected + 90) % 180 - 90)
    assert error <= 10


def test_streaks_are_longer_than_wide():
    layer = streaks(128, 128, rain(0.0, length=40.0))[..., 0]
    vertical = float(np.abs(np.diff(layer, axis=0)).mean())
    horizontal = float(np.abs(np.diff(layer, axis=1)).mean())
    assert horizontal > 3 * vertical


def test_the_seed_places_the_drops():
    grey = np.full((64, 64, 3), 0.3, np.float32)
    assert not np.array_equal(apply(grey, rain(seed=1)), apply(grey, rain(seed=2)))


def test_the_veil_lifts_dark_pixels_towards_its_colour():
    black = np.zeros((64, 64, 3), np.float32)
    veiled = apply(black, rain(veil=0.5, blend="add"))
    assert np.median(veiled) == pytest.approx(0.4, abs=0.01)


def test_sampled_rain_grows_with_severity():
    for seed in range(10):
        light, heavy = (sample(np.random.default_rng(seed), severity, style="streaks") for severity in (0.0, 1.0))
        assert light.veil == 0.0 < heavy.veil
        assert 1 <= len(light.layers) <= 3 and 1 <= len(heavy.layers) <= 3
        angles = [layer.angle for layer in heavy.layers]
        assert max(angles) - min(angles) <= 10  # a shared angle with a small jitter
        assert all(layer.width in (1, 2, 3) for layer in heavy.layers)
    light_mean = np.mean([sum(layer.brightness for layer in sample(np.random.default_rng(s), 0.0).layers)
                          for s in range(20)])
    heavy_mean = np.mean([sum(layer.brightness for layer in sample(np.random.default_rng(s), 1.0).layers)
                          for s in range(20)])
    assert heavy_mean > light_mean


PHOTO = synthetic_photo(128, 160, seed=7)


def contrast(image: np.ndarray) -> float:
    return float(image.mean(axis=2).std())


def test_veil_heavy_rain_is_a_bright_low_contrast_mist():
    for seed in range(3):
        streaky, veiled = (apply(PHOTO, sample(np.random.default_rng(seed), 0.5, style=style))
                           for style in ("streaks", "veil_heavy"))
        assert contrast(veiled) < 0.8 * contrast(streaky) and contrast(veiled) < 0.8 * contrast(PHOTO)
        dark = PHOTO.mean(axis=2) < 0.25
        assert veiled[dark].mean() > streaky[dark].mean() + 0.1  # dark pixels lifted towards the airlight


def test_dense_long_rain_covers_more_with_longer_streaks():
    for seed in range(3):
        ordinary, dense = (sample(np.random.default_rng(seed), 0.5, style=style) for style in ("streaks", "dense_long"))
        assert min(layer.length for layer in dense.layers) > max(layer.length for layer in ordinary.layers)
        covered = [float((streaks(128, 160, params) > 0.15).mean()) for params in (ordinary, dense)]
        assert covered[1] > 1.2 * covered[0]


@pytest.mark.parametrize("style", STYLES)
def test_every_style_grows_with_severity_and_repeats_with_its_seed(style):
    for seed in range(3):
        light, heavy = (sample(np.random.default_rng(seed), severity, style=style) for severity in (0.0, 1.0))
        assert heavy.veil > light.veil or style == "sharp"  # sharp rain has no veil at any severity
        assert np.abs(apply(PHOTO, heavy) - PHOTO).mean() > np.abs(apply(PHOTO, light) - PHOTO).mean()
        again = sample(np.random.default_rng(seed), 1.0, style=style)
        assert again == heavy and np.array_equal(apply(PHOTO, again), apply(PHOTO, heavy))


def test_sharp_rain_is_unsoftened_1_px_streaks_without_a_veil_and_only_when_asked_for():
    for seed in range(5):
        params = sample(np.random.default_rng(seed), 0.5, style="sharp")
        assert params.veil == 0 and params.mist_blur == 0
        assert all(layer.width == 1 and layer.blur == 0 and 10 <= layer.length <= 40 * 1.4 for layer in params.layers)
    drawn = [sample(np.random.default_rng(seed), 0.5) for seed in range(300)]
    assert not any(params.veil == 0 and all(layer.blur == 0 for layer in params.layers) for params in drawn)


def test_about_a_third_of_sampled_rain_is_dense_long_or_veil_heavy():
    drawn = [sample(np.random.default_rng(seed), 0.5) for seed in range(300)]
    misty = np.mean([params.mist_blur > 0 for params in drawn])
    long = np.mean([min(layer.length for layer in params.layers) > 40 for params in drawn])
    assert 0.09 < misty < 0.22 and 0.09 < long < 0.22


def test_the_veil_varies_in_sheets_without_moving_the_drops():
    uniform, sheets = rain(veil=0.4), dataclasses.replace(rain(veil=0.4), veil_variation=0.8)
    assert np.array_equal(streaks(96, 128, uniform), streaks(96, 128, sheets))
    dry = dataclasses.replace(sheets, layers=(dataclasses.replace(sheets.layers[0], density=0.0),))
    lifted = apply(np.zeros((96, 128, 3), np.float32), dry).mean(axis=2)  # the veil alone: 0.8 x strength
    assert lifted.std() > 0.05 and lifted.max() > 0.45 > 0.2 > lifted.min()
    assert abs(float(lifted.mean()) - 0.8 * 0.4) < 0.06


def test_params_round_trip_and_old_params_keep_their_meaning():
    params = sample(np.random.default_rng(3), 0.8, style="veil_heavy")
    assert params_from_dict(json.loads(json.dumps(params_to_dict(params)))) == params
    old = params_to_dict(rain(veil=0.3))
    del old["mist_blur"], old["veil_variation"]  # written before these fields existed
    assert np.array_equal(apply(PHOTO, params_from_dict(old)), apply(PHOTO, rain(veil=0.3)))


def test_bad_params_are_rejected_with_their_value():
    with pytest.raises(ValueError, match="'drizzle'"):
        sample(np.random.default_rng(0), 0.5, style="drizzle")
    with pytest.raises(ValueError, match="25"):
        dataclasses.replace(rain(), mist_blur=25.0)
    with pytest.raises(ValueError, match="'multiply'"):
        rain(blend="multiply")
    with pytest.raises(ValueError, match="layers"):
        RainParams(layers=(), blend="add", veil=0.0, veil_colour=(0.8, 0.8, 0.8), seed=0)
    with pytest.raises(ValueError, match="85"):
        rain(85.0)
