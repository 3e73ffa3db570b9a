"""Calibrating the perceiver's per-kind thresholds: clean photos read as clean, at the least F1 cost."""

from __future__ import annotations

import numpy as np

from uhdrestore.perceive.model import PERCEIVED_KINDS
from uhdrestore.train.perceiver_calibration import calibrate_thresholds

RAIN, HAZE = PERCEIVED_KINDS.index("rain"), PERCEIVED_KINDS.index("haze")


def examples(seed: int = 0, clean: int = 200, each: int = 100):
    """Clean examples whose haze probability runs high on a fifth of them, and rain and haze examples."""
    rng = np.random.default_rng(seed)
    count = clean + 2 * each
    probabilities = rng.uniform(0.0, 0.2, (count, len(PERCEIVED_KINDS)))
    truth = np.zeros_like(probabilities, dtype=bool)
    is_clean = np.arange(count) < clean
    probabilities[: clean // 5, HAZE] = rng.uniform(0.55, 0.75, clean // 5)  # pale clean photos read as hazy
    probabilities[clean:clean + each, RAIN] = rng.uniform(0.3, 1.0, each)  # rain, some of it faint
    truth[clean:clean + each, RAIN] = True
    probabilities[clean + each:, HAZE] = rng.uniform(0.7, 1.0, each)
    truth[clean + each:, HAZE] = True
    return probabilities, truth, is_clean


def test_the_kind_that_flags_clean_photos_gets_a_higher_threshold_and_the_target_is_met():
    probabilities, truth, clean = examples()
    calibration = calibrate_thresholds(probabilities, truth, clean, target=0.03)
    assert calibration.clean_flagged <= 0.03
    assert calibration.thresholds[HAZE] > 0.7  # above the clean photos' haze readings
    assert calibration.thresholds[RAIN] <= 0.3  # faint rain is still found: no clean photo reads as rain
    assert calibration.kind_f1["rain"] == 1.0 and calibration.kind_f1["haze"] > 0.85


def test_with_no_clean_photo_flagged_each_kind_keeps_its_best_f1_threshold():
    probabilities, truth, clean = examples()
    probabilities[clean, HAZE] = 0.05
    calibration = calibrate_thresholds(probabilities, truth, clean, target=0.03)
    assert calibration.clean_flagged == 0.0
    assert calibration.kind_f1["rain"] == 1.0 and calibration.kind_f1["haze"] == 1.0
    strict, loose = (calibrate_thresholds(*examples(), target=target) for target in (0.0, 0.5))
    assert strict.clean_flagged == 0.0 and strict.thresholds[HAZE] >= loose.thresholds[HAZE]
    assert loose.kind_f1["haze"] >= strict.kind_f1["haze"]  # a target met already: F1 alone decides
