"""Training batches as tensors: each sample synthesised once and kept for its next visit.

A stage's pool is a fixed set of sample ids, each visited every epoch, and a sample is a
pure function of its id (train/data.py): so its patches and thumbnail are synthesised once
and kept (exact float32 copies, up to `cache_bytes`), and later visits cost no synthesis.
Results never depend on the cache, only speed (tests/train/test_samples.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..models import ModelConfig
from ..models.simpleir import thumbnail
from .config import DataConfig
from .data import PairedStage, SyntheticStage
from .shared import TRAIN, VALIDATION

__all__ = ["DEFAULT_CACHE_BYTES", "Samples"]

DEFAULT_CACHE_BYTES = 4 << 30  # synthesised samples kept for their next visit (train --cache-gb)
Cached = tuple[np.ndarray, np.ndarray, "torch.Tensor | None"]


class Samples:
    """Batches of (degraded, clean) tensors from the stages' data sources, by (stage, sample id)."""

    def __init__(self, data: DataConfig, model: ModelConfig, sources: Sequence[SyntheticStage | PairedStage],
                 device: torch.device, cache_bytes: int = 0) -> None:
        self.data, self.model, self.sources, self.device = data, model, list(sources), device
        self.cache_bytes = cache_bytes
        self._cache: dict[tuple[int, int], Cached] = {}
        self._cached_bytes = 0

    def tensors(self, plan: Sequence[tuple[int, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(B, 3, P, P) degraded and clean patches, channels-last, on the device, and the (B, 6 or 7, S, S)
        thumbnails of the degraded views they are the centre of (None when the view is the patch).
        Views may differ in size (--view-max), so each is cut and thumbnailed on its own."""
        with_views = self.data.with_views
        degraded, clean, thumbs = zip(*(self._sample(stage, sample_id, with_views) for stage, sample_id in plan))
        degraded, clean = (torch.from_numpy(np.stack(patches)).permute(0, 3, 1, 2).to(
            self.device, memory_format=torch.channels_last) for patches in (degraded, clean))
        return degraded, clean, torch.cat(thumbs).to(self.device) if with_views else None

    def _sample(self, stage: int, sample_id: int, with_views: bool) -> Cached:
        """One sample's degraded and clean patches and its view's thumbnail, from the cache if there."""
        key = (stage, sample_id)
        if key in self._cache:
            return self._cache[key]
        side = self.data.patch_size
        view, target = self.sources[stage].sample(sample_id, TRAIN)
        top, left = (view.shape[0] - side) // 2, (view.shape[1] - side) // 2
        thumb = None
        if with_views:
            view_tensor = torch.from_numpy(view).permute(2, 0, 1)[None]
            thumb = thumbnail(view_tensor, self.model.context_size, self.model.context_dark)
        sample = (view[top:top + side, left:left + side].copy(), target[top:top + side, left:left + side].copy(),
                  thumb)
        size = _nbytes(sample)
        if self._cached_bytes + size <= self.cache_bytes:
            self._cache[key] = sample
            self._cached_bytes += size
        return sample

    def forget(self, keep: set[tuple[int, int]]) -> None:
        """Drop cached samples, except the (stage, id) pairs in `keep` (the review memory's)."""
        self._cache = {key: value for key, value in self._cache.items() if key in keep}
        self._cached_bytes = sum(_nbytes(value) for value in self._cache.values())

    def validation(self, stage: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3, V, V) degraded and clean validation crops of a stage, on the CPU."""
        pairs = [self.sources[stage].sample(index, VALIDATION) for index in range(self.data.val_size)]
        degraded, clean = (torch.from_numpy(np.stack(side)).permute(0, 3, 1, 2).contiguous() for side in zip(*pairs))
        return degraded, clean


def _nbytes(sample: Cached) -> int:
    thumb = sample[2]
    return sample[0].nbytes * 2 + (thumb.numel() * thumb.element_size() if thumb is not None else 0)
