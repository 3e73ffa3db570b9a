"""Image quality metrics for validation: PSNR and SSIM, one score per image.

Both take (B, C, H, W) batches and return (B,) so a caller can average over a
validation set however it likes (per task, per image) without losing samples
to a batch mean. SSIM uses torchmetrics' implementation with the standard
11-pixel Gaussian window (sigma 1.5), so our numbers match published ones.
"""

from __future__ import annotations

from typing import cast

import torch

from .extras import require_extra

__all__ = ["PSNR_CAP_DB", "psnr", "ssim"]

# Identical images have infinite PSNR; a finite cap keeps averages and JSON meaningful.
PSNR_CAP_DB = 100.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def _check_pair(output: torch.Tensor, target: torch.Tensor, data_range: float) -> None:
    if output.ndim != 4:
        raise ValueError(f"expected (B, C, H, W) tensors, got shape {tuple(output.shape)}")
    if output.shape != target.shape:
        raise ValueError(
            f"output and target shapes differ: {tuple(output.shape)} vs {tuple(target.shape)}"
        )
    if not data_range > 0:
        raise ValueError(f"data_range must be positive, got {data_range}")


def psnr(output: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """(B, C, H, W) float pair -> (B,) float64 PSNR in dB, one value per image.

    A score, not a loss: inputs are detached. Computed in float64 so small errors on
    large images are not lost to rounding. Inputs are not clamped (a raw network
    output is scored as it is). Identical images, and any PSNR above the cap, give
    `PSNR_CAP_DB` (100 dB) instead of inf.
    """
    _check_pair(output, target, data_range)
    difference = output.detach().to(torch.float64) - target.detach().to(torch.float64)
    mse = difference.square().flatten(1).mean(dim=1)
    cap = torch.full_like(mse, PSNR_CAP_DB)
    scores = 10.0 * torch.log10(data_range**2 / mse)  # inf where mse == 0, replaced below
    return torch.where(mse > 0, torch.minimum(scores, cap), cap)


def ssim(output: torch.Tensor, target: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """(B, C, H, W) float pair -> (B,) SSIM per image (1 for identical images), detached.

    Both inputs are clamped to [0, data_range] first: SSIM's constants assume
    that range, and an unclamped network output would score against values no
    saved image can hold. Images must be at least 11 pixels on each side.
    Raises MissingExtraError without the [train] extra (torchmetrics).
    """
    # Imported here: torchmetrics is in the [train] extra, takes half a second to import and pulls in
    # matplotlib.pyplot.
    require_extra("train", "SSIM", "torchmetrics")
    from torchmetrics.functional.image import structural_similarity_index_measure

    _check_pair(output, target, data_range)
    height, width = output.shape[-2:]
    if min(height, width) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {height}x{width}"
        )
    dtype = output.dtype if output.dtype in (torch.float32, torch.float64) else torch.float32
    output = output.detach().to(dtype).clamp(0.0, data_range)
    target = target.detach().to(dtype).clamp(0.0, data_range)
    # One tensor: the (SSIM, image) tuple comes only with return_full_image or return_contrast_sensitivity
    return cast(torch.Tensor, structural_similarity_index_measure(
        output,
        target,
        gaussian_kernel=True,
        sigma=SSIM_SIGMA,
        kernel_size=SSIM_WINDOW,
        reduction="none",
        data_range=data_range,
    ))
