"""Run a function over an image in overlapping tiles and blend the results seamlessly.

This module knows nothing about models. `process_tiles` cuts a host image into
evenly sized, overlapping tiles (chaiNNer's even split: the tile size follows from
the tile count, so there is no thin last tile), moves one tile at a time to the
device, calls `fn` on it, and blends the result with a smooth sin² window, so device
memory is bounded by the tile size whatever the image size.

Host memory is bounded too: tiles are converted to float one at a time (`prepare`), and
the float32 accumulator holds only the current row of tiles plus the rows it shares with
the next one. Rows no later tile reaches are final: they are converted (`finish`, in
slices of a few rows) into the output array, which may be of the input's own dtype, so
an 8-bit image is restored with 8-bit input and output plus one band of floats.

Terms, as a user sees them:
    tile     the side of a tile in pixels (0: the whole image in one piece);
    overlap  how many pixels neighbouring tiles share; each tile sees that much
             context past its seam, and the two outputs are cross-faded over it.
             Seams vanish once the overlap covers the network's effective reach;
    align    tile origins fall on multiples of this, so a network that
             downsamples by 8 sees the same pixel grid in a tile as in the image.

On CUDA out-of-memory the tile side is halved and the current row of tiles is
redone (its partial results are thrown away), down to `min_tile`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["TileStats", "axis_spans", "blend_ramp", "process_tiles"]

TileFn = Callable[[torch.Tensor], torch.Tensor]
FINISH_ROWS = 64  # rows converted by `finish` at a time: bounds its temporaries


@dataclass
class TileStats:
    """What happened while tiling: reported by `--json` and the benchmarks."""

    tile: int = 0  # final tile side (0: untiled)
    tiles: int = 0  # tiles computed, retries included
    retries: int = 0  # out-of-memory retries


def axis_spans(length: int, tile: int, overlap: int, align: int = 1) -> list[tuple[int, int]]:
    """Split [0, length) into even spans of at most `tile` that overlap by at least `overlap`.

    Starts are multiples of `align`; the last span ends at `length`. `tile <= 0` or a
    `length` that fits gives one span. Raises ValueError if the tile is too small
    for the overlap.
    """
    if tile <= 0 or length <= tile:
        return [(0, length)]
    usable = tile - (align - 1)  # the last span may grow by up to align - 1
    needed = overlap + (align - 1)  # flooring starts to `align` may cost that much overlap
    if usable - needed < max(align, 1) or usable <= 2 * needed:
        raise ValueError(f"tile {tile} is too small for overlap {overlap} (align {align})")
    count = math.ceil((length - needed) / (usable - needed))
    size = math.ceil((length - needed) / count) + needed
    step = (length - size) / (count - 1)
    starts = [int(round(index * step)) // align * align for index in range(count)]
    ends = [start + size for start in starts[:-1]] + [length]
    return list(zip(starts, ends))


def blend_ramp(start: int, end: int, previous_end: int | None, next_start: int | None) -> np.ndarray:
    """1-D weights (end - start,) for one span: sin² up over the overlap with the previous
    span, cos² down over the overlap with the next, 1 elsewhere; never exactly 0.

    Mirrored ramps over the same pixels sum to 1, so a blend of two tiles is a cross-fade.
    """
    weights = np.ones(end - start, dtype=np.float32)
    if previous_end is not None and previous_end > start:
        width = previous_end - start
        weights[:width] = np.sin(0.5 * np.pi * (np.arange(width) + 0.5) / width) ** 2
    if next_start is not None and next_start < end:
        width = end - next_start
        weights[end - start - width:] *= np.cos(0.5 * np.pi * (np.arange(width) + 0.5) / width) ** 2
    return weights


def _span_ramps(spans: list[tuple[int, int]]) -> list[np.ndarray]:
    ramps = []
    for index, (start, end) in enumerate(spans):
        before = spans[index - 1][1] if index > 0 else None
        after = spans[index + 1][0] if index + 1 < len(spans) else None
        ramps.append(blend_ramp(start, end, before, after))
    return ramps


def process_tiles(
    image: np.ndarray,
    fn: TileFn,
    *,
    tile: int,
    overlap: int,
    device: torch.device,
    align: int = 1,
    min_tile: int = 64,
    on_tile: Callable[[int, int], None] | None = None,
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
    finish: Callable[[np.ndarray], np.ndarray] | None = None,
    output: np.ndarray | None = None,
) -> tuple[np.ndarray, TileStats]:
    """Apply `fn` to `image` tile by tile and blend: (H, W, C) -> (H, W, C').

    `prepare` turns a slice of `image` into (h, w, C) float32 (default: `image` is float32
    already). `fn` takes a (1, C, h, w) float32 tensor on `device` (channels-last) and
    returns a (1, C', h, w) tensor there. `finish` turns blended (rows, W, C') float32 rows
    into what `output` holds (default: float32 as they are); `output` is allocated as
    float32 when not given. `on_tile(done, total)` is called after each tile.
    Raises torch.cuda.OutOfMemoryError if even `min_tile` does not fit.
    """
    height, width, _channels = image.shape
    prepare = prepare or (lambda pixels: pixels.astype(np.float32, copy=False))
    stats = TileStats(tile=tile if tile > 0 and max(height, width) > tile else 0)
    rows = axis_spans(height, stats.tile, overlap, align)
    # Weighted sums and weights of the rows the finished row shares with the current one.
    carry: tuple[np.ndarray, np.ndarray] | None = None
    index, previous_end, done = 0, None, 0
    while index < len(rows):
        (top, bottom), next_top = rows[index], (rows[index + 1][0] if index + 1 < len(rows) else None)
        columns = axis_spans(width, stats.tile, overlap, align)
        total = done + (len(rows) - index) * len(columns)
        row_ramp = blend_ramp(top, bottom, previous_end, next_top)
        band: np.ndarray | None = None
        band_weight = np.zeros((bottom - top, width, 1), dtype=np.float32)
        try:
            for count, ((left, right), column_ramp) in enumerate(zip(columns, _span_ramps(columns)), 1):
                result = _run_tile(fn, prepare(image[top:bottom, left:right]), device)
                stats.tiles += 1
                if band is None:
                    band = np.zeros((bottom - top, width, result.shape[2]), dtype=np.float32)
                window = row_ramp[:, None, None] * column_ramp[None, :, None]
                band[:, left:right] += result * window
                band_weight[:, left:right] += window
                if on_tile is not None:
                    on_tile(done + count, total)
        except torch.cuda.OutOfMemoryError:
            current = stats.tile or max(height, width)
            smaller = current // 2 // align * align
            if smaller < min_tile or smaller <= 2 * (overlap + align):
                raise
            # Throw this row's partial results away; redo it and plan the rows below with the smaller tile.
            torch.cuda.empty_cache()
            stats.tile, stats.retries = smaller, stats.retries + 1
            rows = rows[:index] + [(top + a, top + b) for a, b in axis_spans(height - top, smaller, overlap, align)]
            continue
        assert band is not None  # every row has at least one column
        if carry is not None:
            band[: len(carry[0])] += carry[0]
            band_weight[: len(carry[1])] += carry[1]
        if output is None:
            output = np.empty((height, width, band.shape[2]), dtype=np.float32)
        final = (bottom if next_top is None else next_top) - top  # rows no later tile reaches
        np.divide(band[:final], band_weight[:final], out=band[:final])
        for start in range(0, final, FINISH_ROWS):
            rows_done = band[start : min(final, start + FINISH_ROWS)]
            output[top + start : top + start + len(rows_done)] = rows_done if finish is None else finish(rows_done)
        carry = (band[final:].copy(), band_weight[final:].copy())
        done += len(columns)
        previous_end, index = bottom, index + 1
    assert output is not None  # every image has at least one row
    return output, stats


def _run_tile(fn: TileFn, pixels: np.ndarray, device: torch.device) -> np.ndarray:
    """(h, w, C) host float32 -> fn on device -> (h, w, C') host float32."""
    # A channels-last view with a true batch stride: `permute(...)[None]` would give the batch
    # dimension stride C, which makes pixel_unshuffle fall back to NCHW (14% slower on CPU).
    tensor = torch.from_numpy(np.ascontiguousarray(pixels))[None].permute(0, 3, 1, 2)
    if device.type == "cuda":
        tensor = tensor.pin_memory().to(device, non_blocking=True)
    else:
        tensor = tensor.to(device)
    result = fn(tensor)
    return result[0].permute(1, 2, 0).float().cpu().numpy()
