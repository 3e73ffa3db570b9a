from __future__ import annotations

import pytest
import torch

from tests.conftest import perturbed_model, synthetic_photo
from uhdrestore.models import PRESETS, ModelConfig, build_model, thumbnail


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_stay_lightweight(preset):
    parameters = sum(p.numel() for p in build_model(PRESETS[preset]).parameters())
    assert parameters <= 2_000_000


@pytest.mark.parametrize("height,width", [(8, 8), (37, 53), (64, 100), (1, 17)])
def test_any_input_size_comes_back_the_same_size(height, width):
    model = perturbed_model()
    with torch.no_grad():
        output = model(torch.rand(2, 3, height, width))
    assert output.shape == (2, 3, height, width)
    assert torch.isfinite(output).all()


def test_untrained_network_is_the_identity():
    model = build_model(ModelConfig()).eval()
    image = torch.rand(1, 3, 40, 72)
    with torch.no_grad():
        assert torch.equal(model(image), image)


def test_shared_context_equals_the_context_of_the_whole_image():
    model = perturbed_model()
    image = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        context = model.encode_context(model.thumbnail(image))
        assert torch.allclose(model(image, context), model(image), atol=1e-6)
        other = model.encode_context(model.thumbnail(torch.zeros_like(image)))
        assert (model(image, other) - model(image)).abs().max() > 1e-5  # the context matters


def test_channels_last_and_contiguous_agree():
    model = perturbed_model()
    image = torch.rand(1, 3, 48, 64)
    with torch.no_grad():
        reference = model(image)
        fast = model.to(memory_format=torch.channels_last)(image.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(reference, fast, atol=1e-5)


def test_config_round_trips_and_rejects_bad_values():
    config = PRESETS["large"]
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown config keys"):
        ModelConfig.from_dict({**config.to_dict(), "depth": 3})
    with pytest.raises(ValueError, match="body_width"):
        ModelConfig(body_width=0)
    with pytest.raises(ValueError, match="architecture"):
        ModelConfig(arch="unet")


def test_thumbnail_tells_a_noisy_image_from_a_clean_one_of_the_same_colour():
    generator = torch.Generator().manual_seed(0)
    clean = torch.full((1, 3, 256, 256), 0.5)
    noisy = clean + 0.1 * torch.randn(clean.shape, generator=generator)
    plain, grainy = thumbnail(clean, 32), thumbnail(noisy, 32)
    assert plain.shape == (1, 6, 32, 32)
    assert (plain[:, :3] - grainy[:, :3]).abs().mean() < 0.02  # the same downscaled colour
    assert grainy[:, 3:].mean() > 0.05 > plain[:, 3:].abs().max()  # but not the same fine detail


def test_the_dark_channel_tells_a_hazy_photo_from_a_soft_one():
    """Both lose fine detail; softening keeps the darkest pixels of each block, haze lifts them."""
    photo = torch.from_numpy(synthetic_photo(128, 128, seed=0)).permute(2, 0, 1)[None]
    soft = torch.nn.functional.avg_pool2d(photo, 5, stride=1, padding=2, count_include_pad=False)
    hazy = 0.5 * photo + 0.5 * 0.8
    assert thumbnail(soft, 16).shape == (1, 6, 16, 16)
    photo_thumb, soft_thumb, hazy_thumb = (thumbnail(image, 16, dark=True) for image in (photo, soft, hazy))
    assert soft_thumb.shape == (1, 7, 16, 16)
    assert torch.equal(soft_thumb[:, :6], thumbnail(soft, 16))
    for thumb in (soft_thumb, hazy_thumb):  # both look less detailed than the photo
        assert thumb[:, 3:6].mean() < 0.6 * photo_thumb[:, 3:6].mean()
    assert (soft_thumb[:, 6] - photo_thumb[:, 6]).mean() < 0.05
    assert (hazy_thumb[:, 6] - photo_thumb[:, 6]).mean() > 0.2


def test_models_saved_without_the_dark_channel_still_load():
    """config.json files written before context_dark existed build the 6-channel context encoder."""
    old = {key: value for key, value in PRESETS["base"].to_dict().items() if key != "context_dark"}
    config = ModelConfig.from_dict(old)
    assert not config.context_dark
    assert build_model(config).context_encoder.features[0].in_channels == 6
    dark = ModelConfig.from_dict({**old, "context_dark": True})
    assert build_model(dark).context_encoder.features[0].in_channels == 7


def test_a_patch_restored_with_its_view_thumbnail_uses_the_view_context():
    model = perturbed_model()
    view = torch.rand(1, 3, 64, 64)
    patch = view[..., 16:48, 16:48]
    with torch.no_grad():
        thumb = model.thumbnail(view)
        assert torch.equal(model(patch, None, thumb), model(patch, model.encode_context(thumb)))
        assert not torch.equal(model(patch, None, thumb), model(patch))
