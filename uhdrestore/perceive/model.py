"""The degradation perceiver: what is wrong with a photo, how badly, and is it worth restoring.

It looks at a photo twice, the way a person does: a downscaled view of the whole frame
(haze, low light, snow and colour casts are global) and a few full-resolution crops
(noise, blur, JPEG and fine rain streaks average away when the photo is shrunk). Both go
through small strided CNNs whose pooled features meet, with a few classical no-reference
statistics (gradient energy at three scales, dark channel, saturation), in an embedding, the vector
`inspect --cluster` groups photos by. Three heads read the embedding: one probability per
kind (several kinds can be present at once), a severity in [0, 1], and Perceive-IR's three
quality tiers (low = heavily degraded, medium = lightly degraded or imperfectly restored,
high = clean). About 60 M multiply-adds per photo whatever its size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..models.config import strict_from_dict

__all__ = ["PERCEIVED_KINDS", "TIERS", "Perceiver", "PerceiverConfig", "PerceiverOutput", "views"]

PERCEIVED_KINDS: tuple[str, ...] = ("rain", "haze", "noise", "blur", "snow", "lowlight")
TIERS: tuple[str, ...] = ("low", "medium", "high")  # Perceive-IR's "terrible", "mediocre", "excellent"


@dataclass(frozen=True)
class PerceiverConfig:
    """Hyperparameters of the perceiver, stored as config.json beside its weights."""

    arch: str = "perceiver"
    view_size: int = 128  # side of the downscaled whole-photo view
    crop_size: int = 64  # side of each full-resolution crop
    crop_rows: int = 2  # crops sit on a rows x cols grid over the photo (transposed for portrait photos)
    crop_cols: int = 4
    width: int = 16  # channels of the first layer; deeper layers use 2x and 4x
    embedding: int = 64  # size of the degradation embedding
    negative_slope: float = 0.1
    # Sparse cues: the crop network starts with a full-resolution layer (streaks and flakes one or two
    # pixels wide alias away under a strided first layer) and pools the spatial maximum beside the mean
    # and spread (a few streaks light up a few positions; a mean dilutes them). Off in configs before it.
    sparse_cues: bool = False
    # Probability at which each kind (PERCEIVED_KINDS order) counts as present: set by training's
    # calibration (a target share of clean photos flagged); configs written before it read 0.5.
    detection_thresholds: tuple[float, ...] = (0.5,) * len(PERCEIVED_KINDS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detection_thresholds", tuple(float(t) for t in self.detection_thresholds))
        if len(self.detection_thresholds) != len(PERCEIVED_KINDS) or \
                not all(0 < t < 1 for t in self.detection_thresholds):
            raise ValueError(f"detection_thresholds must be {len(PERCEIVED_KINDS)} probabilities in (0, 1), one per "
                             f"kind ({', '.join(PERCEIVED_KINDS)}). Got {list(self.detection_thresholds)!r}")
        if not isinstance(self.sparse_cues, bool):
            raise ValueError(f"sparse_cues must be true or false. Got {self.sparse_cues!r}")
        if self.arch != "perceiver":
            raise ValueError(f"not a perceiver config (arch {self.arch!r}); expected arch 'perceiver'")
        for name in ("view_size", "crop_size", "crop_rows", "crop_cols", "width", "embedding"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer. Got {value!r}")
        if self.view_size < 32 or self.crop_size < 16:
            raise ValueError("view_size must be at least 32 and crop_size at least 16")

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "detection_thresholds": list(self.detection_thresholds)}

    @property
    def thresholds(self) -> dict[str, float]:
        """Each kind's detection threshold, by name."""
        return dict(zip(PERCEIVED_KINDS, self.detection_thresholds))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PerceiverConfig:
        return strict_from_dict(cls, data)


@dataclass
class PerceiverOutput:
    """Raw head outputs for a batch; `Perceiver.forward` returns one."""

    kind_logits: torch.Tensor  # (B, kinds)
    severity: torch.Tensor  # (B,) in [0, 1]
    tier_logits: torch.Tensor  # (B, 3), in TIERS order
    embedding: torch.Tensor  # (B, embedding), L2-normalised

    @property
    def kind_probabilities(self) -> torch.Tensor:
        return torch.sigmoid(self.kind_logits)

    @property
    def tier_probabilities(self) -> torch.Tensor:
        return torch.softmax(self.tier_logits, dim=1)


