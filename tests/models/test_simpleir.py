from __future__ import annotations

import pytest
import torch

from tests.conftest import perturbed_model
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
        context = model.encode_context(thumbnail(image, model.config.context_size))
        assert torch.allclose(model(image, context), model(image), atol=1e-6)
        other = model.encode_context(thumbnail(torch.zeros_like(image), model.config.context_size))
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


def test_a_patch_restored_with_its_view_thumbnail_uses_the_view_context():
    model = perturbed_model()
    view = torch.rand(1, 3, 64, 64)
    patch = view[..., 16:48, 16:48]
    with torch.no_grad():
        thumb = thumbnail(view, model.config.context_size)
        assert torch.equal(model(patch, None, thumb), model(patch, model.encode_context(thumb)))
        assert not torch.equal(model(patch, None, thumb), model(patch))
