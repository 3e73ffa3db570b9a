"""Snow: 2-3 depth layers of soft flakes blended towards white, plus a brightening veil.

Far layers hold many small faint flakes; near layers fewer, larger, blurred ones, which
may be motion-streaked along the fall direction. Flakes within a layer come in three
sizes (0.6x, 1x, 1.5x the layer's radius); positions come from `params.seed`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import (check_colour, check_image, check_range, check_severity, disc_kernel, filter_crop, finish,
                      gaussian, lerp, line_kernel, padded_impulses, tinted_grey, veil)

__all__ = ["SnowLayer", "SnowParams", "apply", "sample"]

_SIZES = (0.6, 1.0, 1.5)  # flake radii within a layer, relative to its radius


@dataclass(frozen=True)
class SnowLayer:
    """One depth layer of flakes."""

    density: float  # fraction of pixels holding a flake centre
    radius: float  # typical flake radius, px
    opacity: float  # how far a flake's core moves the pixel towards the flake colour, [0, 1]
    blur: float  # Gaussian softening, px (depth of field)
    streak: float  # motion streak length, px (0: round flakes)
    angle: float  # fall direction, degrees from vertical

    def __post_init__(self) -> None:
        check_range("density", self.density, 0.0, 0.1)
        check_range("radius", self.radius, 0.0, 50.0)
        check_range("opacity", self.opacity, 0.0, 1.0)
        check_range("blur", self.blur, 0.0, 20.0)
        check_range("streak", self.streak, 0.0, 200.0)
        check_range("angle", self.angle, -90.0, 90.0)


@dataclass(frozen=True)
class SnowParams:
    """Flake layers (far to near), flake colour, and the veil of falling snow."""

    layers: tuple[SnowLayer, ...]  # 2-3 layers
    flake_colour: tuple[float, float, float]  # RGB, near white
    veil: float  # strength (1 - t) of the brightening veil, 0 = none
    veil_colour: tuple[float, float, float]  # RGB airlight of the veil
    seed: int  # flake positions, sizes and amplitudes

    def __post_init__(self) -> None:
        if not self.layers or not all(isinstance(layer, SnowLayer) for layer in self.layers):
            raise ValueError(f"layers must be a non-empty tuple of SnowLayer, got {self.layers!r}")
        check_colour("flake_colour", self.flake_colour)
        check_range("veil", self.veil, 0.0, 1.0)
        check_colour("veil_colour", self.veil_colour)


def _flakes(rng: np.random.Generator, height: int, width: int, layer: SnowLayer) -> np.ndarray:
    """(H, W) float32 in [0, 1]: the coverage (alpha) of one layer's flakes."""
    streak = line_kernel(layer.streak, layer.angle, 1.0) if layer.streak >= 1 else None
    if streak is not None:
        streak /= streak.sum()  # a motion blur: the flake is smeared, not brightened
    cover = np.zeros((height, width), np.float32)
    for relative in _SIZES:
        disc = disc_kernel(max(0.3, layer.radius * relative))
        pad = disc.shape[0] // 2 + (streak.shape[0] // 2 if streak is not None else 0)
        impulses = padded_impulses(rng, height, width, pad, layer.density / len(_SIZES), low=0.5)
        spots = filter_crop(impulses, disc, 0)
        if streak is not None:
            spots = filter_crop(spots, streak, 0)
        cover = np.maximum(cover, spots[pad:pad + height, pad:pad + width])
    return np.clip(gaussian(cover, layer.blur), 0.0, 1.0) * np.float32(layer.opacity)


def apply(image: np.ndarray, params: SnowParams) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same, veiled, with flakes blended towards `flake_colour`."""
    check_image(image)
    rng = np.random.default_rng(params.seed)
    out = veil(image, params.veil, params.veil_colour)
    colour = np.asarray(params.flake_colour, dtype=np.float32)
    for layer in params.layers:
        alpha = _flakes(rng, image.shape[0], image.shape[1], layer)[..., None]
        out = out + (colour - out) * alpha
    return finish(out)


def sample(rng: np.random.Generator, severity: float) -> SnowParams:
    """Snow from light flurries (severity 0) to a blizzard (dense large flakes, strong veil)."""
    severity = check_severity(severity)
    count = 2 + int(rng.random() < lerp(severity, 0.3, 0.8))
    angle = rng.uniform(-35.0, 35.0)
    streaky = rng.random() < 0.4
    density = lerp(severity, 0.0015, 0.012)
    layers = []
    for index in range(count):
        depth = index / (count - 1)  # 0: far, 1: near
        radius = lerp(depth, 0.6, lerp(severity, 2.0, 5.0)) * rng.uniform(0.7, 1.3)
        layers.append(SnowLayer(
            density=float(density * lerp(depth, 1.0, 0.08) * rng.uniform(0.6, 1.4)),
            radius=float(radius),
            opacity=float(min(1.0, lerp(depth, 0.45, 0.9) * rng.uniform(0.8, 1.2))),
            blur=float(lerp(depth, 0.3, 0.5 * radius) * rng.uniform(0.7, 1.3)),
            streak=float(rng.uniform(2.0, 4.0) * radius if streaky and depth > 0.4 else 0.0),
            angle=float(np.clip(angle + rng.uniform(-5.0, 5.0), -90.0, 90.0)),
        ))
    flake_colour = tinted_grey(rng, rng.uniform(0.9, 1.0), 0.02)
    veil_strength = lerp(severity, 0.0, 0.35) * rng.uniform(0.6, 1.2)
    veil_colour = tinted_grey(rng, rng.uniform(0.75, 0.95), rng.uniform(0.0, 0.05))
    return SnowParams(layers=tuple(layers), flake_colour=flake_colour, veil=float(veil_strength),
                      veil_colour=veil_colour, seed=int(rng.integers(2**31)))
