"""Haze by the atmospheric scattering model: I = J·t + A·(1 − t), t = exp(−β·d).

The depth d is a plausible synthetic map: a mix of a vertical gradient (far at the top),
a smooth random field and, optionally, the blurred image luminance (bright regions such
as sky read as far). It is normalised to [near, 1] so even the nearest pixels get some haze.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import (check_colour, check_image, check_range, check_severity, finish, gaussian, lerp, luminance,
                      normalise, smooth_field, tinted_grey, veil)

__all__ = ["HazeParams", "depth_map", "apply", "sample"]


@dataclass(frozen=True)
class HazeParams:
    """Scattering strength, airlight colour and the recipe of the synthetic depth map."""

    beta: float  # scattering coefficient; t = exp(-beta * depth) with depth in [near, 1]
    airlight: tuple[float, float, float]  # RGB colour of the scattered light A
    near: float  # depth of the nearest pixel, in [0, 1)
    gradient_weight: float  # share of the vertical gradient (far at the top) in the depth mix
    gradient_power: float  # shapes the gradient: <1 haze reaches low, >1 it stays near the top
    field_weight: float  # share of the smooth random field
    field_scale: float  # blob size of the random field, as a fraction of the shorter side
    luminance_weight: float  # share of the blurred image luminance (bright = far)
    seed: int  # the random field

    def __post_init__(self) -> None:
        check_range("beta", self.beta, 0.0, 10.0)
        check_colour("airlight", self.airlight)
        check_range("near", self.near, 0.0, 0.99)
        check_range("gradient_power", self.gradient_power, 0.1, 10.0)
        check_range("field_scale", self.field_scale, 0.01, 4.0)
        for name in ("gradient_weight", "field_weight", "luminance_weight"):
            check_range(name, getattr(self, name), 0.0, 1.0)


def depth_map(image: np.ndarray, params: HazeParams) -> np.ndarray:
    """(H, W) float32 in [near, 1]: the synthetic scene depth for `image` (larger is farther)."""
    height, width = image.shape[:2]
    rows = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None] ** np.float32(params.gradient_power)
    depth = np.float32(params.gradient_weight) * np.broadcast_to(rows, (height, width))
    if params.field_weight > 0:
        field = smooth_field(np.random.default_rng(params.seed), height, width, params.field_scale)
        depth = depth + np.float32(params.field_weight) * field
    if params.luminance_weight > 0:
        guide = normalise(gaussian(luminance(image), max(1.0, min(height, width) / 40)))
        depth = depth + np.float32(params.luminance_weight) * guide
    if float(depth.max() - depth.min()) < 1e-6:  # no usable term: uniform haze at mid depth
        return np.full((height, width), (1 + params.near) / 2, np.float32)
    return (params.near + (1 - params.near) * normalise(depth)).astype(np.float32)


def apply(image: np.ndarray, params: HazeParams) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same, hazed: lower contrast, higher dark channel."""
    check_image(image)
    transmission = np.exp(-params.beta * depth_map(image, params))[..., None].astype(np.float32)
    return finish(veil(image, 1.0 - transmission, params.airlight))


def sample(rng: np.random.Generator, severity: float) -> HazeParams:
    """Haze with beta 0.3 (severity 0), about 1.4 (0.5) to 3.5 (1), a varied depth map and airlight."""
    severity = check_severity(severity)
    beta = float(np.clip(lerp(severity**1.5, 0.3, 3.5) * rng.uniform(0.85, 1.15), 0.3, 3.5))  # dense fog is rarer
    airlight = tinted_grey(rng, rng.uniform(0.7, 1.0), rng.uniform(0.0, 0.08))
    weights = rng.dirichlet([1.5, 1.5, 0.7])  # gradient, field, luminance
    if rng.random() < 0.5:  # the luminance term is optional
        weights = np.array([weights[0], weights[1], 0.0]) / (weights[0] + weights[1])
    return HazeParams(beta=beta, airlight=airlight, near=float(rng.uniform(0.1, 0.4)),
                      gradient_weight=float(weights[0]), gradient_power=float(rng.uniform(0.5, 2.0)),
                      field_weight=float(weights[1]), field_scale=float(rng.uniform(0.15, 1.0)),
                      luminance_weight=float(weights[2]), seed=int(rng.integers(2**31)))
