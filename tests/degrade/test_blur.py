"""Blur: normalised kernels of the right size, and less high-frequency energy."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import synthetic_photo
from uhdrestore.degrade.blur import KERNELS, BlurParams, apply, kernel, sample


def blur(psf: str, size: float, *, aspect: float = 1.0, angle: float = 0.0, shake: float = 0.5,
         seed: int = 0) -> BlurParams:
    return BlurParams(psf=psf, size=size, aspect=aspect, angle=angle, shake=shake, seed=seed)


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the luminance: high-frequency energy."""
    return float(cv2.Laplacian(image.mean(axis=2), cv2.CV_32F).var())


@pytest.mark.parametrize("seed", range(6))
def test_sampled_kernels_are_normalised_odd_squares(seed):
    for severity in (0.0, 0.5, 1.0):
        psf = kernel(sample(np.random.default_rng(seed), severity))
        assert psf.ndim == 2 and psf.shape[0] == psf.shape[1] and psf.shape[0] % 2 == 1
        assert psf.min() >= 0 and abs(float(psf.sum(dtype=np.float64)) - 1) < 1e-5


@pytest.mark.parametrize("params", [blur("motion", 15), blur("defocus", 4), blur("gaussian", 2, aspect=0.4, angle=30)])
def test_blur_lowers_high_frequency_energy(params):
    photo = synthetic_photo(96, 128, seed=2)
    blurred = apply(photo, params)
    assert sharpness(blurred) < 0.5 * sharpness(photo)
    assert abs(float(blurred.mean() - photo.mean())) < 0.01  # a normalised kernel keeps the mean


@pytest.mark.parametrize("psf", KERNELS)
def test_bigger_kernels_blur_more(psf):
    photo = synthetic_photo(96, 128, seed=2)
    small, large = (sharpness(apply(photo, blur(psf, size))) for size in (1.5, 6.0))
    assert large < small < sharpness(photo)


def test_flat_images_stay_flat():
    flat = np.full((40, 50, 3), 0.3, np.float32)
    for psf in KERNELS:
        assert np.abs(apply(flat, blur(psf, 7.0)) - flat).max() < 1e-5


def test_straight_motion_is_a_line_along_the_angle():
    vertical = kernel(blur("motion", 15, angle=0, shake=0))
    centre = vertical.shape[1] // 2
    assert vertical[:, centre - 1:centre + 2].sum() > 0.99
    assert (vertical[:, centre] > 0).sum() >= 14
    horizontal = kernel(blur("motion", 15, angle=90, shake=0))
    assert horizontal[centre - 1:centre + 2, :].sum() > 0.99


def test_motion_length_sets_the_kernel_extent_and_the_seed_its_path():
    short, long = kernel(blur("motion", 5, shake=0.3)), kernel(blur("motion", 25, shake=0.3))
    assert long.shape[0] > short.shape[0]
    assert long.shape[0] <= 27
    shaken = [kernel(blur("motion", 20, shake=1.0, seed=seed)) for seed in (1, 2)]
    assert shaken[0].shape != shaken[1].shape or not np.array_equal(*shaken)


def test_defocus_is_a_disc_of_the_given_radius():
    psf = kernel(blur("defocus", 5.0))
    assert psf.shape == (11, 11)
    centre = psf[5, 5]
    assert np.allclose(psf[5, 1:10], centre)  # flat inside the disc
    assert psf[0, 0] == 0


def test_sampled_sizes_follow_severity():
    for seed in range(20):
        light, heavy = (sample(np.random.default_rng(seed), severity) for severity in (0.0, 1.0))
        assert light.psf == heavy.psf and light.size < heavy.size
        limit = {"motion": 25.0, "defocus": 8.0, "gaussian": 4.0}[heavy.psf]
        assert 0.8 * limit <= heavy.size <= limit


def test_bad_params_are_rejected_with_their_value():
    with pytest.raises(ValueError, match="'box'"):
        blur("box", 3)
    with pytest.raises(ValueError, match="100"):
        blur("motion", 100)
