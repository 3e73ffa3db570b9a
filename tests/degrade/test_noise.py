"""Noise: the measured std matches the requested sigma, shot noise grows with the signal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uhdrestore.degrade.noise import NoiseParams, apply, sample

GREY = np.full((96, 128, 3), 0.5, np.float32)


def gaussian(sigma: float, correlation: float = 0.0, grain: float = 0.0, seed: int = 1) -> NoiseParams:
    return NoiseParams(model="gaussian", sigma=sigma, gain=0.0, channel_correlation=correlation, grain=grain,
                       seed=seed)


@pytest.mark.parametrize("sigma", [10 / 255, 50 / 255])
def test_gaussian_std_matches_sigma_on_mid_grey(sigma):
    residual = apply(GREY, gaussian(sigma)) - GREY
    assert abs(residual.std() / sigma - 1) < 0.05
    assert abs(residual.mean()) < 0.05 * sigma


@pytest.mark.parametrize("correlation, grain", [(1.0, 0.0), (0.5, 0.0), (0.0, 1.0), (0.7, 0.6)])
def test_std_is_kept_with_channel_correlation_and_grain(correlation, grain):
    sigma = 20 / 255
    residual = apply(GREY, gaussian(sigma, correlation, grain)) - GREY
    assert abs(residual.std() / sigma - 1) < 0.05


@pytest.mark.parametrize("correlation", [0.0, 0.5, 1.0])
def test_channel_correlation_is_what_was_asked(correlation):
    residual = (apply(GREY, gaussian(20 / 255, correlation)) - GREY).reshape(-1, 3)
    measured = np.corrcoef(residual.T)[0, 1]
    assert abs(measured - correlation) < 0.03


def test_grain_correlates_neighbouring_pixels():
    white = apply(GREY, gaussian(20 / 255)) - GREY
    grainy = apply(GREY, gaussian(20 / 255, grain=1.0)) - GREY

    def neighbour_correlation(noise: np.ndarray) -> float:
        return float(np.corrcoef(noise[:, :-1, 0].ravel(), noise[:, 1:, 0].ravel())[0, 1])

    assert abs(neighbour_correlation(white)) < 0.05
    assert neighbour_correlation(grainy) > 0.5


def test_poisson_gaussian_noise_grows_with_brightness():
    image = np.concatenate([np.full((96, 64, 3), 0.1, np.float32), np.full((96, 64, 3), 0.7, np.float32)], axis=1)
    params = NoiseParams(model="poisson_gaussian", sigma=0.01, gain=0.004, channel_correlation=0.0, grain=0.0,
                         seed=3)
    residual = apply(image, params) - image
    dark, bright = residual[:, :64].std(), residual[:, 64:].std()
    assert abs(dark / math.sqrt(0.01**2 + 0.004 * 0.1) - 1) < 0.05
    assert abs(bright / math.sqrt(0.01**2 + 0.004 * 0.7) - 1) < 0.05
    assert bright > 2 * dark


def test_the_seed_picks_the_realisation():
    first = apply(GREY, gaussian(0.05, seed=1))
    assert np.array_equal(first, apply(GREY, gaussian(0.05, seed=1)))
    assert not np.array_equal(first, apply(GREY, gaussian(0.05, seed=2)))


@pytest.mark.parametrize("severity, low, high", [(0.0, 4 / 255, 5 / 255), (1.0, 42 / 255, 50 / 255)])
def test_sampled_std_on_mid_grey_follows_severity(severity, low, high):
    models = set()
    for seed in range(20):
        params = sample(np.random.default_rng(seed), severity)
        models.add(params.model)
        total = math.sqrt(params.sigma**2 + params.gain * 0.5)
        assert low - 1e-9 <= total <= high + 1e-9
    assert models == {"gaussian", "poisson_gaussian"}


def test_bad_params_are_rejected_with_their_value():
    with pytest.raises(ValueError, match="'salt'"):
        NoiseParams(model="salt", sigma=0.1, gain=0.0, channel_correlation=0.0, grain=0.0, seed=0)
    with pytest.raises(ValueError, match="-0.1"):
        gaussian(-0.1)
    with pytest.raises(ValueError, match="gain"):
        NoiseParams(model="gaussian", sigma=0.1, gain=0.2, channel_correlation=0.0, grain=0.0, seed=0)
