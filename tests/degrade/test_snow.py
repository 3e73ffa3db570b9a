"""Snow: brighter images with many small bright blobs, near flakes larger than far ones."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from tests.conftest import synthetic_photo
from uhdrestore.degrade import params_from_dict, params_to_dict
from uhdrestore.degrade.snow import STYLES, SnowLayer, SnowParams, apply, sample

DARK = np.full((96, 128, 3), 0.2, np.float32)


def snow(*layers: SnowLayer, veil: float = 0.0, seed: int = 1) -> SnowParams:
    return SnowParams(layers=layers, flake_colour=(0.97, 0.97, 1.0), veil=veil, veil_colour=(0.85, 0.85, 0.85),
                      seed=seed)


def layer(radius: float = 1.5, density: float = 0.003, streak: float = 0.0) -> SnowLayer:
    return SnowLayer(density=density, radius=radius, opacity=0.9, blur=0.5, streak=streak, angle=10.0)


def blobs(before: np.ndarray, after: np.ndarray) -> tuple[int, float]:
    """(number, median area in px) of connected regions brightened by more than 0.15."""
    mask = ((after - before).mean(axis=2) > 0.15).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return count - 1, float(np.median(areas)) if len(areas) else 0.0


def test_snow_brightens_with_many_small_bright_blobs():
    snowy = apply(DARK, snow(layer()))
    assert (snowy >= DARK - 1e-6).all() and snowy.mean() > DARK.mean() + 0.005
    count, median_area = blobs(DARK, snowy)
    assert count >= 15
    assert median_area <= 40


def test_near_flakes_are_larger_than_far_ones():
    _, far = blobs(DARK, apply(DARK, snow(layer(radius=0.8, density=0.004))))
    _, near = blobs(DARK, apply(DARK, snow(layer(radius=4.0, density=0.0008))))
    assert near > 3 * far


def test_streaked_flakes_are_elongated():
    snowy = apply(DARK, snow(layer(radius=1.5, density=0.001, streak=12.0)))
    mask = ((snowy - DARK).mean(axis=2) > 0.02).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    heights, widths = stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_WIDTH]
    assert np.median(heights / widths) > 1.8  # fall direction is 10 degrees from vertical


def test_the_veil_brightens_everything():
    veiled = apply(DARK, snow(layer(density=0.0), veil=0.3))
    assert np.allclose(veiled, 0.2 + 0.3 * (0.85 - 0.2), atol=1e-6)


def test_the_seed_places_the_flakes():
    assert not np.array_equal(apply(DARK, snow(layer(), seed=1)), apply(DARK, snow(layer(), seed=2)))


def test_sampled_snow_has_far_and_near_layers_and_a_growing_veil():
    for seed in range(10):
        light, heavy = (sample(np.random.default_rng(seed), severity) for severity in (0.0, 1.0))
        for params in (light, heavy):
            assert 2 <= len(params.layers) <= 3
            far, near = params.layers[0], params.layers[-1]
            assert far.density > near.density and far.radius < near.radius
        assert light.veil == 0.0 < heavy.veil
        assert sum(x.density for x in heavy.layers) > sum(x.density for x in light.layers)


PHOTO = synthetic_photo(128, 160, seed=8)


def test_sparkle_snow_is_small_speckles_everywhere():
    params = sample(np.random.default_rng(0), 0.5, style="sparkle")
    sparkly = apply(DARK, dataclasses.replace(params, cast=(1.0, 1.0, 1.0), veil=0.0))
    count, median_area = blobs(DARK, sparkly)
    assert count >= 100 and median_area <= 4  # many one-to-few-pixel glints
    covered = (sparkly - DARK).mean(axis=2) > 0.15
    rows, cols = np.nonzero(covered)
    assert np.ptp(rows) > 0.8 * DARK.shape[0] and np.ptp(cols) > 0.8 * DARK.shape[1]  # everywhere


def test_sparkle_snow_casts_a_tint_over_the_photo():
    shifts = []
    for seed in range(6):
        tinted = apply(PHOTO, sample(np.random.default_rng(seed), 0.5, style="sparkle"))
        red_minus_blue = tinted[..., 0].mean() - tinted[..., 2].mean()
        shifts.append(red_minus_blue - (PHOTO[..., 0].mean() - PHOTO[..., 2].mean()))
    assert all(abs(shift) > 0.02 for shift in shifts)  # bluish (negative) or warm (positive)


def test_a_cast_scales_the_channels():
    cast = dataclasses.replace(snow(layer(density=0.0)), cast=(0.9, 1.0, 1.1))
    out = apply(DARK, cast)
    assert np.allclose(out[0, 0], [0.18, 0.2, 0.22], atol=1e-6)


@pytest.mark.parametrize("style", STYLES)
def test_every_style_grows_with_severity_and_repeats_with_its_seed(style):
    for seed in range(3):
        light, heavy = (sample(np.random.default_rng(seed), severity, style=style) for severity in (0.0, 1.0))
        assert np.abs(apply(PHOTO, heavy) - PHOTO).mean() > np.abs(apply(PHOTO, light) - PHOTO).mean()
        again = sample(np.random.default_rng(seed), 1.0, style=style)
        assert again == heavy and np.array_equal(apply(PHOTO, again), apply(PHOTO, heavy))


def test_about_a_third_of_sampled_snow_is_tinted_sparkle():
    drawn = [sample(np.random.default_rng(seed), 0.5) for seed in range(300)]
    # sparkle layers share one fall angle exactly; flake layers jitter theirs
    sparkled = [params for params in drawn if params.layers[0].angle == params.layers[1].angle]
    assert all(params.cast != (1.0, 1.0, 1.0) and params.layers[0].radius < 0.65 for params in sparkled)
    assert 0.22 < len(sparkled) / len(drawn) < 0.38


def test_crisp_snow_is_sparse_sharp_flakes_on_an_untouched_photo():
    params = sample(np.random.default_rng(2), 0.5, style="crisp")
    assert params.veil == 0.0 and params.cast == (1.0, 1.0, 1.0)
    changed = np.abs(apply(PHOTO, params) - PHOTO).max(axis=2)
    assert 0.003 < (changed > 0.02).mean() < 0.08  # sparse: most of the photo is exactly as it was
    assert (changed > 0.02).sum() and np.median(changed[changed > 0.02]) > 0.1  # and the flakes are opaque


def test_crisp_snow_is_made_only_when_asked_for():
    drawn = [sample(np.random.default_rng(seed), 0.5) for seed in range(200)]
    # flakes always carry a veil at this severity, sparkle always a cast; crisp has neither
    assert all(params.veil > 0 or params.cast != (1.0, 1.0, 1.0) for params in drawn)


def test_params_round_trip_and_old_params_keep_their_meaning():
    params = sample(np.random.default_rng(3), 0.8, style="sparkle")
    assert params_from_dict(json.loads(json.dumps(params_to_dict(params)))) == params
    old = params_to_dict(snow(layer(), veil=0.2))
    del old["cast"]  # written before the field existed
    assert np.array_equal(apply(PHOTO, params_from_dict(old)), apply(PHOTO, snow(layer(), veil=0.2)))


def test_bad_params_are_rejected_with_their_value():
    with pytest.raises(ValueError, match="'hail'"):
        sample(np.random.default_rng(0), 0.5, style="hail")
    with pytest.raises(ValueError, match="cast"):
        dataclasses.replace(snow(layer()), cast=(2.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="layers"):
        snow()
    with pytest.raises(ValueError, match="1.5"):
        SnowLayer(density=0.01, radius=1.0, opacity=1.5, blur=0.0, streak=0.0, angle=0.0)
