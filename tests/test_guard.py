"""The guard's tone keeping: a restorer's global change is undone, its fine detail kept, in every pixel format."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import synthetic_photo
from uhdrestore.guard import GuardVerdict, blend, guarded_restore, keep_tone
from uhdrestore.io import Image, from_float
from uhdrestore.perceive.inspect import Perception

CLEAN = synthetic_photo(96, 128)


def _psnr(image: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((image.astype(np.float64) - reference) ** 2)))


def test_keep_tone_undoes_a_cast_and_keeps_the_denoising():
    noisy = np.clip(CLEAN + np.random.default_rng(0).normal(0, 0.08, CLEAN.shape), 0, 1).astype(np.float32)
    # A restorer that removes the noise but gives the photo a dark brown cast, as v5 does to pale photos.
    cast = np.clip(CLEAN * np.array([0.8, 0.65, 0.5], np.float32), 0, 1)
    kept = keep_tone(Image(rgb=noisy, alpha=None), Image(rgb=cast, alpha=None)).rgb
    assert _psnr(cast, CLEAN) < _psnr(noisy, CLEAN) < _psnr(kept, CLEAN)
    assert np.abs(kept.mean(axis=(0, 1)) - noisy.mean(axis=(0, 1))).max() < 0.01  # the input's colour
    assert kept.std() < noisy.std() + 0.01 and np.abs(kept - CLEAN).mean() < np.abs(noisy - CLEAN).mean()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_keep_tone_keeps_the_bit_depth_range_alpha_and_a_gray_photo_gray(dtype):
    before = from_float(CLEAN, dtype)
    after = from_float(np.clip(CLEAN - 0.2, 0, 1), dtype)  # a global darkening, nothing else
    alpha = np.full(CLEAN.shape[:2] + (1,), 7, dtype)
    kept = keep_tone(Image(rgb=before, alpha=None), Image(rgb=after, alpha=alpha))
    assert kept.rgb.dtype == dtype and kept.rgb.shape == before.shape and kept.alpha is alpha
    scale = 1.0 if dtype == np.float32 else float(np.iinfo(dtype).max)
    assert abs(kept.rgb.astype(np.float64).mean() - before.astype(np.float64).mean()) / scale < 0.01
    gray = before[:, :, :1]
    assert keep_tone(Image(rgb=gray, alpha=None), Image(rgb=after[:, :, :1], alpha=None)).rgb.shape == gray.shape


def _verdict(action: str) -> GuardVerdict:
    kinds = dict.fromkeys(("rain", "haze", "noise", "blur", "snow", "lowlight"), 0.1)
    perception = Perception(kind_probabilities=kinds, severity=0.5, tier="low",
                            tier_probabilities={"low": 0.5, "medium": 0.2, "high": 0.3}, embedding=np.zeros(4))
    return GuardVerdict(perception, action)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_blend_keeps_that_share_of_the_change_in_the_input_format(dtype):
    before = from_float(CLEAN, dtype)
    after = from_float(np.clip(CLEAN * 0.5, 0, 1), dtype)  # an overshoot: the photo darkened by half
    alpha = np.full(CLEAN.shape[:2] + (1,), 7, dtype)
    scale = 1.0 if dtype == np.float32 else float(np.iinfo(dtype).max)
    half = blend(Image(rgb=before, alpha=None), Image(rgb=after, alpha=alpha), 0.5)
    assert half.rgb.dtype == dtype and half.alpha is alpha
    midway = (before.astype(np.float64) + after.astype(np.float64)) / 2
    assert np.abs(half.rgb.astype(np.float64) - midway).max() <= 0.5 + 1e-6 * scale  # rounding only
    assert _psnr(after.astype(np.float64) / scale, CLEAN) < _psnr(half.rgb.astype(np.float64) / scale, CLEAN)
    assert np.array_equal(blend(Image(rgb=before, alpha=None), Image(rgb=after, alpha=None), 0.0).rgb, before)
    whole = Image(rgb=after, alpha=None)
    assert blend(Image(rgb=before, alpha=None), whole, 1.0) is whole


def test_the_report_says_what_the_guard_did():
    assert _verdict("pass").report()["guarded"] is True
    kept = _verdict("keep_tone").report()
    assert kept["guarded"] is False and kept["tone_kept"] is True and kept["reason"] == "tone kept"
    assert _verdict("restore").report() | {"perception": None} == {"guarded": False, "tone_kept": False,
                                                                    "perception": None}


def test_without_a_perceiver_every_image_is_restored_as_it_comes():
    image = Image(rgb=from_float(CLEAN, np.uint8), alpha=None)
    darker = Image(rgb=image.rgb // 2, alpha=None)
    out, result, verdict = guarded_restore(lambda part: (darker, "result"), None, image)
    assert out is darker and result == "result" and verdict is None


def _perceived(**found: float) -> Perception:
    """A reading that detects exactly the kinds given (probability >= 0.5), with the tier that goes with it."""
    kinds = dict.fromkeys(("rain", "haze", "noise", "blur", "snow", "lowlight"), 0.1) | found
    tier = "high" if not found else "medium"
    return Perception(kind_probabilities=kinds, severity=0.0 if not found else 0.4, tier=tier,
                      tier_probabilities={"low": 0.1, "medium": 0.3, "high": 0.6}, embedding=np.zeros(4))


@pytest.mark.parametrize(("found", "action"), [
    ({}, "pass"), ({"blur": 0.9}, "pass"),  # clean, or only what the model does not undo: left as it was
    ({"blur": 0.9, "noise": 0.8}, "keep_tone"), ({"noise": 0.8}, "keep_tone"),
    ({"blur": 0.9, "rain": 0.7}, "restore"), ({"haze": 0.9}, "restore")])
def test_the_guard_restores_only_what_the_model_can_undo(monkeypatch, found, action):
    import uhdrestore.perceive.inspect as inspect

    monkeypatch.setattr(inspect, "perceive", lambda perceiver, image: _perceived(**found))
    image = Image(rgb=from_float(CLEAN, np.uint8), alpha=None)
    calls = []

    def darken(part: Image) -> tuple[Image, str]:
        calls.append(part)
        return Image(rgb=part.rgb // 2, alpha=None), "result"

    out, result, verdict = guarded_restore(darken, object(), image)  # type: ignore[arg-type]
    assert verdict is not None and verdict.action == action
    if action == "pass":
        assert not calls and result is None and np.array_equal(out.rgb, image.rgb) and out.rgb is not image.rgb
        assert verdict.report()["guarded"] is True
        assert verdict.report()["reason"] == ("blur only" if found else "clean")
    else:
        assert len(calls) == 1 and result == "result" and verdict.report()["guarded"] is False
