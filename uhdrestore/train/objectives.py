"""The loss a training step minimises: reconstruction, plus the SPN and quality-aware terms when on.

The auxiliary terms compare the output with lagged copies of the model (MCLIR's SPN,
train/spn.py) and ask the perceiver how clean it looks (Perceive-IR, train/quality.py);
both measure in one feature space, loaded once.
"""

from __future__ import annotations

import torch
from torch import nn

from ..runtime import Runtime
from .config import TrainConfig
from .losses import reconstruction_loss

__all__ = ["QUALITY_LAG", "Objectives", "build_objectives", "left_clean", "weighted_mean"]

QUALITY_LAG = 1000  # steps the quality loss's weaker copy of the model trails by (SPN's longest lag)


def left_clean(patch: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """(B,) True where the input is its own target: a sample left clean (or with a harmless change)."""
    return (patch == clean).flatten(1).all(dim=1)


def weighted_mean(per_sample: torch.Tensor, left: torch.Tensor, clean_weight: float) -> torch.Tensor:
    """Mean of `per_sample` with the samples `left` clean weighing `clean_weight` (the others 1).

    Where a clean photo and a mildly degraded one look alike to the model, the plain mean makes it
    correct both halfway; a weight above 1 makes harm to the clean one cost more than a veil left on
    the other, so in doubt the model leaves the photo alone (issue 15: never make a photo worse).
    """
    if clean_weight == 1.0:
        return per_sample.mean()
    weights = torch.where(left, clean_weight, 1.0).to(per_sample.dtype)
    return (per_sample * weights).sum() / weights.sum()


class Objectives:
    """loss(restored, clean, patch, thumb) -> (scalar loss, (B,) per-sample reconstruction loss)."""

    def __init__(self, config: TrainConfig, lagged=None, spn=None, quality=None, features=None) -> None:
        self.config, self.lagged, self.spn, self.quality, self.features = config, lagged, spn, quality, features

    @property
    def feature_space(self) -> str | None:
        return self.features.name if self.features is not None else None

    def loss(self, restored: torch.Tensor, clean: torch.Tensor, patch: torch.Tensor, thumb: torch.Tensor | None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        losses = self.config.losses
        per_sample = reconstruction_loss(restored, clean, fft_weight=losses.fft_weight, kind=losses.kind)
        loss = weighted_mean(per_sample, left_clean(patch, clean), losses.clean_weight)
        negatives = self.lagged.outputs(patch, None, thumb) if self.lagged is not None else []
        if self.spn is not None:
            loss = loss + self.spn(restored, negatives)
        if self.quality is not None:
            loss = loss + self.quality(restored, clean, patch, negatives[0])
        return loss, per_sample

    def after_step(self, model: nn.Module, step: int) -> None:
        """Let the lagged copies follow the model (each on its own period)."""
        if self.lagged is not None:
            self.lagged.update(model, step)

    def notes(self) -> list[str]:
        """Lines for the model card's limitations section."""
        losses = self.config.losses
        return [*([f"SPN term (weight {losses.spn_weight}) in feature space: {self.feature_space}"]
                  if self.spn is not None else []),
                *([f"quality-aware term (weight {losses.quality_weight}), perceiver {self.config.perceiver}"]
                  if self.quality is not None else [])]


def build_objectives(config: TrainConfig, model: nn.Module, runtime: Runtime) -> Objectives:
    """The step's loss for `config`; loads the feature space and the perceiver the terms need.

    Raises WeightsError when a feature space or perceiver cannot be loaded.
    """
    losses = config.losses
    if losses.spn_weight <= 0 and losses.quality_weight <= 0:
        return Objectives(config)
    from .spn import LaggedModels, SPNLoss, load_feature_space

    features = load_feature_space(losses.spn_features).to(runtime.device)
    # Copy 0 trails by the longest period: it is also the quality loss's "earlier, weaker" model.
    lagged = LaggedModels(model) if losses.spn_weight > 0 else LaggedModels(model, periods=(QUALITY_LAG,))
    spn = SPNLoss(features, losses.spn_weight) if losses.spn_weight > 0 else None
    quality = None
    if losses.quality_weight > 0:
        from ..perceive.inspect import load_perceiver
        from .quality import QualityLoss

        perceiver = load_perceiver(config.perceiver, local_files_only=True).module.to(runtime.device)
        quality = QualityLoss(perceiver, features, losses.quality_weight)
    return Objectives(config, lagged, spn, quality, features)
