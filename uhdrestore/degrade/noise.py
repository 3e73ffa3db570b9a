"""Sensor noise: additive Gaussian, or Poisson-Gaussian (shot noise that grows with the signal).

The noise realisation comes from `params.seed`, so `apply` is deterministic. The per-pixel
standard deviation is sqrt(sigma² + gain · signal) whatever the channel correlation or grain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ._common import check_image, check_range, check_severity, finish, lerp

__all__ = ["NoiseParams", "MODELS", "apply", "sample"]

MODELS = ("gaussian", "poisson_gaussian")


@dataclass(frozen=True)
class NoiseParams:
    """Noise model and strength; values are in [0, 1] image units."""

    model: str  # "gaussian" (sigma only) or "poisson_gaussian" (gain · signal + sigma²)
    sigma: float  # std of the signal-independent (read) noise
    gain: float  # shot noise: variance gain · signal; 0 for the Gaussian model
    channel_correlation: float  # 0: independent per channel, 1: the same (grey) noise in R, G and B
    grain: float  # spatial correlation: blur sigma in px of the noise field (0: white noise)
    seed: int  # the noise realisation

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        check_range("sigma", self.sigma, 0.0, 1.0)
        check_range("gain", self.gain, 0.0, 1.0)
        if self.model == "gaussian" and self.gain != 0:
            raise ValueError(f"gain must be 0 for the gaussian model, got {self.gain!r}")
        check_range("channel_correlation", self.channel_correlation, 0.0, 1.0)
        check_range("grain", self.grain, 0.0, 10.0)


def unit_noise(rng: np.random.Generator, shape: tuple[int, int], correlation: float, grain: float) -> np.ndarray:
    """(H, W, 3) float32 noise with unit variance per pixel and channel, channel- and spatially correlated."""
    noise = rng.standard_normal((*shape, 3), dtype=np.float32)
    if correlation > 0:
        shared = rng.standard_normal((*shape, 1), dtype=np.float32)
        noise = math.sqrt(1 - correlation) * noise + math.sqrt(correlation) * shared
    if grain > 0:
        taps = cv2.getGaussianKernel(2 * math.ceil(3 * grain) + 1, grain).ravel()
        noise = cv2.sepFilter2D(noise, -1, taps, taps, borderType=cv2.BORDER_REFLECT_101)
        noise /= np.float32(np.sum(taps**2))  # blurred variance is (sum taps²)²: back to 1
    return noise.astype(np.float32, copy=False)


def apply(image: np.ndarray, params: NoiseParams) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same, plus noise of std sqrt(sigma² + gain · image), clipped."""
    check_image(image)
    rng = np.random.default_rng(params.seed)
    noise = unit_noise(rng, image.shape[:2], params.channel_correlation, params.grain)
    variance = np.float32(params.sigma**2) + np.float32(params.gain) * np.clip(image, 0.0, 1.0)
    return finish(image + np.sqrt(variance) * noise)


def sample(rng: np.random.Generator, severity: float) -> NoiseParams:
    """Noise whose std on mid grey runs from about 5/255 (severity 0) to 50/255 (severity 1)."""
    severity = check_severity(severity)
    total = lerp(severity, 5.0, 50.0) / 255 * rng.uniform(0.85, 1.0)  # std at signal 0.5
    model = MODELS[int(rng.integers(2))]
    if model == "gaussian":
        sigma, gain = total, 0.0
    else:
        shot = rng.uniform(0.5, 0.9)  # share of the variance at mid grey due to shot noise
        sigma, gain = math.sqrt(1 - shot) * total, shot * total**2 / 0.5
    correlation = 0.0 if rng.random() < 0.5 else rng.uniform(0.2, 1.0)
    grain = 0.0 if rng.random() < 0.6 else rng.uniform(0.4, 1.2)
    return NoiseParams(model=model, sigma=float(sigma), gain=float(gain), channel_correlation=float(correlation),
                       grain=float(grain), seed=int(rng.integers(2**31)))
