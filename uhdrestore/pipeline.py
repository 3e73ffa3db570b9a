"""One image through the engine: decoded file in, encodable image out.

The model restores RGB only: grayscale is replicated to RGB and averaged back,
alpha and metadata are carried through untouched, and the bit depth of the input
(uint8, uint16, float32) is the bit depth of the output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from torch import nn

from .io import Image, ImageMetadata, map_rgb
from .restore import RestoreResult, TileConfig, restore_image
from .runtime import Runtime

__all__ = ["Restorer", "compare_image"]


def compare_image(before: Image, after: Image) -> Image:
    """Before and after side by side, in the input's bit depth, without alpha or metadata."""
    return Image(rgb=np.concatenate([before.rgb, after.rgb], axis=1), alpha=None, metadata=ImageMetadata())


@dataclasses.dataclass
class Restorer:
    """A loaded model on its runtime, turning decoded images into restored ones."""

    model: nn.Module
    runtime: Runtime
    tiles: TileConfig = TileConfig()

    def __call__(self, image: Image, *, on_tile: Callable[[int, int], None] | None = None
                 ) -> tuple[Image, RestoreResult]:
        results: list[RestoreResult] = []

        def restore(pixels: np.ndarray) -> np.ndarray:
            results.append(restore_image(pixels, self.model, self.runtime, self.tiles, on_tile=on_tile))
            return results[-1].image

        return map_rgb(image, restore), results[0]
