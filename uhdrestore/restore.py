"""The restoration engine: runtime, tiling and model tied together, with no file I/O.

`restore_image` takes an RGB float image on the host and returns the restored one.
The model's whole-image context is computed once from a thumbnail of the full image
and shared by every tile, so tiling changes nothing but memory use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from .errors import DeviceMemoryError
from .runtime import Runtime
from .tiling import TileStats, process_tiles

__all__ = ["RestoreResult", "TileConfig", "auto_tile_size", "restore_image"]

CPU_TILE = 1024  # on CPU, 1024-pixel tiles run faster than whole 4K frames (cache) and bound memory
CUDA_FREE_FRACTION = 0.7  # share of free GPU memory --tile auto may plan to use
MIN_TILE = 128


@dataclass(frozen=True)
class TileConfig:
    """How to tile: `tile` is "auto", 0 (off) or a side in pixels; `overlap` in pixels."""

    tile: int | Literal["auto"] = "auto"
    overlap: int = 32  # covers the trained network's reach: tiled == untiled to >= 50 dB

    def __post_init__(self) -> None:
        if self.tile != "auto" and (not isinstance(self.tile, int) or self.tile < 0):
            raise ValueError(f"tile must be 'auto', 0 or a positive number of pixels. Got {self.tile!r}")
        if self.tile != "auto" and 0 < self.tile < MIN_TILE:
            raise ValueError(f"tile must be at least {MIN_TILE} pixels (or 0 for no tiling). Got {self.tile}")
        if not isinstance(self.overlap, int) or self.overlap < 0:
            raise ValueError(f"tile overlap must be a non-negative number of pixels. Got {self.overlap!r}")
        if self.tile != "auto" and self.tile and self.tile <= 4 * self.overlap:
            raise ValueError(f"tile ({self.tile}) must be more than 4x the overlap ({self.overlap})")


@dataclass
class RestoreResult:
    """The restored image and how it was computed."""

    image: np.ndarray  # (H, W, 3) float32 in [0, 1]
    tiling: TileStats
    fallbacks: list[str] = field(default_factory=list)  # e.g. ["fp32"] when half precision overflowed


def auto_tile_size(height: int, width: int, *, bytes_per_pixel: int, budget: int, multiple_of: int = 64) -> int:
    """Largest tile whose activations fit `budget` bytes; 0 (no tiling) if the whole image fits."""
    if height * width * bytes_per_pixel <= budget:
        return 0
    side = int((budget / bytes_per_pixel) ** 0.5) // multiple_of * multiple_of
    return max(side, MIN_TILE)


def _tile_size(tiles: TileConfig, height: int, width: int, model: nn.Module, runtime: Runtime) -> int:
    if tiles.tile != "auto":
        return tiles.tile
    free = runtime.free_memory()
    if free is None:  # host memory: pick the tile size that is fastest there
        return CPU_TILE if max(height, width) > CPU_TILE else 0
    element_size = 4 if runtime.precision == "fp32" else 2
    budget = int(free * CUDA_FREE_FRACTION)
    return auto_tile_size(height, width, bytes_per_pixel=model.bytes_per_pixel(element_size), budget=budget)


def restore_image(
    rgb: np.ndarray,
    model: nn.Module,
    runtime: Runtime,
    tiles: TileConfig = TileConfig(),
    *,
    on_tile: Callable[[int, int], None] | None = None,
) -> RestoreResult:
    """Restore a (H, W, 3) float32 RGB image in [0, 1]; the model must already be on `runtime.device`.

    Raises DeviceMemoryError when even the smallest tile does not fit on the device.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.float32:
        raise ValueError(f"expected a (H, W, 3) float32 image. Got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    fallbacks: list[str] = []
    with torch.inference_mode():
        # The whole-image context, computed once on the host-side full image and shared by all tiles.
        full = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        context = model.encode_context(model.thumbnail(full).to(runtime.device))

        def run(tile: torch.Tensor) -> torch.Tensor:
            with runtime.autocast():
                restored = model(tile, context)
            if runtime.precision != "fp32" and not torch.isfinite(restored).all():
                if "fp32" not in fallbacks:
                    fallbacks.append("fp32")
                restored = model(tile, context)  # outside autocast: fp32
            return restored.float().clamp_(0.0, 1.0)

        try:
            image, stats = process_tiles(
                rgb, run, tile=_tile_size(tiles, height, width, model, runtime), overlap=tiles.overlap,
                device=runtime.device, align=model.multiple_of, min_tile=MIN_TILE, on_tile=on_tile)
        except torch.cuda.OutOfMemoryError as error:
            raise DeviceMemoryError(
                f"out of memory on {runtime.device} even with {MIN_TILE}-pixel tiles: "
                "free device memory or use --device cpu") from error
    return RestoreResult(image=image, tiling=stats, fallbacks=fallbacks)
