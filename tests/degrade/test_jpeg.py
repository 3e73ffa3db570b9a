"""JPEG: lower quality costs more PSNR and shows 8x8 blocks; colours keep their channels."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import psnr, synthetic_photo
from uhdrestore.degrade.jpeg import JpegParams, apply, sample

PHOTO = synthetic_photo(96, 128, seed=7)


def blockiness(image: np.ndarray) -> float:
    """Mean jump across 8x8 block boundaries over the mean jump inside blocks (about 1 when unblocked)."""
    luma = image.mean(axis=2)
    ratios = []
    for jumps in (np.abs(np.diff(luma, axis=1)), np.abs(np.diff(luma, axis=0)).T):  # across columns, then rows
        inside = np.delete(jumps, np.s_[7::8], axis=1).mean()
        ratios.append(jumps[:, 7::8].mean() / max(inside, 1e-6))
    return float(np.mean(ratios))


def test_lower_quality_costs_more_psnr():
    scores = [psnr(apply(PHOTO, JpegParams(quality=quality, subsampling=True)), PHOTO) for quality in (95, 50, 10)]
    assert scores[0] > scores[1] + 1 > scores[2] + 2


def test_low_quality_shows_8x8_blocks():
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    smooth = np.stack([x / 128, y / 96, 0.5 + 0.3 * np.sin(x / 20 + y / 30)], axis=2).astype(np.float32)
    assert blockiness(smooth) < 1.2
    assert blockiness(apply(smooth, JpegParams(quality=10, subsampling=True))) > 2.0
    assert blockiness(apply(smooth, JpegParams(quality=95, subsampling=True))) < 1.5


def test_4_4_4_keeps_colour_better_than_4_2_0():
    subsampled = psnr(apply(PHOTO, JpegParams(quality=95, subsampling=True)), PHOTO)
    full = psnr(apply(PHOTO, JpegParams(quality=95, subsampling=False)), PHOTO)
    assert full > subsampled + 0.5


def test_rgb_order_is_kept():
    red = np.zeros((32, 32, 3), np.float32)
    red[..., 0] = 0.9
    out = apply(red, JpegParams(quality=50, subsampling=True))
    assert abs(out[..., 0].mean() - 0.9) < 0.03 and out[..., 2].mean() < 0.03


def test_sampled_quality_follows_severity():
    for seed in range(20):
        light, heavy = (sample(np.random.default_rng(seed), severity).quality for severity in (0.0, 1.0))
        assert 90 <= light <= 95 and 10 <= heavy <= 15
    assert {sample(np.random.default_rng(seed), 0.5).subsampling for seed in range(20)} == {True, False}


@pytest.mark.parametrize("quality", [0, 101, 50.0, True])
def test_bad_quality_is_rejected_with_its_value(quality):
    with pytest.raises(ValueError, match=repr(quality)):
        JpegParams(quality=quality, subsampling=True)  # type: ignore[arg-type]
