"""Hard clean photos for the perceiver: training photos a perceiver calls degraded though they are clean.

Review learning replays the samples a model gets wrong. For the perceiver the costly mistake is a
clean photo read as degraded: `--guard` then restores it (and the restorer's global correction
darkens or brightens it), `--skip-clean` keeps it. Fine-tuning a perceiver (`train-perceiver --init`)
with extra examples drawn from the photos it misreads (`--hard-clean`) shows it more of those looks
clean (pale interiors, flat backdrops, lit subjects at night), and the same photos degraded beside
them, so it learns the look is not the damage rather than that a photo is always clean.

A photo is judged as `benchmarks/perceiver.py` judges the validation list: whole (long side at
most 1024 px) and as two seeded 512-px crops, each exactly as `inspect` reads it; it is hard when
any of them is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..io import Image
from ..perceive.inspect import perceive
from ..perceive.model import Perceiver

__all__ = ["flagged_photos", "judged_views"]

WHOLE_SIDE, CROP_SIZE, CROPS = 1024, 512, 2  # as benchmarks/perceiver.py


def judged_views(photo: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """(H, W, 3) uint8 -> the whole photo (long side <= WHOLE_SIDE) and CROPS random CROP_SIZE crops."""
    height, width = photo.shape[:2]
    scale = min(1.0, WHOLE_SIDE / max(height, width))
    whole = photo if scale == 1 else cv2.resize(photo, (round(width * scale), round(height * scale)),
                                                interpolation=cv2.INTER_AREA)
    if min(height, width) < CROP_SIZE:
        return [whole]
    crops = []
    for _ in range(CROPS):
        top, left = int(rng.integers(height - CROP_SIZE + 1)), int(rng.integers(width - CROP_SIZE + 1))
        crops.append(np.ascontiguousarray(photo[top:top + CROP_SIZE, left:left + CROP_SIZE]))
    return [whole, *crops]


def flagged_photos(model: Perceiver, photos: Sequence[np.ndarray], seed: int) -> list[int]:
    """Indices of the clean uint8 `photos` of which `model` flags the whole photo or a crop as degraded."""
    flagged = []
    for index, photo in enumerate(photos):
        rng = np.random.default_rng([seed, 11, index])
        if any(not perceive(model, Image(rgb=view, alpha=None)).is_clean for view in judged_views(photo, rng)):
            flagged.append(index)
    return flagged
