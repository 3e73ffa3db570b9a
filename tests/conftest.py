"""Shared fixtures: photos and networks made in code (tests never read ../shared)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from uhdrestore.models import ModelConfig, build_model

TINY = ModelConfig(detail_width=8, body_width=16, body_blocks=1, body_iterations=2, context_width=8)


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1]: smooth gradients, hard-edged shapes and fine texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([x / width, y / height, 0.5 + 0.3 * np.sin(x / 37.0 + y / 23.0)], axis=2)
    for _ in range(12):
        cy, cx, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(5, max(height, width) / 5)
        image[(y - cy) ** 2 + (x - cx) ** 2 < radius**2] = rng.uniform(0, 1, 3)
    image += rng.normal(0, 0.03, image.shape).astype(np.float32)
    return np.clip(image, 0, 1).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two float images in [0, 1] (capped at 120 dB for identical images)."""
    return float(10 * np.log10(1.0 / max(float(np.mean((a.astype(np.float64) - b) ** 2)), 1e-12)))


def perturbed_model(config: ModelConfig = TINY, seed: int = 0) -> torch.nn.Module:
    """A network that is not the identity: its zero-initialised residual weights are randomised,
    so tests of tiling and loading exercise every layer, as a trained network would."""
    torch.manual_seed(seed)
    model = build_model(config).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("scale"):
                parameter.normal_(0, 0.3)
            elif "exit" in name or "reinject" in name:
                parameter.normal_(0, 0.02)
    return model


@pytest.fixture
def photo() -> np.ndarray:
    return synthetic_photo(192, 256)


@pytest.fixture
def model() -> torch.nn.Module:
    return perturbed_model()
