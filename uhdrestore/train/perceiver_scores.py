"""How well the perceiver reads labelled examples: per-kind F1, clean-vs-degraded accuracy, tiers.

A kind counts as detected at its threshold (the model config's detection_thresholds, 0.5
before calibration); a photo counts as clean ("high") exactly when no kind is detected, else
its tier is the likelier of low and medium (`decide_tiers`: the same rules `inspect` and
`batch --skip-clean` use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..perceive.inspect import DETECTION_THRESHOLD, decide_tiers, detect
from ..perceive.model import PERCEIVED_KINDS, TIERS, Perceiver
from .perceiver_examples import ExampleSet

__all__ = ["DETECTION_THRESHOLD", "Predictions", "Scores", "f1_score", "predict", "score_examples"]

HIGH = TIERS.index("high")


@dataclass
class Predictions:
    kind_probabilities: np.ndarray  # (N, kinds)
    severity: np.ndarray  # (N,)
    tier: np.ndarray  # (N,) index into TIERS, by decide_tiers
    embedding: np.ndarray  # (N, E)


@dataclass
class Scores:
    kind_f1: dict[str, float]
    clean_accuracy: float  # clean vs degraded, over every example
    clean_confusion: list[list[int]]  # rows: truly clean, truly degraded; columns: called clean, degraded
    tier_accuracy: float
    tier_confusion: list[list[int]]  # rows: true tier, columns: predicted tier (TIERS order)
    severity_mae: float
    examples: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind_f1": self.kind_f1, "clean_accuracy": self.clean_accuracy,
                "clean_confusion": self.clean_confusion, "tier_accuracy": self.tier_accuracy,
                "tier_confusion": self.tier_confusion, "severity_mae": self.severity_mae,
                "examples": self.examples}


@torch.no_grad()
def predict(model: Perceiver, examples: ExampleSet, batch_size: int = 256) -> Predictions:
    parts: list[list[np.ndarray]] = [[], [], [], []]
    for start in range(0, len(examples), batch_size):
        out = model(examples.view[start:start + batch_size].float() / 255,
                     examples.crops[start:start + batch_size].float() / 255)
        for part, value in zip(parts, (out.kind_probabilities, out.severity, out.tier_probabilities,
                                       out.embedding)):
            part.append(value.numpy())
    kinds, severity, tiers, embedding = (np.concatenate(part) for part in parts)
    return Predictions(kinds, severity, decide_tiers(kinds, tiers, model.config.detection_thresholds), embedding)


def f1_score(truth: np.ndarray, called: np.ndarray) -> float:
    """F1 of boolean calls; 1.0 when there is nothing to find and nothing was called."""
    hits = int(np.sum(truth & called))
    wrong = int(np.sum(~truth & called)) + int(np.sum(truth & ~called))
    return 1.0 if hits + wrong == 0 else 2 * hits / (2 * hits + wrong)


def confusion(truth: np.ndarray, called: np.ndarray, classes: int) -> list[list[int]]:
    table = np.zeros((classes, classes), int)
    np.add.at(table, (truth, called), 1)
    return table.tolist()


def score_examples(model: Perceiver, examples: ExampleSet) -> Scores:
    predictions = predict(model, examples)
    known = examples.kinds_known.numpy()
    truth_kinds = examples.kinds.numpy()[known] > 0.5
    called_kinds = detect(predictions.kind_probabilities[known], model.config.detection_thresholds)
    kind_f1 = {kind: round(f1_score(truth_kinds[:, i], called_kinds[:, i]), 4)
               for i, kind in enumerate(PERCEIVED_KINDS)}
    true_tier = examples.tier.numpy()
    truly_degraded = (true_tier != HIGH).astype(int)
    called_degraded = (predictions.tier != HIGH).astype(int)
    return Scores(
        kind_f1=kind_f1,
        clean_accuracy=round(float(np.mean(truly_degraded == called_degraded)), 4),
        clean_confusion=confusion(truly_degraded, called_degraded, 2),
        tier_accuracy=round(float(np.mean(true_tier == predictions.tier)), 4),
        tier_confusion=confusion(true_tier, predictions.tier, len(TIERS)),
        severity_mae=round(float(np.mean(np.abs(predictions.severity[known] - examples.severity.numpy()[known]))),
                           4),
        examples=len(examples))
