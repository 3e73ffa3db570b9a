"""Per-kind detection thresholds, chosen on held-out examples so that clean photos read as clean.

One threshold for every kind is a poor compromise: some kinds run high on clean photos (haze on
pale scenes, low light on night shots) and flag them, while others could find more at a lower
threshold. `train-perceiver` calibrates on examples of photos it neither trains nor validates on:
each kind starts at the threshold that maximises its own F1; then, while more than `target` of the
clean examples are flagged by some kind, the kind that clears a clean false alarm at the least F1
cost has its threshold raised to the next value that clears one. The result is stored in the
perceiver's config (`detection_thresholds`), so `inspect`, `--guard` and `--skip-clean` use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..perceive.model import PERCEIVED_KINDS
from .perceiver_scores import f1_score

__all__ = ["GRID", "Calibration", "calibrate_thresholds"]

GRID = np.round(np.arange(0.2, 0.99, 0.01), 2)  # candidate thresholds


@dataclass(frozen=True)
class Calibration:
    thresholds: tuple[float, ...]  # PERCEIVED_KINDS order
    clean_flagged: float  # share of the clean calibration examples some kind still flags
    kind_f1: dict[str, float]  # on the calibration examples, at these thresholds
    examples: int

    def describe(self) -> str:
        pairs = ", ".join(f"{kind} {t:.2f}" for kind, t in zip(PERCEIVED_KINDS, self.thresholds))
        return (f"detection thresholds {pairs}, calibrated on {self.examples} examples of held-out photos "
                f"({self.clean_flagged:.1%} of their clean ones flagged)")


def calibrate_thresholds(probabilities: np.ndarray, truth: np.ndarray, clean: np.ndarray, *,
                         target: float) -> Calibration:
    """(N, kinds) probabilities, (N, kinds) true kinds and (N,) truly clean -> thresholds.

    Rows whose kinds are unknown (restored examples) should be left out by the caller.
    """
    probabilities, truth, clean = np.asarray(probabilities), np.asarray(truth, bool), np.asarray(clean, bool)
    called = probabilities[:, :, None] >= GRID  # (N, kinds, grid)
    f1 = np.array([[f1_score(truth[:, kind], called[:, kind, g]) for g in range(len(GRID))]
                   for kind in range(len(PERCEIVED_KINDS))])
    false_alarms = called[clean].sum(axis=0)  # (kinds, grid): clean examples each kind flags
    # The best F1 for each kind; among equals the highest threshold, which flags fewer clean photos.
    position = [len(GRID) - 1 - int(np.argmax(row[::-1])) for row in f1]

    def flagged() -> float:
        return float((probabilities[clean] >= GRID[position]).any(axis=1).mean()) if clean.any() else 0.0

    while flagged() > target:
        best: tuple[float, int, int] | None = None  # (F1 lost per false alarm cleared, kind, new position)
        for kind, at in enumerate(position):
            clearing = np.nonzero(false_alarms[kind, at + 1:] < false_alarms[kind, at])[0]
            if not len(clearing):
                continue
            to = at + 1 + int(clearing[0])
            cost = (f1[kind, at] - f1[kind, to]) / (false_alarms[kind, at] - false_alarms[kind, to])
            if best is None or cost < best[0]:
                best = (cost, kind, to)
        if best is None:  # every threshold at the top of the grid
            break
        position[best[1]] = best[2]
    return Calibration(thresholds=tuple(float(GRID[at]) for at in position), clean_flagged=round(flagged(), 4),
                       kind_f1={kind: round(float(f1[i, at]), 4)
                                for i, (kind, at) in enumerate(zip(PERCEIVED_KINDS, position))},
                       examples=len(probabilities))
