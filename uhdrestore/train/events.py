"""What a training run tells its display, as typed events (the CLI renders them; tests read them).

`step` is always the global optimizer step; `stage_step` counts within the current stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Event", "EventHandler", "FeatureSpaceLoaded", "Resumed", "RunStarted", "StageEnded", "StageStarted",
           "Stepped", "Validated"]


@dataclass(frozen=True)
class RunStarted:
    tasks: tuple[str, ...]  # stage names in training order
    inputs: dict[str, tuple[float, float]]  # task -> input (PSNR, SSIM) of its validation crops
    train_photos: tuple[str, ...] | None  # None: paired data only
    validation_photos: tuple[str, ...] | None


@dataclass(frozen=True)
class FeatureSpaceLoaded:
    name: str  # the feature space the SPN and quality terms compare in


@dataclass(frozen=True)
class Resumed:
    step: int
    stage: int
    stage_step: int


@dataclass(frozen=True)
class StageStarted:
    stage: int
    name: str
    steps: int  # steps in the stage
    stage_step: int  # where it starts (non-zero after a resume)
    review_share: float


@dataclass(frozen=True)
class Stepped:
    step: int
    stage_step: int
    loss: float  # this rank's batch loss


@dataclass(frozen=True)
class Validated:
    step: int
    stage: int
    psnr: dict[str, float]
    ssim: dict[str, float]


@dataclass(frozen=True)
class StageEnded:
    step: int
    stage: int
    name: str
    export: str | None  # the stage's EMA model folder (rank 0), None elsewhere


Event = RunStarted | FeatureSpaceLoaded | Resumed | StageStarted | Stepped | Validated | StageEnded
EventHandler = Callable[[Event], None]
