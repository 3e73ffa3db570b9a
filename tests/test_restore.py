from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import perturbed_model, synthetic_photo
from uhdrestore.models import PRESETS
from uhdrestore.restore import TileConfig, auto_tile_size, restore_image
from uhdrestore.runtime import resolve_runtime

CPU = resolve_runtime("cpu")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-20)))


def test_tiled_output_matches_untiled_output_of_a_real_network():
    # The default architecture, with every layer active, on a 1024x1024 photo cut into 256-pixel tiles.
    model = perturbed_model(PRESETS["base"]).to(memory_format=torch.channels_last)
    image = synthetic_photo(1024, 1024, seed=3)
    whole = restore_image(image, model, CPU, TileConfig(tile=0))
    tiled = restore_image(image, model, CPU, TileConfig(tile=256))
    assert whole.tiling.tiles == 1 and tiled.tiling.tiles >= 16
    assert psnr(whole.image, image) < 40  # the network really changes the image...
    assert psnr(tiled.image, whole.image) >= 50  # ...and tiles agree with the whole image


def test_without_overlap_seams_appear():
    model = perturbed_model(PRESETS["base"])
    image = synthetic_photo(512, 512, seed=4)
    whole = restore_image(image, model, CPU, TileConfig(tile=0))
    seamed = restore_image(image, model, CPU, TileConfig(tile=128, overlap=0))
    blended = restore_image(image, model, CPU, TileConfig(tile=160, overlap=32))
    assert psnr(blended.image, whole.image) > psnr(seamed.image, whole.image) + 10


def test_output_is_clamped_to_the_valid_range(model):
    image = synthetic_photo(64, 64)
    restored = restore_image(image, model, CPU).image
    assert restored.dtype == np.float32 and restored.min() >= 0 and restored.max() <= 1


def test_progress_reports_every_tile(model):
    calls = []
    restore_image(synthetic_photo(300, 300), model, CPU, TileConfig(tile=128, overlap=16),
                  on_tile=lambda done, total: calls.append((done, total)))
    assert calls[-1][0] == calls[-1][1] == len(calls)


def test_auto_tile_keeps_small_images_whole_and_bounds_large_ones():
    assert auto_tile_size(2160, 3840, bytes_per_pixel=100, budget=1 << 30) == 0
    side = auto_tile_size(4320, 7680, bytes_per_pixel=100, budget=1 << 30)
    assert 0 < side and side * side * 100 <= 1 << 30


@pytest.mark.parametrize("kwargs,message", [
    ({"tile": -1}, "tile"), ({"tile": 64}, "at least"), ({"overlap": -2}, "overlap"),
    ({"tile": 200, "overlap": 64}, "4x"),
])
def test_bad_tile_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TileConfig(**kwargs)


class OverflowsInHalfPrecision(torch.nn.Module):
    """Wraps a model; returns inf wherever autocast is on, as an fp16 overflow would."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.config, self.descriptor = inner.config, inner.descriptor

    def thumbnail(self, image):
        return self.inner.thumbnail(image)

    def encode_context(self, thumb):
        return self.inner.encode_context(thumb)

    def forward(self, x, context=None):
        output = self.inner(x, context)
        return output * float("inf") if torch.is_autocast_enabled("cpu") else output


def test_non_finite_half_precision_tiles_are_redone_in_fp32(model):
    image = synthetic_photo(64, 64)
    reference = restore_image(image, model, CPU).image
    result = restore_image(image, OverflowsInHalfPrecision(model), resolve_runtime("cpu", "bf16"))
    assert result.fallbacks == ["fp32"]
    np.testing.assert_allclose(result.image, reference, atol=1e-6)


def test_out_of_memory_at_every_tile_size_is_a_device_memory_error(model, monkeypatch):
    from uhdrestore.errors import DeviceMemoryError

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(model, "forward", out_of_memory)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    with pytest.raises(DeviceMemoryError, match="out of memory"):
        restore_image(synthetic_photo(300, 300), model, CPU, TileConfig(tile=256))


# --- issue 17 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dark", [False, True])
@pytest.mark.parametrize("height,width", [(301, 517), (8, 2000), (3, 50), (1000, 37), (64, 64)])
def test_the_banded_thumbnail_equals_the_whole_image_thumbnail(monkeypatch, dark, height, width):
    import dataclasses

    import uhdrestore.restore
    from tests.conftest import TINY
    from uhdrestore.io import to_float
    from uhdrestore.models import build_model
    from uhdrestore.restore import banded_thumbnail

    network = build_model(dataclasses.replace(TINY, context_dark=dark)).eval()
    pixels = (synthetic_photo(height, width) * 255).astype(np.uint8)
    whole = network.thumbnail(torch.from_numpy(to_float(pixels)).permute(2, 0, 1)[None])
    monkeypatch.setattr(uhdrestore.restore, "THUMBNAIL_BAND_PIXELS", 5000)  # many bands, some of 4 rows
    banded = banded_thumbnail(network, pixels, to_float)
    assert banded.shape == whole.shape
    torch.testing.assert_close(banded, whole, rtol=0, atol=1e-5)


def test_8_bit_pixels_restore_like_their_float_form(model):
    from uhdrestore.io import from_float, to_float
    from uhdrestore.restore import restore_pixels

    pixels = (synthetic_photo(200, 260) * 255).astype(np.uint8)
    tiles = TileConfig(tile=128, overlap=16)
    direct = restore_pixels(pixels, model, CPU, tiles).image
    via_float = from_float(restore_image(to_float(pixels), model, CPU, tiles).image, np.uint8)
    assert direct.dtype == np.uint8 and np.abs(direct.astype(int) - via_float).max() <= 1


def test_hdr_float_pixels_are_restored_scaled_and_mapped_back(model):
    from uhdrestore.restore import restore_pixels

    photo = synthetic_photo(64, 80)
    plain = restore_pixels(photo, model, CPU)
    hdr = restore_pixels(photo * 4, model, CPU)
    assert plain.span is None and hdr.span == (0.0, pytest.approx(float(photo.max()) * 4))
    np.testing.assert_allclose(hdr.image, plain.image * hdr.span[1], atol=1e-5)  # not clipped at 1


def test_a_non_finite_output_even_in_fp32_is_an_error(model, monkeypatch):
    from uhdrestore.errors import NonFiniteOutputError

    monkeypatch.setattr(model, "forward", lambda x, context=None: x * float("nan"))
    with pytest.raises(NonFiniteOutputError, match="NaN or infinite"):
        restore_image(synthetic_photo(64, 64), model, CPU)


def test_a_thin_image_keeps_its_colours_like_any_other():
    """An 8 x 4000 strip shifted the channel means of the bundled model by up to 21/255; mirrored
    out to 64 rows it changes them as a square image of the same content does."""
    from uhdrestore.hub import load_model

    network = load_model("default").module
    rng = np.random.default_rng(0)

    def mean_shift(height: int, width: int) -> np.ndarray:
        image = np.clip(0.5 + 0.2 * rng.standard_normal((height, width, 3)), 0, 1).astype(np.float32)
        restored = restore_image(image, network, CPU).image
        return (restored.mean(axis=(0, 1)) - image.mean(axis=(0, 1))) * 255

    square = mean_shift(512, 512)
    for height, width in ((8, 4000), (4000, 8)):
        assert np.abs(mean_shift(height, width) - square).max() < 2.0
    # One row mirrored out is vertical stripes, not the square's content: v5 shifts it by up to 3.4/255.
    assert np.abs(mean_shift(1, 3000) - square).max() < 5.0
