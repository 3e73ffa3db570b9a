"""Blur: camera-shake motion (a random-walk path), defocus (a disc) or an anisotropic Gaussian.

`kernel(params)` builds the normalised point-spread function; `apply` convolves each
channel with it (cv2.filter2D, reflected border), so a flat image stays flat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ._common import check_image, check_range, check_severity, disc_kernel, finish, lerp

__all__ = ["BlurParams", "KERNELS", "kernel", "apply", "sample"]

KERNELS = ("motion", "defocus", "gaussian")


@dataclass(frozen=True)
class BlurParams:
    """Which point-spread function and its size; fields a PSF does not use are ignored."""

    psf: str  # "motion", "defocus" or "gaussian": the point-spread function
    size: float  # motion: path length px; defocus: disc radius px; gaussian: sigma px along the major axis
    aspect: float  # gaussian: minor / major sigma in (0, 1] (1: isotropic)
    angle: float  # degrees from vertical: motion start heading, gaussian major axis
    shake: float  # motion: how much the path wanders, 0 (straight line) to 1 (jittery curve)
    seed: int  # motion: the random walk

    def __post_init__(self) -> None:
        if self.psf not in KERNELS:
            raise ValueError(f"psf must be one of {', '.join(KERNELS)}, got {self.psf!r}")
        check_range("size", self.size, 0.0, 64.0)
        check_range("aspect", self.aspect, 1e-3, 1.0)
        check_range("angle", self.angle, -360.0, 360.0)
        check_range("shake", self.shake, 0.0, 1.0)


def _motion_kernel(length: float, angle: float, shake: float, seed: int) -> np.ndarray:
    """(K, K) float32: a camera path of arc length `length` px rasterised by bilinear splatting."""
    rng = np.random.default_rng(seed)
    steps = max(16, math.ceil(8 * length))
    # heading wanders as a random walk; speed varies so the camera dwells at some points
    heading = math.radians(angle) + np.cumsum(rng.normal(0.0, 0.25 * shake, steps))
    speed = np.exp(0.6 * shake * np.cumsum(rng.normal(0.0, 0.15, steps)))
    dx, dy = np.sin(heading) * speed, np.cos(heading) * speed
    scale = length / max(float(np.sum(np.hypot(dx, dy))), 1e-12)
    x, y = np.cumsum(dx) * scale, np.cumsum(dy) * scale
    x, y = x - x.mean(), y - y.mean()  # centre of mass at the kernel centre: no image shift
    half = max(1, math.ceil(max(np.abs(x).max(), np.abs(y).max())))
    size = 2 * half + 1  # one spare row and column below catch the zero-weight spill at the edge
    kernel = np.zeros((size + 1, size + 1), np.float64)
    x, y = x + half, y + half
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for ox, oy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + oy, x0 + ox), weight)
    return kernel[:size, :size].astype(np.float32)


def _gaussian_kernel(sigma: float, aspect: float, angle: float) -> np.ndarray:
    """(K, K) float32: an anisotropic Gaussian, major axis `angle` degrees from vertical."""
    sigma = max(sigma, 1e-3)
    half = max(1, math.ceil(3 * sigma))
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    theta = math.radians(angle)
    along = x * math.sin(theta) + y * math.cos(theta)
    across = x * math.cos(theta) - y * math.sin(theta)
    minor = max(sigma * aspect, 1e-3)
    return np.exp(-0.5 * ((along / sigma) ** 2 + (across / minor) ** 2)).astype(np.float32)


def kernel(params: BlurParams) -> np.ndarray:
    """(K, K) float32, K odd, summing to 1: the point-spread function described by `params`."""
    if params.psf == "motion":
        psf = _motion_kernel(params.size, params.angle, params.shake, params.seed)
    elif params.psf == "defocus":
        psf = disc_kernel(params.size) if params.size >= 0.5 else np.ones((1, 1), np.float32)
    else:
        psf = _gaussian_kernel(params.size, params.aspect, params.angle)
    return (psf / psf.sum(dtype=np.float64)).astype(np.float32)


def apply(image: np.ndarray, params: BlurParams) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same, convolved with `kernel(params)` (reflected border)."""
    check_image(image)
    psf = cv2.flip(kernel(params), -1)  # filter2D correlates; flipping makes it a convolution
    return finish(cv2.filter2D(image, -1, psf, borderType=cv2.BORDER_REFLECT_101))


def sample(rng: np.random.Generator, severity: float) -> BlurParams:
    """Motion (4-25 px), defocus (radius 1-8 px) or Gaussian (sigma 0.7-4 px) blur; size grows with severity.

    Motion paths run from straight lines (shake 0, 30% of motion samples: a panning or
    object blur) through gentle curves (shake up to 0.5, 35%) to jittery camera-shake
    trajectories that dwell and turn back (shake 0.5-1, 35%).
    """
    severity = check_severity(severity)
    psf = KERNELS[int(rng.choice(3, p=[0.45, 0.3, 0.25]))]
    jitter = rng.uniform(0.8, 1.0)
    size = {"motion": lerp(severity, 4.0, 25.0), "defocus": lerp(severity, 1.0, 8.0),
            "gaussian": lerp(severity, 0.7, 4.0)}[psf] * jitter
    aspect = 1.0 if rng.random() < 0.5 else rng.uniform(0.3, 1.0)
    angle = rng.uniform(-180.0, 180.0)
    path = rng.random()
    shake = 0.0 if path < 0.3 else rng.uniform(0.0, 0.5) if path < 0.65 else rng.uniform(0.5, 1.0)
    return BlurParams(psf=psf, size=float(size), aspect=float(aspect) if psf == "gaussian" else 1.0,
                      angle=float(angle), shake=float(shake), seed=int(rng.integers(2**31)))
