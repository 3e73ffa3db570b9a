"""Low light: darker by about the exposure factor, with noise and 8-bit levels."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tests.conftest import synthetic_photo
from uhdrestore.degrade import params_from_dict, params_to_dict
from uhdrestore.degrade.lowlight import STYLES, LowLightParams, apply, darken, sample

PHOTO = synthetic_photo(96, 128, seed=6)


def lowlight(exposure: float = 0.2, **changes: object) -> LowLightParams:
    params = LowLightParams(exposure=exposure, gamma=1.2, cast=(1.0, 1.0, 1.0), shot_gain=0.004, read_sigma=0.01,
                            channel_correlation=0.0, quantize=False, seed=3)
    return dataclasses.replace(params, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("severity", [0.0, 0.5, 1.0])
def test_sampled_dark_lowlight_darkens_by_about_the_exposure(seed, severity):
    params = sample(np.random.default_rng(seed), severity, style="dark")
    assert params.contrast == 1.0
    assert 0.05 <= params.exposure <= 0.5 and params.gamma >= 1.0
    dark = apply(PHOTO, params)
    assert dark.mean() <= 1.2 * params.exposure * PHOTO.mean() + 0.01
    assert dark.mean() < PHOTO.mean()


def test_without_noise_it_is_exposure_gamma_and_cast():
    quiet = lowlight(shot_gain=0.0, read_sigma=0.0, cast=(1.1, 1.0, 0.9))
    expected = 0.2 * PHOTO**1.2 * np.array([1.1, 1.0, 0.9], np.float32)
    assert np.abs(apply(PHOTO, quiet) - expected).max() < 1e-5
    assert np.array_equal(darken(PHOTO, quiet), apply(PHOTO, quiet))


def test_it_adds_signal_dependent_noise():
    clean = darken(PHOTO, lowlight())
    residual = apply(PHOTO, lowlight()) - clean
    expected = np.sqrt(0.01**2 + 0.004 * clean)
    assert abs(float(residual.std()) / float(np.sqrt(np.mean(expected**2))) - 1) < 0.15
    assert residual.std() > 0.02


def test_quantize_rounds_to_8_bit_levels():
    levels = apply(PHOTO, lowlight(quantize=True)) * 255
    assert np.abs(levels - np.rint(levels)).max() < 1e-3


@pytest.mark.parametrize("style", STYLES)
def test_heavier_severity_is_darker_and_noisier(style):
    for seed in range(10):
        light, heavy = (sample(np.random.default_rng(seed), severity, style=style) for severity in (0.0, 1.0))
        assert heavy.exposure < light.exposure and heavy.contrast <= light.contrast
        assert heavy.read_sigma > light.read_sigma and heavy.shot_gain > light.shot_gain
        assert apply(PHOTO, heavy).mean() < apply(PHOTO, light).mean()
    assert sample(np.random.default_rng(0), 1.0, style="dark").exposure < 0.07


def flatness(image: np.ndarray) -> float:
    """Spread of the luminance relative to its mean: lower is flatter, whatever the brightness."""
    grey = image.mean(axis=2)
    return float(grey.std() / grey.mean())


@pytest.mark.parametrize("seed", range(4))
def test_dull_lowlight_is_flat_and_somewhat_dark_even_when_mild(seed):
    params = sample(np.random.default_rng(seed), 0.0, style="dull")
    assert params.contrast <= 0.9 and params.gamma >= 1.25 and 0.55 <= params.exposure <= 0.8
    dull = apply(PHOTO, params)
    assert dull.std() < 0.75 * PHOTO.std()  # the photo's contrast is gone
    assert 0.3 * PHOTO.mean() < dull.mean() < 0.85 * PHOTO.mean()  # darker, but not a night shot
    dark = apply(PHOTO, dataclasses.replace(params, contrast=1.0))
    assert dull.std() < dark.std()  # the contrast loss itself flattens it


def test_contrast_pulls_the_tone_curve_towards_mid_grey():
    quiet = lowlight(exposure=1.0, gamma=1.5, contrast=0.6, shot_gain=0.0, read_sigma=0.0)
    expected = 0.5 + 0.6 * (PHOTO**1.5 - 0.5)
    assert np.abs(apply(PHOTO, quiet) - expected).max() < 1e-5
    assert flatness(apply(PHOTO, quiet)) < flatness(apply(PHOTO, dataclasses.replace(quiet, contrast=1.0)))


def test_about_half_the_samples_lose_contrast():
    drawn = [sample(np.random.default_rng(seed), float(seed % 5) / 4) for seed in range(300)]
    assert 0.4 < np.mean([params.contrast < 1.0 for params in drawn]) < 0.6


def test_same_seed_same_pixels_and_params_round_trip():
    params = sample(np.random.default_rng(5), 0.3, style="dull")
    assert np.array_equal(apply(PHOTO, params), apply(PHOTO, sample(np.random.default_rng(5), 0.3, style="dull")))
    assert params_from_dict(json.loads(json.dumps(params_to_dict(params)))) == params
    old = params_to_dict(lowlight())
    del old["contrast"]  # written before the field existed
    assert np.array_equal(apply(PHOTO, params_from_dict(old)), apply(PHOTO, lowlight()))


def test_bad_params_are_rejected_with_their_value():
    with pytest.raises(ValueError, match="0.5"):
        lowlight(gamma=0.5)
    with pytest.raises(ValueError, match="cast"):
        lowlight(cast=(2.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="0.05"):
        lowlight(contrast=0.05)
    with pytest.raises(ValueError, match="'night'"):
        sample(np.random.default_rng(0), 0.5, style="night")


def test_dim_lowlight_is_the_mild_end_and_is_never_drawn_unless_asked_for():
    mild, heavy = (sample(np.random.default_rng(0), severity, style="dim") for severity in (0.0, 1.0))
    assert 0.8 <= mild.exposure <= 0.9 and 1.0 <= mild.gamma <= 1.25  # a photo a little too dark
    assert 0.5 <= heavy.exposure <= 0.6 and 1.5 <= heavy.gamma <= 1.7  # about x -> 0.6 x^1.5
    assert 0.35 * PHOTO.mean() < apply(PHOTO, heavy).mean() < apply(PHOTO, mild).mean() < PHOTO.mean()
    drawn = [sample(np.random.default_rng(seed), 0.5) for seed in range(40)]
    assert all(params.exposure < 0.8 and (params.contrast < 1 or params.exposure <= 0.5) for params in drawn)
