"""Training settings: frozen dataclasses that the CLI builds and checkpoints store as JSON."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..models import ModelConfig
from .losses import LOSSES

__all__ = ["StageConfig", "TrainConfig", "SMOKE_MODEL"]

Schedule = Literal["review", "sequential", "joint"]
Order = Literal["given", "auto", "perceived"]

# The smallest network worth training: used by --smoke, which must finish in well under a minute.
SMOKE_MODEL = ModelConfig(detail_width=8, body_width=16, body_blocks=1, body_iterations=1, context_width=8)


@dataclass(frozen=True)
class StageConfig:
    """One stage: a degradation synthesised from clean photos, or a paired dataset folder."""

    name: str  # the task name shown in reports: "rain", "rain+haze", or the NAME of NAME=PATH
    kind: str  # degradation spec for synthesis ("rain", "rain+haze"); the task name for paired data
    path: str | None = None  # paired dataset folder (lq/ and gt/); None: synthesise from clean photos

    @classmethod
    def parse(cls, spec: str) -> StageConfig:
        """"rain" -> synthetic rain; "rain=data/UHD-Rain" -> the paired dataset in that folder."""
        spec = spec.strip()
        if not spec:
            raise ValueError("empty stage in --stages")
        if "=" in spec:
            name, path = (part.strip() for part in spec.split("=", 1))
            if not name or not path:
                raise ValueError(f"a paired stage is NAME=PATH. Got {spec!r}")
            return cls(name=name, kind=name, path=path)
        from ..degrade import parse_kind

        parse_kind(spec)  # raises ValueError naming the known kinds
        return cls(name=spec, kind=spec)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run computes (not where it writes)."""

    stages: tuple[StageConfig, ...]
    model: ModelConfig = field(default_factory=ModelConfig)
    schedule: Schedule = "review"
    order: Order = "given"  # auto: mildest degradation (highest input PSNR) first; perceived: by the perceiver
    iterations: int = 2000  # per stage; joint training gets the same total
    batch_size: int = 8  # global, split across DDP ranks
    patch_size: int = 96  # training crops are patch_size x patch_size
    view_size: int = 0  # patches are cut from the centre of a degraded view this big; the network's
    # whole-image context is read from the view, as at inference it is read from the whole photo (0: patch_size)
    view_max: int = 0  # views are drawn log-uniformly between view_size and this (0: always view_size), so the
    # context learns crops of 256 or 512 pixels as well as small ones; the patch keeps its scale
    pool_size: int = 2000  # training samples per stage, revisited each epoch so loss fluctuation is measurable
    val_size: int = 16  # fixed validation crops per stage
    val_patch_size: int = 192
    lr: float = 2e-3  # peak learning rate of AdamW (small network: a high rate is fine)
    stage_lr_decay: float = 1.0  # stage t (0-based) peaks at lr * stage_lr_decay^t: later stages disturb less
    weight_decay: float = 1e-4
    warmup: int = 100  # iterations of linear warm-up at the start of every stage
    min_lr_ratio: float = 0.05  # cosine decays to lr * min_lr_ratio by the end of each stage
    grad_clip: float = 1.0
    ema_decay: float = 0.999  # EMA weights are validated and exported
    loss: str = "charbonnier"  # "charbonnier" (L1-like) or "psnr" (per-sample log MSE, train/losses.py)
    fft_weight: float = 0.05  # weight of the L1 loss between FFT amplitudes (sharpens edges)
    review_ratio: float = 0.3  # share of each batch replayed from the review memory in the 2nd stage
    review_decay: float = 0.5  # the share is multiplied by this at every later stage
    memory_size: int = 256  # hard samples kept per finished stage
    spn_weight: float = 0.0  # MCLIR's lagged-model contrastive term; 0 = off
    spn_features: str | None = None  # VGG16 safetensors file or Hub id; None: the fixed feature space
    quality_loss: float = 0.0  # weight of the perceiver-driven quality-aware term (train/quality.py); 0 = off
    perceiver: str = "default"  # the perceiver --quality-loss and --order perceived ask (a model spec)
    severity: tuple[float, float] = (0.1, 1.0)  # synthetic severities are drawn from this range
    clean_fraction: float = 0.05  # share of synthetic samples left undegraded: clean photos must stay clean
    min_scale: float = 0.5  # training crops show the photo at a log-uniform scale in [min_scale, 1]
    scenes: int = 0  # procedural clean scenes (uhdrestore.scenes) degraded beside the photos; 0: photos only
    scene_grass: float = 0.0  # share of those scenes that are dense, pale grass (uhdrestore.scenes)
    jpeg_after: float = 0.0  # share of degraded synthetic samples JPEG-compressed afterwards (q ~95-60)
    keep_changes: float = 0.0  # share of the clean samples first given a harmless change (JPEG, colour grade,
    # sharpening; data.harmless_change) that the target keeps too: do no harm to what is not damage
    jpeg_downscale: float = 1.0  # JPEG clean photos are shrunk by this factor as they load (data.CleanPhotos)
    holdout: tuple[str, ...] = ()  # clean photos kept for validation (file names); empty: chosen by seed
    val_every: int = 250
    checkpoint_every: int = 250
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("at least one stage is needed")
        names = [stage.name for stage in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique. Got {', '.join(names)}")
        if self.schedule not in ("review", "sequential", "joint"):
            raise ValueError(f"schedule must be review, sequential or joint. Got {self.schedule!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be {' or '.join(LOSSES)}. Got {self.loss!r}")
        if self.order not in ("given", "auto", "perceived"):
            raise ValueError(f"order must be given, auto or perceived. Got {self.order!r}")
        for name in ("iterations", "batch_size", "patch_size", "pool_size", "val_size", "val_patch_size",
                     "val_every", "checkpoint_every", "memory_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1. Got {getattr(self, name)}")
        if self.patch_size % 8 or self.val_patch_size % 8 or self.view_size % 8 or self.view_max % 8:
            raise ValueError("patch and view sizes must be multiples of 8")
        if self.view_size and self.view_size < self.patch_size:
            raise ValueError(f"view size must be 0 or at least the patch size. Got {self.view_size}")
        if self.view_max and self.view_max < self.train_view:
            raise ValueError(f"view max must be 0 or at least the view size. Got {self.view_max}")
        if not 0 <= self.review_ratio < 1 or not 0 <= self.review_decay <= 1:
            raise ValueError("review ratio must be in [0, 1) and review decay in [0, 1]")
        if not 0 <= self.clean_fraction < 1:
            raise ValueError(f"clean fraction must be in [0, 1). Got {self.clean_fraction}")
        if not 0 < self.min_scale <= 1:
            raise ValueError(f"min scale must be in (0, 1]. Got {self.min_scale}")
        if self.scenes < 0:
            raise ValueError(f"scenes must be 0 or more. Got {self.scenes}")
        if not 0 <= self.scene_grass <= 1:
            raise ValueError(f"scene grass must be in [0, 1]. Got {self.scene_grass}")
        if not 0 <= self.jpeg_after <= 1:
            raise ValueError(f"jpeg after must be in [0, 1]. Got {self.jpeg_after}")
        if not 0 <= self.keep_changes <= 1:
            raise ValueError(f"keep changes must be in [0, 1]. Got {self.keep_changes}")
        if not 1 <= self.jpeg_downscale <= 8:
            raise ValueError(f"jpeg downscale must be in [1, 8]. Got {self.jpeg_downscale}")
        low, high = self.severity
        if not 0 <= low <= high <= 1:
            raise ValueError(f"severity range must satisfy 0 <= low <= high <= 1. Got {self.severity}")
        if not 0 < self.stage_lr_decay <= 1:
            raise ValueError(f"stage lr decay must be in (0, 1]. Got {self.stage_lr_decay}")
        if self.spn_weight < 0:
            raise ValueError(f"spn weight must be >= 0. Got {self.spn_weight}")
        if self.quality_loss < 0:
            raise ValueError(f"quality loss weight must be >= 0. Got {self.quality_loss}")

    @property
    def train_view(self) -> int:
        """Side of the degraded view each training patch is cut from (the smallest, with view_max)."""
        return self.view_size or self.patch_size

    def view_side(self, rng: np.random.Generator) -> int:
        """A training view's side: train_view, or log-uniform in [train_view, view_max], a multiple of 8."""
        if self.view_max <= self.train_view:
            return self.train_view
        side = np.exp(rng.uniform(np.log(self.train_view), np.log(self.view_max)))
        return int(round(side / 8)) * 8

    def peak_lr(self, stage_index: int) -> float:
        """Peak learning rate of stage `stage_index` (joint training is one stage)."""
        return self.lr if self.schedule == "joint" else self.lr * self.stage_lr_decay ** stage_index

    def review_share(self, stage_index: int) -> float:
        """Share of a batch replayed from memory while training stage `stage_index` (0-based)."""
        if self.schedule != "review" or stage_index == 0:
            return 0.0
        return self.review_ratio * self.review_decay ** (stage_index - 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        data["stages"] = tuple(StageConfig(**stage) for stage in data["stages"])
        data["model"] = ModelConfig.from_dict(data["model"])
        data["severity"] = tuple(data["severity"])
        data["holdout"] = tuple(data["holdout"])
        return cls(**data)
