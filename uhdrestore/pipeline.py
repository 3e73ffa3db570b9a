"""One image through the engine: decoded file in, encodable image out.

The model restores RGB only: grayscale is replicated to RGB and averaged back,
alpha and metadata are carried through untouched, and the bit depth of the input
(uint8, uint16, float32) is the bit depth of the output. An HDR float image (values
outside [0, 1]) is restored scaled into [0, 1] and scaled back; `RestoreResult.span`
says when that happened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from torch import nn

from .io import Image, ImageMetadata
from .restore import RestoreResult, TileConfig, restore_pixels
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
        result = restore_pixels(image.rgb, self.model, self.runtime, self.tiles, on_tile=on_tile)
        return dataclasses.replace(image, rgb=result.image), result
