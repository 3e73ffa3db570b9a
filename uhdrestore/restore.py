"""The restoration engine: runtime, tiling and model tied together, with no file I/O.

`restore_pixels` takes decoded pixels on the host (8/16-bit, float, gray or RGB) and
returns restored pixels of the same kind; `restore_image` is its float RGB form. The
model's whole-image context is computed once from a thumbnail of the full image and
shared by every tile, so tiling changes nothing but memory use.

Host memory stays near input + output + one band of tiles: the image is converted to
float one tile at a time (and, for the thumbnail, a few rows at a time), never whole.
An image thinner than `MIN_SIDE` is mirrored out to it first: a network that sees
only borders (an 8-pixel-high strip) shifts its colours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
import torch
from torch import nn

import torch.nn.functional as F

from .errors import DeviceMemoryError, NonFiniteOutputError
from .io import Span, from_float, to_float, value_range
from .models.descriptor import RestorationNetwork, describe
from .models.simpleir import DETAIL_BLOCK, SimpleIR, high_pass
from .runtime import Runtime
from .tiling import TileStats, process_tiles

__all__ = ["RestoreResult", "TileConfig", "auto_tile_size", "restore_image", "restore_pixels", "banded_thumbnail"]

CPU_TILE = 1024  # on CPU, 1024-pixel tiles run faster than whole 4K frames (cache) and bound memory
CUDA_FREE_FRACTION = 0.7  # share of free GPU memory --tile auto may plan to use
MIN_TILE = 128
MIN_SIDE = 64  # shorter sides are mirrored out to this: an 8 x 20000 strip otherwise shifts colour by 20/255
THUMBNAIL_BAND_PIXELS = 2_000_000  # pixels converted to float at a time for the thumbnail


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

    image: np.ndarray  # restore_pixels: the input's shape and dtype; restore_image: (H, W, 3) float32 in [0, 1]
    tiling: TileStats
    fallbacks: list[str] = field(default_factory=list)  # e.g. ["fp32"] when half precision overflowed
    span: Span | None = None  # (low, high) an HDR float input was scaled from into [0, 1] and back


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
    per_pixel = _descriptor(model).bytes_per_pixel(element_size)
    return auto_tile_size(height, width, bytes_per_pixel=per_pixel, budget=budget)


_descriptor = describe


def restore_image(
    rgb: np.ndarray,
    model: nn.Module,
    runtime: Runtime,
    tiles: TileConfig = TileConfig(),
    *,
    on_tile: Callable[[int, int], None] | None = None,
) -> RestoreResult:
    """Restore a (H, W, 3) float32 RGB image in [0, 1]; the model must already be on `runtime.device`.

    Raises DeviceMemoryError when even the smallest tile does not fit on the device, and
    NonFiniteOutputError when the network's output is not finite even in fp32.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.float32:
        raise ValueError(f"expected a (H, W, 3) float32 image. Got {rgb.shape} {rgb.dtype}")
    return restore_pixels(rgb, model, runtime, tiles, on_tile=on_tile)


def restore_pixels(
    pixels: np.ndarray,
    model: nn.Module,
    runtime: Runtime,
    tiles: TileConfig = TileConfig(),
    *,
    on_tile: Callable[[int, int], None] | None = None,
) -> RestoreResult:
    """Restore (H, W, 3 | 1) uint8, uint16 or float32 pixels into an array of the same shape and dtype.

    Gray is replicated to RGB for the network and averaged back. Float32 values outside
    [0, 1] (HDR) are scaled from their `value_range` into [0, 1] and back (`result.span`
    says so), never clipped. Raises DeviceMemoryError and NonFiniteOutputError as
    `restore_image` does.
    """
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3) or pixels.dtype not in (np.uint8, np.uint16, np.float32):
        raise ValueError(f"expected (H, W, 3 or 1) uint8, uint16 or float32 pixels. Got {pixels.shape} {pixels.dtype}")
    descriptor = _descriptor(model)
    network = cast(RestorationNetwork, model)  # it carries a descriptor: the engine's contract
    span = value_range(pixels)
    gray = pixels.shape[2] == 1

    def prepare(block: np.ndarray) -> np.ndarray:  # a slice of `pixels` -> (h, w, 3) float32 in [0, 1]
        block = to_float(block, span)
        return np.repeat(block, 3, axis=2) if gray else block

    def finish(rows: np.ndarray) -> np.ndarray:  # (r, W, 3) float32 in [0, 1] -> rows of the output
        if gray:
            rows = rows.mean(axis=2, keepdims=True, dtype=np.float32)
        return from_float(rows, pixels.dtype, span)

    fallbacks: list[str] = []
    padded, crop = _mirror_thin(pixels)
    height, width = padded.shape[:2]
    with torch.inference_mode():
        # The whole-image context, computed once from the unpadded image and shared by all tiles.
        context = network.encode_context(banded_thumbnail(network, pixels, prepare).to(runtime.device))

        def run(tile: torch.Tensor) -> torch.Tensor:
            with runtime.autocast():
                restored = network(tile, context)
            if not torch.isfinite(restored).all():
                if runtime.precision != "fp32":
                    if "fp32" not in fallbacks:
                        fallbacks.append("fp32")
                    restored = network(tile, context)  # outside autocast: fp32
                if not torch.isfinite(restored).all():
                    raise NonFiniteOutputError(
                        "the network's output holds NaN or infinite values on this image, even in fp32; "
                        "nothing was written (try another --model)")
            return restored.float().clamp_(0.0, 1.0)

        try:
            output, stats = process_tiles(
                padded, run, tile=_tile_size(tiles, height, width, model, runtime), overlap=tiles.overlap,
                device=runtime.device, align=descriptor.size.multiple_of, min_tile=MIN_TILE, on_tile=on_tile,
                prepare=prepare, finish=finish, output=np.empty_like(padded))
        except torch.cuda.OutOfMemoryError as error:
            raise DeviceMemoryError(
                f"out of memory on {runtime.device} even with {MIN_TILE}-pixel tiles: "
                "free device memory or use --device cpu") from error
    if crop is not None:
        output = np.ascontiguousarray(output[crop])
    return RestoreResult(image=output, tiling=stats, fallbacks=fallbacks, span=span)


