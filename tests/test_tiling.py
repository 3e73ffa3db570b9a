from __future__ import annotations

import numpy as np
import pytest
import torch

from uhdrestore.io import from_float
from uhdrestore.tiling import axis_spans, blend_ramp, process_tiles

CPU = torch.device("cpu")


@pytest.mark.parametrize("length,tile,overlap,align", [
    (2048, 512, 32, 8), (1000, 256, 16, 1), (3840, 1024, 64, 8), (37, 16, 2, 1), (2161, 512, 32, 8),
    (513, 512, 32, 8), (100, 0, 32, 8), (100, 200, 32, 8),
])
def test_spans_cover_the_axis_evenly_with_the_overlap(length, tile, overlap, align):
    spans = axis_spans(length, tile, overlap, align)
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(start % align == 0 for start, _ in spans)
    if tile > 0:
        assert all(end - start <= tile for start, end in spans)
    for (_, end), (next_start, _) in zip(spans, spans[1:]):
        assert end - next_start >= overlap  # neighbours share at least the overlap
    sizes = [end - start for start, end in spans]
    assert max(sizes) - min(sizes) < align + 1  # even: no thin last tile


def test_too_small_tile_for_overlap_is_an_error():
    with pytest.raises(ValueError, match="too small"):
        axis_spans(1000, 40, 32, 8)


def test_mirrored_ramps_cross_fade_to_one():
    first = blend_ramp(0, 100, None, 60)
    second = blend_ramp(60, 160, 100, None)
    np.testing.assert_allclose(first[60:] + second[:40], 1.0, atol=1e-6)
    assert (first > 0).all() and (second > 0).all()


@pytest.mark.parametrize("height,width,tile,overlap,align", [
    (301, 517, 64, 8, 8), (256, 256, 128, 16, 1), (97, 33, 48, 4, 1), (64, 64, 0, 32, 8), (1, 700, 128, 8, 1),
])
def test_identity_function_gives_the_input_back(height, width, tile, overlap, align):
    rng = np.random.default_rng(height * width)
    image = rng.integers(0, 256, (height, width, 3)).astype(np.float32) / 255
    output, stats = process_tiles(image, lambda t: t, tile=tile, overlap=overlap, device=CPU, align=align)
    assert output.shape == image.shape
    np.testing.assert_allclose(output, image, atol=1e-6)
    assert np.array_equal(from_float(output, np.uint8), from_float(image, np.uint8))  # exact at 8 bits
    if tile and max(height, width) > tile:
        assert stats.tiles > 1


def test_each_tile_sees_at_most_the_tile_size_and_channels_may_change():
    seen = []

    def fn(tile: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(tile.shape))
        return tile.mean(dim=1, keepdim=True)

    image = np.random.default_rng(0).random((500, 700, 3), dtype=np.float32)
    output, stats = process_tiles(image, fn, tile=128, overlap=16, device=CPU)
    assert output.shape == (500, 700, 1)
    assert max(max(shape[2:]) for shape in seen) <= 128
    assert stats.tiles == len(seen)
    np.testing.assert_allclose(output[..., 0], image.mean(axis=2), atol=1e-5)


def test_out_of_memory_halves_the_tile_and_redoes_the_row(monkeypatch):
    calls = []

    def fn(tile: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(tile.shape[2:]))
        if max(tile.shape[2:]) > 100:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return tile * 2

    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    image = np.random.default_rng(1).random((300, 400, 3), dtype=np.float32)
    output, stats = process_tiles(image, fn, tile=256, overlap=8, device=CPU, min_tile=32)
    assert stats.retries == 2 and stats.tile == 64
    np.testing.assert_allclose(output, image * 2, atol=1e-5)


def test_out_of_memory_at_the_smallest_tile_is_raised():
    def fn(tile: torch.Tensor) -> torch.Tensor:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    image = np.zeros((200, 200, 3), dtype=np.float32)
    with pytest.raises(torch.cuda.OutOfMemoryError):
        process_tiles(image, fn, tile=128, overlap=8, device=CPU, min_tile=64)


def test_tiles_reach_fn_channels_last_with_a_true_batch_stride():
    """A batch stride of C (from `permute(...)[None]`) made pixel_unshuffle return NCHW: 14% slower."""
    seen = []

    def fn(tile: torch.Tensor) -> torch.Tensor:
        seen.append(torch.nn.functional.pixel_unshuffle(tile, 4))
        return tile

    image = np.random.default_rng(0).random((64, 96, 3), dtype=np.float32)
    process_tiles(image, fn, tile=0, overlap=0, device=torch.device("cpu"))
    assert seen[0].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("tile", [0, 64, 100])
def test_integer_pixels_in_and_out_with_only_a_band_of_floats(tile):
    """prepare/finish: tiles are converted one at a time and finished rows go straight into a
    uint8 output, so no float copy of the whole image is ever made."""
    image = np.random.default_rng(2).integers(0, 256, (230, 190, 3), dtype=np.uint8)
    prepared, finished = [], []

    def prepare(pixels: np.ndarray) -> np.ndarray:
        prepared.append(pixels.shape)
        return pixels.astype(np.float32) / 255

    def finish(rows: np.ndarray) -> np.ndarray:
        finished.append(rows.shape[0])
        return from_float(rows, np.uint8)

    output, _ = process_tiles(image, lambda t: t, tile=tile, overlap=8, device=CPU, prepare=prepare,
                              finish=finish, output=np.empty_like(image))
    assert output.dtype == np.uint8 and np.array_equal(output, image)
    assert sum(finished) == 230 and max(finished) <= 64  # every row finished once, in small slices
    if tile:
        assert max(max(shape[:2]) for shape in prepared) <= tile
