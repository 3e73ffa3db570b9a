"""Low light: darker by about the exposure factor, with noise and 8-bit levels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.conftest import synthetic_photo
from uhdrestore.degrade.lowlight import LowLightParams, apply, darken, sample

PHOTO = synthetic_photo(96, 128, seed=6)


def lowlight(exposure: float = 0.2, **changes: object) -> LowLightParams:
    params = LowLightParams(exposure=exposure, gamma=1.2, cast=(1.0, 1.0, 1.0), shot_gain=0.004, read_sigma=0.01,
                            channel_correlation=0.0, quantize=False, seed=3)
    return dataclasses.replace(params, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("severity", [0.0, 0.5, 1.0])
def test_sampled_lowlight_darkens_by_about_the_exposure(seed, severity):
    params = sample(np.random.default_rng(seed), severity)
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


def test_heavier_severity_is_darker_and_noisier():
    for seed in range(10):
        light, heavy = (sample(np.random.default_rng(seed), severity) for severity in (0.0, 1.0))
        assert heavy.exposure < light.exposure
        assert heavy.read_sigma > light.read_sigma and heavy.shot_gain > light.shot_gain
    assert sample(np.random.default_rng(0), 1.0).exposure < 0.07


def test_bad_params_are_rejected_with_their_value():
    with pytest.raises(ValueError, match="0.5"):
        lowlight(gamma=0.5)
    with pytest.raises(ValueError, match="cast"):
        lowlight(cast=(2.0, 1.0, 1.0))