def _mirror_thin(pixels: np.ndarray) -> tuple[np.ndarray, tuple[slice, slice] | None]:
    """Mirror a side shorter than MIN_SIDE out to it, centred: (padded pixels, the slice to crop back)."""
    height, width = pixels.shape[:2]
    pad_rows, pad_columns = max(0, MIN_SIDE - height), max(0, MIN_SIDE - width)
    if not pad_rows and not pad_columns:
        return pixels, None
    top, left = pad_rows // 2, pad_columns // 2
    padded = np.pad(pixels, ((top, pad_rows - top), (left, pad_columns - left), (0, 0)), mode="symmetric")
    return padded, (slice(top, top + height), slice(left, left + width))


def banded_thumbnail(model: RestorationNetwork, pixels: np.ndarray,
                     prepare: Callable[[np.ndarray], np.ndarray]) -> torch.Tensor:
    """`model.thumbnail` of the whole image, from (H, W, C) `pixels` that `prepare` turns into float RGB.

    For SimpleIR's thumbnail the image is converted a band of rows at a time: every step is
    local (the 3x3 high-pass, with a one-row halo; 4x4 blocks, bands start on multiples of
    4) or an average that splits by rows (adaptive pooling is separable), so the result
    equals the whole-image computation up to float rounding, without a float copy of the
    image. Other networks get their own `thumbnail` of the whole float image.
    """
    height, width = pixels.shape[:2]
    if not isinstance(model, SimpleIR) or type(model).thumbnail is not SimpleIR.thumbnail:
        return model.thumbnail(torch.from_numpy(np.ascontiguousarray(prepare(pixels))).permute(2, 0, 1)[None])
    size, dark = model.config.context_size, model.config.context_dark
    blocks = min(height, width) >= DETAIL_BLOCK
    band = max(DETAIL_BLOCK, THUMBNAIL_BAND_PIXELS // width // DETAIL_BLOCK * DETAIL_BLOCK)
    colour, detail, darkest = [], [], []
    for top in range(0, height, band):
        bottom = min(height, top + band)
        above, below = max(0, top - 1), min(height, bottom + 1)  # halo rows for the 3x3 high-pass
        window = torch.from_numpy(np.ascontiguousarray(prepare(pixels[above:below]))).permute(2, 0, 1)[None]
        rows = slice(top - above, top - above + bottom - top)
        core = window[..., rows, :]
        fine = high_pass(window)[..., rows, :].abs_()
        if blocks:
            fine = F.avg_pool2d(fine, DETAIL_BLOCK, ceil_mode=True)
        colour.append(F.adaptive_avg_pool2d(core, (core.shape[-2], size)))  # columns pooled, rows kept
        detail.append(F.adaptive_avg_pool2d(fine, (fine.shape[-2], size)))
        if dark:
            low = core.amin(dim=1, keepdim=True)
            if blocks:
                low = -F.max_pool2d(-low, DETAIL_BLOCK, ceil_mode=True)
            darkest.append(F.adaptive_avg_pool2d(low, (low.shape[-2], size)))
    channels = [F.adaptive_avg_pool2d(torch.cat(parts, dim=-2), size) for parts in (colour, detail, darkest) if parts]
    return torch.cat(channels, dim=1)