def views(images: torch.Tensor, config: PerceiverConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, H, W) in [0, 1] -> (whole view (B, 3, V, V), crops (B, K, 3, C, C)).

    The view is an area-averaged resize of the whole frame (aspect ratio not kept: the
    perceiver judges degradation, not composition). The crops sit at the centres of a
    grid's cells, at full resolution; a photo smaller than a crop is upscaled to one first.
    Differentiable, so the restorer's quality loss can look through it.
    """
    view = F.adaptive_avg_pool2d(images, config.view_size) if min(images.shape[-2:]) >= config.view_size \
        else F.interpolate(images, size=config.view_size, mode="bilinear", align_corners=False)
    height, width = images.shape[-2:]
    side = config.crop_size
    if min(height, width) < side:
        scale = side / min(height, width)
        height, width = max(side, round(height * scale)), max(side, round(width * scale))
        images = F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False)
    rows, cols = (config.crop_rows, config.crop_cols) if width >= height else (config.crop_cols, config.crop_rows)
    crops = []
    for row in range(rows):
        top = min(max(0, round((row + 0.5) * height / rows - side / 2)), height - side)
        for col in range(cols):
            left = min(max(0, round((col + 0.5) * width / cols - side / 2)), width - side)
            crops.append(images[:, :, top:top + side, left:left + side])
    return view, torch.stack(crops, dim=1)


def _stem(channels: list[int], in_channels: int, slope: float, *, full_resolution: bool = False) -> nn.Sequential:
    """Stride-2 3x3 convolutions, each followed by a LeakyReLU; optionally a stride-1 one first."""
    layers: list[nn.Module] = []
    if full_resolution:
        layers += [nn.Conv2d(in_channels, channels[0], 3, padding=1), nn.LeakyReLU(slope)]
        in_channels = channels[0]
    for out_channels in channels:
        layers += [nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1), nn.LeakyReLU(slope)]
        in_channels = out_channels
    return nn.Sequential(*layers)


def _gradient(level: torch.Tensor) -> torch.Tensor:
    """Mean absolute horizontal plus vertical difference of (N, 1, H, W) -> (N,)."""
    return ((level[..., 1:, :] - level[..., :-1, :]).abs().mean(dim=(1, 2, 3))
            + (level[..., :, 1:] - level[..., :, :-1]).abs().mean(dim=(1, 2, 3)))


def crop_statistics(crops: torch.Tensor) -> torch.Tensor:
    """(N, 3, C, C) -> (N, 6): classical no-reference cues the network would otherwise learn slowly.

    Contrast, gradient energy at 1, 2 and 4 pixel scales (blur removes the finest first, noise
    inflates it) and the 3x3 high-pass energy, in logs so they span photos of any contrast.
    """
    luma = crops.mean(dim=1, keepdim=True)
    cues = [luma.mean(dim=(1, 2, 3)), luma.std(dim=(1, 2, 3))]
    level = luma
    for _ in range(3):
        cues.append(torch.log(_gradient(level) + 1e-4))
        level = F.avg_pool2d(level, 2)
    residual = luma - F.avg_pool2d(luma, 3, stride=1, padding=1, count_include_pad=False)
    cues.append(torch.log(residual.abs().mean(dim=(1, 2, 3)) + 1e-4))
    return torch.stack(cues, dim=1)


def view_statistics(view: torch.Tensor) -> torch.Tensor:
    """(N, 3, V, V) -> (N, 6): brightness, contrast, dark channel (haze lifts it), saturation
    (haze and low light drain it), and the shares of near-white (snow) and near-black pixels."""
    luma = view.mean(dim=1)
    dark, saturation = view.amin(dim=1), view.amax(dim=1) - view.amin(dim=1)
    return torch.stack([luma.mean(dim=(1, 2)), luma.std(dim=(1, 2)), dark.mean(dim=(1, 2)),
                        saturation.mean(dim=(1, 2)), (luma > 0.85).float().mean(dim=(1, 2)),
                        (luma < 0.1).float().mean(dim=(1, 2))], dim=1)


STATISTICS = 6 + 3 * 6  # view statistics + crop statistics averaged, minimum and maximum over crops


def _mean_std(features: torch.Tensor, *, with_max: bool = False) -> torch.Tensor:
    """(N, C, H, W) -> (N, 2C), or (N, 3C) with the maximum: how strong a pattern is, how unevenly
    it is spread, and how strong it is where it is strongest."""
    flat = features.flatten(2)
    pooled = [flat.mean(dim=2), flat.std(dim=2)] + ([flat.amax(dim=2)] if with_max else [])
    return torch.cat(pooled, dim=1)


class Perceiver(nn.Module):
    """Whole view + crops -> kinds, severity, tier and a degradation embedding."""

    def __init__(self, config: PerceiverConfig) -> None:
        super().__init__()
        self.config = config
        width, slope = config.width, config.negative_slope
        deep = 4 * width
        self.view_net = _stem([width, 2 * width, deep, deep], 3, slope)
        # Crops get their high-pass too: noise and blur live there, and the first layer is strided.
        self.crop_net = _stem([width, 2 * width, deep, deep], 6, slope, full_resolution=config.sparse_cues)
        # view mean/std + crop mean/std(/max) averaged and maxed over crops + the classical statistics
        crop_pooled = (3 if config.sparse_cues else 2) * deep
        pooled = 2 * deep + 2 * crop_pooled + STATISTICS
        self.embed = nn.Sequential(nn.Linear(pooled, 2 * config.embedding), nn.LeakyReLU(slope),
                                   nn.Linear(2 * config.embedding, config.embedding))
        self.kinds = nn.Linear(config.embedding, len(PERCEIVED_KINDS))
        self.severity = nn.Linear(config.embedding, 1)
        self.tier = nn.Linear(config.embedding, len(TIERS))

    def forward(self, view: torch.Tensor, crops: torch.Tensor) -> PerceiverOutput:
        batch, count = crops.shape[:2]
        crops = crops.flatten(0, 1)
        detail = crops - F.avg_pool2d(crops, 3, stride=1, padding=1, count_include_pad=False)
        crop_features = self.crop_net(torch.cat([crops, 4 * detail], dim=1))
        crop_stats = _mean_std(crop_features, with_max=self.config.sparse_cues).view(batch, count, -1)
        cues = crop_statistics(crops).view(batch, count, -1)
        pooled = torch.cat([_mean_std(self.view_net(view)), crop_stats.mean(dim=1), crop_stats.amax(dim=1),
                            view_statistics(view), cues.mean(dim=1), cues.amin(dim=1), cues.amax(dim=1)], dim=1)
        hidden = self.embed(pooled)
        features = F.leaky_relu(hidden, self.config.negative_slope)
        return PerceiverOutput(kind_logits=self.kinds(features),
                               severity=torch.sigmoid(self.severity(features)).squeeze(1),
                               tier_logits=self.tier(features),
                               embedding=F.normalize(hidden, dim=1))

    def perceive(self, images: torch.Tensor) -> PerceiverOutput:
        """(B, 3, H, W) in [0, 1] -> outputs: `views` then `forward`."""
        return self(*views(images, self.config))
