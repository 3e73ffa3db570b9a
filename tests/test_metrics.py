"""PSNR and SSIM: known-noise PSNR, per-sample shapes, the identical-image cap, SSIM orderings."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.functional.image import structural_similarity_index_measure

from uhdrestore.metrics import PSNR_CAP_DB, psnr, ssim


def _images(batch: int = 2, size: int = 64, seed: int = 0) -> torch.Tensor:
    """(B, 3, H, W) float32 in [0.2, 0.8]: gradients plus texture, far from the clamp limits."""
    generator = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    base = torch.stack([x, y, 0.5 + 0.5 * torch.sin(12 * x + 7 * y)])
    texture = torch.rand(batch, 3, size, size, generator=generator)
    return 0.2 + 0.6 * (0.7 * base + 0.3 * texture)


def _blur(images: torch.Tensor, radius: int) -> torch.Tensor:
    kernel = 2 * radius + 1
    return F.avg_pool2d(F.pad(images, [radius] * 4, mode="replicate"), kernel, stride=1)


@pytest.mark.parametrize("sigma", [0.01, 0.05, 0.1])
def test_psnr_matches_noise_level(sigma: float) -> None:
    clean = _images(batch=3, size=128)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(1)) * sigma
    scores = psnr(clean + noise, clean)
    assert scores.shape == (3,)
    assert scores.dtype == torch.float64
    expected = 10 * math.log10(1 / sigma**2)
    assert torch.allclose(scores, torch.full_like(scores, expected), atol=0.1)


def test_psnr_is_per_sample_and_respects_data_range() -> None:
    clean = _images(batch=2)
    noisy = clean.clone()
    noisy[1] += 0.1  # only the second image is off, by exactly 0.1 everywhere
    scores = psnr(noisy, clean)
    assert scores[0] == PSNR_CAP_DB
    assert scores[1].item() == pytest.approx(20.0, abs=1e-4)
    scaled = psnr(noisy * 255, clean * 255, data_range=255.0)
    assert scaled[1].item() == pytest.approx(20.0, abs=1e-4)


def test_psnr_identical_is_capped_not_infinite() -> None:
    clean = _images(batch=4)
    scores = psnr(clean, clean)
    assert torch.equal(scores, torch.full((4,), PSNR_CAP_DB, dtype=torch.float64))
    assert PSNR_CAP_DB == 100.0


def test_shape_mismatch_and_bad_rank_raise() -> None:
    with pytest.raises(ValueError, match="differ"):
        psnr(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 17))
    with pytest.raises(ValueError, match="B, C, H, W"):
        ssim(torch.zeros(3, 16, 16), torch.zeros(3, 16, 16))
    with pytest.raises(ValueError, match="at least"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_ssim_identical_is_one_per_sample() -> None:
    clean = _images(batch=3)
    scores = ssim(clean, clean)
    assert scores.shape == (3,)
    assert torch.allclose(scores, torch.ones(3), atol=1e-6)


def test_ssim_decreases_with_noise_and_blur() -> None:
    clean = _images(batch=1, size=96)
    generator = torch.Generator().manual_seed(2)
    noise = torch.randn(clean.shape, generator=generator)
    noise_scores = [ssim(clean + sigma * noise, clean).item() for sigma in (0.0, 0.02, 0.05, 0.1)]
    assert noise_scores == sorted(noise_scores, reverse=True)
    assert noise_scores[-1] < 0.9
    blur_scores = [ssim(_blur(clean, radius), clean).item() for radius in (0, 1, 2, 4)]
    assert blur_scores == sorted(blur_scores, reverse=True)
    assert len(set(blur_scores)) == 4


def test_ssim_agrees_with_torchmetrics() -> None:
    clean = _images(batch=2, size=64)
    noisy = (clean + 0.05 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(3)))
    noisy = noisy.clamp(0, 1)  # ours clamps; compare on inputs already in range
    reference = structural_similarity_index_measure(
        noisy, clean, gaussian_kernel=True, sigma=1.5, kernel_size=11, reduction="none",
        data_range=1.0,
    )
    assert torch.allclose(ssim(noisy, clean), reference, atol=1e-6)


def test_ssim_clamps_out_of_range_outputs() -> None:
    clean = _images(batch=1)
    overshoot = clean.clone()
    overshoot[..., :8, :] = 1.7  # a raw network output beyond white
    assert torch.allclose(ssim(overshoot, clean), ssim(overshoot.clamp(0, 1), clean))
