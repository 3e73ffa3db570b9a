"""Helpers shared by the degradation modules: argument checks, kernels, random fields, veils.

Everything here is a pure function of its arguments; randomness comes from a passed-in
`np.random.Generator` (or a seed turned into one), never from global state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

_SHIFT = 4  # fractional bits for cv2 drawing: sub-pixel end points
_SCALE = 1 << _SHIFT


def check_image(image: np.ndarray) -> None:
    """Raise ValueError unless `image` is an (H, W, 3) float32 array with H, W >= 1."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"expected an (H, W, 3) float32 numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) float32 image, got shape {image.shape}")
    if image.dtype != np.float32:
        raise ValueError(f"expected an (H, W, 3) float32 image, got dtype {image.dtype}")


def check_severity(severity: float) -> float:
    """`severity` as a float; ValueError unless it is a finite number in [0, 1]."""
    if isinstance(severity, bool) or not isinstance(severity, (int, float, np.floating, np.integer)):
        raise ValueError(f"severity must be a number in [0, 1], got {severity!r}")
    if not 0.0 <= float(severity) <= 1.0:  # also false for NaN
        raise ValueError(f"severity must be in [0, 1], got {severity!r}")
    return float(severity)


def check_range(name: str, value: float, low: float, high: float) -> None:
    """Raise ValueError unless low <= value <= high (NaN fails too)."""
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def check_colour(name: str, colour: Sequence[float]) -> None:
    """Raise ValueError unless `colour` is three numbers in [0, 1]."""
    if len(colour) != 3 or not all(0.0 <= c <= 1.0 for c in colour):
        raise ValueError(f"{name} must be three values in [0, 1], got {colour!r}")


def lerp(severity: float, light: float, heavy: float) -> float:
    """The value at `severity` on the line from `light` (0) to `heavy` (1)."""
    return light + (heavy - light) * severity


def finish(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float -> float32 clipped to [0, 1]."""
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with reflect border; sigma <= 0 returns the input unchanged.

    Wide blurs (sigma > 8 px) run on a downscaled copy and are scaled back up: the
    result is smooth anyway, and a 4K luminance guide blurs in milliseconds, not seconds.
    """
    if sigma <= 0:
        return image
    height, width = image.shape[:2]
    factor = sigma / 4
    if sigma <= 8 or min(height, width) / factor < 8:
        return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)
    small = cv2.resize(image, (round(width / factor), round(height / factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=4.0, sigmaY=4.0, borderType=cv2.BORDER_REFLECT_101)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def luminance(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W) float32 Rec. 709 luma."""
    return (image @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)).astype(np.float32)


def smooth_field(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """(H, W) float32 in [0, 1]: a smooth random field whose blobs span about `scale` of the short side."""
    cells = max(1.0, 1.0 / max(scale, 1e-3))  # blobs across the shorter side
    short = min(height, width)
    grid_h = max(4, math.ceil(4 * cells * height / short))
    grid_w = max(4, math.ceil(4 * cells * width / short))
    coarse = rng.standard_normal((grid_h, grid_w)).astype(np.float32)
    coarse = cv2.GaussianBlur(coarse, (0, 0), sigmaX=2.0, borderType=cv2.BORDER_REFLECT_101)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return normalise(field)


def normalise(values: np.ndarray) -> np.ndarray:
    """Rescale to [0, 1] float32; a constant input becomes zeros."""
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def line_kernel(length: float, angle: float, width: float, *, taper: float = 0.0) -> np.ndarray:
    """(K, K) float32 with peak 1: an anti-aliased line `length` px long, `width` px thick.

    `angle` is in degrees from vertical, positive leaning the bottom end to the right
    (image y grows downwards). `taper` in [0, 1] dims the ends (1: they fade to zero).
    """
    radius = max(length, width) / 2 + 1
    size = 2 * math.ceil(radius) + 1
    centre = size // 2
    theta = math.radians(angle)
    dx, dy = math.sin(theta) * length / 2, math.cos(theta) * length / 2
    ends = [(round((centre - dx) * _SCALE), round((centre - dy) * _SCALE)),
            (round((centre + dx) * _SCALE), round((centre + dy) * _SCALE))]
    kernel = np.zeros((size, size), np.float32)
    cv2.line(kernel, ends[0], ends[1], 1.0, max(1, round(width)), cv2.LINE_AA, _SHIFT)
    if taper > 0 and length > 0:
        y, x = np.mgrid[0:size, 0:size].astype(np.float32) - centre
        along = (x * math.sin(theta) + y * math.cos(theta)) / (length / 2 + 0.5)
        kernel *= np.clip(1.0 - taper * along**2, 0.0, 1.0)
    peak = float(kernel.max())
    if peak <= 0:  # a degenerate line: a single dot
        kernel[centre, centre] = peak = 1.0
    return kernel / peak


def disc_kernel(radius: float) -> np.ndarray:
    """(K, K) float32 with peak 1: a disc of `radius` px with a one-pixel anti-aliased edge."""
    size = 2 * math.ceil(radius) + 1
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) - size // 2
    return np.clip(radius + 0.5 - np.sqrt(x * x + y * y), 0.0, 1.0).astype(np.float32)


def veil(image: np.ndarray, strength: float | np.ndarray, colour: Sequence[float]) -> np.ndarray:
    """(H, W, 3) float32: I·t + A·(1 − t) with 1 − t = `strength` (a scalar or an (H, W, 1) map)."""
    airlight = np.asarray(colour, dtype=np.float32)
    return (image + (airlight - image) * np.asarray(strength, dtype=np.float32)).astype(np.float32)


def tinted_grey(rng: np.random.Generator, value: float, amount: float) -> tuple[float, float, float]:
    """An RGB colour of brightness `value` with a random grey, bluish or yellowish tint of `amount`."""
    tints = ((0.0, 0.0, 0.0), (-0.6, -0.1, 1.0), (0.8, 0.5, -1.0))  # grey, bluish, yellowish
    tint = tints[int(rng.integers(len(tints)))]
    return tuple(float(np.clip(value + amount * t, 0.0, 1.0)) for t in tint)  # type: ignore[return-value]


def padded_impulses(rng: np.random.Generator, height: int, width: int, pad: int, density: float,
                    low: float = 0.5) -> np.ndarray:
    """(H + 2·pad, W + 2·pad) float32: sparse impulses (fraction `density`) of amplitude in [low, 1]."""
    shape = (height + 2 * pad, width + 2 * pad)
    impulses = np.zeros(shape, np.float32)
    count = int(rng.binomial(shape[0] * shape[1], min(max(density, 0.0), 1.0)))
    rows, cols = rng.integers(0, shape[0], count), rng.integers(0, shape[1], count)
    impulses[rows, cols] = rng.uniform(low, 1.0, count)
    return impulses


def filter_crop(impulses: np.ndarray, kernel: np.ndarray, pad: int) -> np.ndarray:
    """Convolve a padded impulse map with `kernel` and crop the padding off."""
    out = cv2.filter2D(impulses, -1, cv2.flip(kernel, -1), borderType=cv2.BORDER_CONSTANT)
    return out[pad:out.shape[0] - pad, pad:out.shape[1] - pad] if pad else out
