"""Run the perceiver on photos: what `inspect` prints and `batch --skip-clean` decides with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..hub import LoadedModel, bundled_weights_dir, load_model_files, resolve_model
from ..io import Image, to_float
from .model import PERCEIVED_KINDS, TIERS, Perceiver, PerceiverConfig

__all__ = ["DETECTION_THRESHOLD", "PERCEIVER_FOLDER", "Perception", "clean_perception", "decide_tiers", "detect",
           "load_perceiver", "perceive"]

PERCEIVER_FOLDER = "perceiver"  # inside the bundled weights folder
DETECTION_THRESHOLD = 0.5  # a kind counts as present at this probability, unless the perceiver's config says
# otherwise (PerceiverConfig.detection_thresholds, one per kind, calibrated when it was trained)
HIGH = TIERS.index("high")


def detect(kind_probabilities: np.ndarray, thresholds: Sequence[float] | None = None) -> np.ndarray:
    """(N, kinds) probabilities -> (N, kinds) booleans: each kind at or above its threshold
    (`thresholds` in PERCEIVED_KINDS order; None: DETECTION_THRESHOLD for every kind)."""
    limits = np.full(len(PERCEIVED_KINDS), DETECTION_THRESHOLD) if thresholds is None else np.asarray(thresholds)
    return np.asarray(kind_probabilities) >= limits


def decide_tiers(kind_probabilities: np.ndarray, tier_probabilities: np.ndarray,
                 thresholds: Sequence[float] | None = None) -> np.ndarray:
    """(N, kinds), (N, 3) -> (N,) tier indices that agree with the detected kinds by construction.

    A photo is "high" (clean) exactly when no kind reaches its threshold (`detect`); otherwise its
    tier is the likelier of "low" and "medium" by the tier head. So `inspect` can never print
    "high (clean)" beside a detected kind, nor "medium" with nothing detected.
    """
    degraded = detect(kind_probabilities, thresholds).any(axis=1)
    masked = np.array(tier_probabilities, dtype=np.float64, copy=True)
    masked[:, HIGH] = -1.0
    return np.where(degraded, masked.argmax(axis=1), HIGH)


@dataclass
class Perception:
    """What the perceiver makes of one photo."""

    kind_probabilities: dict[str, float]  # every kind, detected or not
    severity: float  # 0 clean .. 1 as bad as our generators make it
    tier: str  # "high" exactly when nothing is detected, else "low" or "medium" (decide_tiers)
    tier_probabilities: dict[str, float]  # the tier head alone, before decide_tiers
    embedding: np.ndarray  # the degradation embedding (L2-normalised)
    thresholds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PERCEIVED_KINDS, DETECTION_THRESHOLD))

    @property
    def detected(self) -> list[str]:
        """Kinds at or above their detection threshold, most likely first."""
        found = [kind for kind, p in self.kind_probabilities.items() if p >= self.thresholds[kind]]
        return sorted(found, key=lambda kind: -self.kind_probabilities[kind])

    @property
    def is_clean(self) -> bool:
        return self.tier == "high"

    def to_dict(self) -> dict[str, Any]:
        return {"detected": self.detected, "kinds": {k: round(p, 4) for k, p in self.kind_probabilities.items()},
                "severity": round(self.severity, 4), "tier": self.tier, "clean": self.is_clean,
                "tier_head": {k: round(p, 4) for k, p in self.tier_probabilities.items()}}


def _build(data: dict[str, Any]) -> tuple[PerceiverConfig, Perceiver]:
    config = PerceiverConfig.from_dict(data)
    return config, Perceiver(config)


def load_perceiver(spec: str = "default", *, revision: str | None = None, local_files_only: bool = False,
                   cache_dir: str | Path | None = None, endpoint: str | None = None) -> LoadedModel[Perceiver]:
    """The bundled perceiver ("default"), a perceiver folder, or a Hub id. Raises WeightsError."""
    source = resolve_model(spec, revision=revision, local_files_only=local_files_only, cache_dir=cache_dir,
                           endpoint=endpoint, bundled=bundled_weights_dir() / PERCEIVER_FOLDER)
    return load_model_files(source, build=_build)


@torch.inference_mode()
def perceive(model: Perceiver, image: Image) -> Perception:
    """One decoded photo (any size, 8/16-bit or float, gray or colour) -> its Perception."""
    pixels = to_float(image.rgb)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    tensor = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None]
    out = model.perceive(tensor)
    kinds = out.kind_probabilities[0].tolist()
    tiers = out.tier_probabilities[0].tolist()
    tier = int(decide_tiers(np.array([kinds]), np.array([tiers]), model.config.detection_thresholds)[0])
    return Perception(kind_probabilities=dict(zip(PERCEIVED_KINDS, kinds)), severity=float(out.severity[0]),
                      tier=TIERS[tier], tier_probabilities=dict(zip(TIERS, tiers)),
                      embedding=out.embedding[0].numpy(), thresholds=model.config.thresholds)


def clean_perception(model: Perceiver, image: Image) -> Perception | None:
    """The perceiver's reading of `image` when it calls it clean (tier high), else None.

    What `--guard` (leave the photo as it was) and `--skip-clean` (leave it out) act on.
    """
    perception = perceive(model, image)
    return perception if perception.is_clean else None
