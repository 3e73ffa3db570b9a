"""Reconstruction losses, per sample so review learning can track each sample's loss."""

from __future__ import annotations

import torch

__all__ = ["charbonnier", "fft_amplitude_l1", "reconstruction_loss"]


def charbonnier(output: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """(B, C, H, W) pair -> (B,) mean of sqrt(diff² + eps²): L1 that stays smooth at zero."""
    diff = (output.float() - target.float()).pow(2).add(eps * eps).sqrt()
    return diff.mean(dim=(1, 2, 3))


def fft_amplitude_l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) pair -> (B,) L1 between FFT amplitudes: penalises lost edges and texture."""
    output_amplitude = torch.fft.rfft2(output.float(), norm="ortho").abs()
    target_amplitude = torch.fft.rfft2(target.float(), norm="ortho").abs()
    return (output_amplitude - target_amplitude).abs().mean(dim=(1, 2, 3))


def reconstruction_loss(output: torch.Tensor, target: torch.Tensor, *, fft_weight: float) -> torch.Tensor:
    """(B,) Charbonnier plus `fft_weight` times the FFT amplitude term."""
    loss = charbonnier(output, target)
    if fft_weight > 0:
        loss = loss + fft_weight * fft_amplitude_l1(output, target)
    return loss
