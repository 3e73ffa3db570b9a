"""Quality-aware training (`train --quality-loss λ`), Perceive-IR's idea adapted to a small restorer.

Two terms, both read by frozen networks:
- the perceiver's verdict on the output: 1 - P(high quality), Perceive-IR's CLIP-aware
  loss with our perceiver in place of CLIP prompts;
- a contrastive ratio in a perceptual feature space, Perceive-IR's difficulty-adaptive
  perceptual loss: D(out, clean) / (2 D(out, degraded) + a D(out, weaker)), pulling the
  output toward the clean patch and away from the degraded input and from what an earlier,
  weaker copy of the model made of it. `a` is 1.25 while the weaker copy is still worse
  than the model on the batch and 0.75 once it is not (a weak negative that is as good as
  the model is a poor thing to push away from), as Perceive-IR weighs its proxies.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..metrics import psnr
from ..perceive.model import TIERS, Perceiver
from .spn import FeatureSpace, feature_distance

__all__ = ["QualityLoss"]

HIGH = TIERS.index("high")
DEGRADED_WEIGHT = 2.0  # Perceive-IR's weight on the degraded input in the ratio's denominator
HARDER, EASIER = 1.25, 0.75


class QualityLoss(nn.Module):
    """λ · mean over the batch of [(1 - P_high(output)) + contrastive ratio]."""

    def __init__(self, perceiver: Perceiver, features: FeatureSpace, weight: float) -> None:
        super().__init__()
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"quality loss weight must be a finite number >= 0. Got {weight!r}")
        self.perceiver = perceiver.eval().requires_grad_(False)
        self.features, self.weight = features, weight

    def forward(self, output: torch.Tensor, clean: torch.Tensor, degraded: torch.Tensor,
                weaker: torch.Tensor) -> torch.Tensor:
        """The term to add to the training loss (exactly 0 when the weight is 0)."""
        if self.weight == 0:
            return output.new_zeros(())
        judged = self.perceiver.perceive(output.float().clamp(0, 1))
        not_high = 1 - judged.tier_probabilities[:, HIGH]
        output_levels = self.features(output)
        with torch.no_grad():
            difficulty = torch.where(psnr(weaker, clean) <= psnr(output, clean), HARDER, EASIER).float()
        ratio = feature_distance(self.features, output_levels, clean) / (
            DEGRADED_WEIGHT * feature_distance(self.features, output_levels, degraded)
            + difficulty * feature_distance(self.features, output_levels, weaker)).clamp_min(1e-6)
        return self.weight * (not_high + ratio).mean()
