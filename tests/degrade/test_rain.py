"""Rain: bright streaks along the fall angle, and a veil that grows with severity."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import synthetic_photo
from uhdrestore.degrade.rain import RainLayer, RainParams, apply, sample, streaks


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
        light, heavy = (sample(np.random.default_rng(seed), severity) for severity in (0.0, 1.0))
        assert light.veil == 0.0 < heavy.veil
        assert 1 <= len(light.layers) <= 3 and 1 <= len(heavy.layers) <= 3
        angles = [layer.angle for layer in heavy.layers]
        assert max(angles) - min(angles) <= 10  # a shared angle with a small jitter
        assert all(layer.width in (1, 2, 3) for layer in heavy.layers)
    light_mean = np.mean([sum(layer.brightness for layer in sample(np.random.default_rng(s), 0.0).layers)
                          for s in range(10)])
    heavy_mean = np.mean([sum(layer.brightness for layer in sample(np.random.default_rng(s), 1.0).layers)
                          for s in range(10)])
    assert heavy_mean > light_mean


def test_bad_params_are_rejected_with_their_value():
    with pytest.raises(ValueError, match="'multiply'"):
        rain(blend="multiply")
    with pytest.raises(ValueError, match="layers"):
        RainParams(layers=(), blend="add", veil=0.0, veil_colour=(0.8, 0.8, 0.8), seed=0)
    with pytest.raises(ValueError, match="85"):
        rain(85.0)
