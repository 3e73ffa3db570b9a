"""Haze: the scattering model, lower contrast, a brighter dark channel, stronger with severity."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from tests.conftest import synthetic_photo
from uhdrestore.degrade.haze import HazeParams, apply, depth_map, sample

PHOTO = synthetic_photo(96, 128, seed=4)


def rms_contrast(image: np.ndarray) -> float:
    return float(image.mean(axis=2).std())


def dark_channel(image: np.ndarray) -> float:
    """Mean over the image of the 15x15 minimum of min(R, G, B)."""
    return float(cv2.erode(image.min(axis=2), np.ones((15, 15), np.uint8)).mean())


def haze(beta: float = 1.5, **changes: object) -> HazeParams:
    params = HazeParams(beta=beta, airlight=(0.9, 0.9, 0.92), near=0.2, gradient_weight=0.5, gradient_power=1.0,
                        field_weight=0.3, field_scale=0.5, luminance_weight=0.2, seed=7)
    return dataclasses.replace(params, **changes)  # type: ignore[arg-type]


def test_follows_the_scattering_model():
    params = haze(2.0)
    transmission = np.exp(-2.0 * depth_map(PHOTO, params))[..., None]
    expected = PHOTO * transmission + np.asarray(params.airlight, np.float32) * (1 - transmission)
    assert np.abs(apply(PHOTO, params) - expected).max() < 1e-5


def test_haze_lowers_contrast_and_raises_the_dark_channel():
    hazy = apply(PHOTO, haze(1.5))
    assert rms_contrast(hazy) < 0.8 * rms_contrast(PHOTO)
    assert dark_channel(hazy) > dark_channel(PHOTO) + 0.1


@pytest.mark.parametrize("seed", range(5))
def test_more_severity_means_more_haze(seed):
    light, heavy = (apply(PHOTO, sample(np.random.default_rng(seed), severity)) for severity in (0.1, 0.9))
    assert rms_contrast(heavy) < rms_contrast(light) < rms_contrast(PHOTO)
    assert dark_channel(heavy) > dark_channel(light) > dark_channel(PHOTO)


def test_depth_is_in_near_to_one_and_far_at_the_top():
    params = haze(field_weight=0.0, luminance_weight=0.0, gradient_weight=1.0)
    depth = depth_map(PHOTO, params)
    assert depth.shape == PHOTO.shape[:2] and depth.dtype == np.float32
    assert abs(depth.min() - 0.2) < 1e-6 and abs(depth.max() - 1.0) < 1e-6
    assert depth[0].mean() == pytest.approx(1.0) and depth[-1].mean() == pytest.approx(0.2)
    mixed = depth_map(PHOTO, haze())
    assert mixed.min() >= 0.2 - 1e-6 and mixed.max() <= 1.0 + 1e-6
    assert mixed[:20].mean() > mixed[-20:].mean()


def test_the_seed_moves_the_random_depth_field():
    field_only = haze(gradient_weight=0.0, luminance_weight=0.0, field_weight=1.0)
    first = depth_map(PHOTO, field_only)
    assert np.array_equal(first, depth_map(PHOTO, field_only))
    assert not np.allclose(first, depth_map(PHOTO, dataclasses.replace(field_only, seed=8)))


def test_sampled_params_stay_in_range():
    tints = set()
    for seed in range(30):
        for severity in (0.0, 1.0):
            params = sample(np.random.default_rng(seed), severity)
            assert 0.3 <= params.beta <= 3.5
            assert all(0.6 <= value <= 1.0 for value in params.airlight)
            total = params.gradient_weight + params.field_weight + params.luminance_weight
            assert total == pytest.approx(1.0)
        red, _, blue = params.airlight
        tints.add("grey" if red == blue else "blue" if blue > red else "yellow")
    assert tints == {"grey", "blue", "yellow"}
    assert sample(np.random.default_rng(0), 0.0).beta < 0.4
    assert sample(np.random.default_rng(0), 1.0).beta > 3.0


def test_bad_params_are_rejected_with_their_value():
    with pytest.raises(ValueError, match="-1"):
        haze(-1.0)
    with pytest.raises(ValueError, match="airlight"):
        haze(airlight=(1.2, 0.9, 0.9))
