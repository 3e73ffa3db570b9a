"""Rain: 1-3 layers of bright motion-blurred streaks plus, in heavy rain, a veiling haze.

Each layer scatters sparse drops at random (from `params.seed`), smears them along a
shared fall angle with a tapered line kernel (cv2.filter2D), softens them slightly and
blends them over the image with a screen or additive blend, so streaks only brighten.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import (check_colour, check_image, check_range, check_severity, filter_crop, finish, gaussian, lerp,
                      line_kernel, padded_impulses, tinted_grey, veil)

__all__ = ["RainLayer", "RainParams", "BLENDS", "apply", "sample"]

BLENDS = ("screen", "add")


@dataclass(frozen=True)
class RainLayer:
    """One depth layer of streaks."""

    density: float  # fraction of pixels that start a streak
    length: float  # streak length, px
    angle: float  # degrees from vertical, positive: the bottom end leans right
    width: int  # streak thickness, 1-3 px
    brightness: float  # peak brightness a streak adds, in [0, 1]
    blur: float  # Gaussian softening of the layer, px (out of focus)

    def __post_init__(self) -> None:
        check_range("density", self.density, 0.0, 0.2)
        check_range("length", self.length, 0.0, 400.0)
        check_range("angle", self.angle, -80.0, 80.0)
        check_range("width", self.width, 1, 5)
        check_range("brightness", self.brightness, 0.0, 1.0)
        check_range("blur", self.blur, 0.0, 10.0)


@dataclass(frozen=True)
class RainParams:
    """Streak layers (far to near), how they blend, and the veil of heavy rain."""

    layers: tuple[RainLayer, ...]  # 1-3 layers
    blend: str  # "screen" (1 - (1 - I)(1 - R)) or "add" (I + R)
    veil: float  # strength (1 - t) of the veiling haze, 0 = none
    veil_colour: tuple[float, float, float]  # RGB airlight of the veil
    seed: int  # drop positions and amplitudes

    def __post_init__(self) -> None:
        if not self.layers or not all(isinstance(layer, RainLayer) for layer in self.layers):
            raise ValueError(f"layers must be a non-empty tuple of RainLayer, got {self.layers!r}")
        if self.blend not in BLENDS:
            raise ValueError(f"blend must be one of {', '.join(BLENDS)}, got {self.blend!r}")
        check_range("veil", self.veil, 0.0, 1.0)
        check_colour("veil_colour", self.veil_colour)


def streaks(height: int, width: int, params: RainParams) -> np.ndarray:
    """(H, W, 1) float32 in [0, 1]: the rain layer (streak brightness) before blending."""
    rng = np.random.default_rng(params.seed)
    total = np.zeros((height, width), np.float32)
    for layer in params.layers:
        kernel = line_kernel(layer.length, layer.angle, layer.width, taper=0.7)
        pad = kernel.shape[0] // 2
        drops = padded_impulses(rng, height, width, pad, layer.density, low=0.4)
        smeared = np.clip(filter_crop(drops, kernel, pad), 0.0, 1.0)
        total += np.float32(layer.brightness) * gaussian(smeared, layer.blur)
    return np.clip(total, 0.0, 1.0)[..., None]


def apply(image: np.ndarray, params: RainParams) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same with rain streaks (and veil) added, clipped."""
    check_image(image)
    rain = streaks(image.shape[0], image.shape[1], params)
    hazy = veil(image, params.veil, params.veil_colour)
    if params.blend == "screen":
        return finish(1.0 - (1.0 - hazy) * (1.0 - rain))
    return finish(hazy + rain)


def sample(rng: np.random.Generator, severity: float) -> RainParams:
    """Rain from drizzle (severity 0: sparse faint short streaks) to a downpour (dense, long, veiled)."""
    severity = check_severity(severity)
    count = 1 + int(rng.binomial(2, lerp(severity, 0.2, 0.8)))
    base_angle = rng.uniform(-30.0, 30.0)
    coverage = lerp(severity, 0.03, 0.3) / count  # share of pixels under a streak, per layer
    layers = []
    for _ in range(count):
        length = lerp(severity, 6.0, 40.0) * rng.uniform(0.6, 1.4)
        thickness = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        layers.append(RainLayer(
            density=float(coverage * rng.uniform(0.5, 1.5) / (length * thickness)),
            length=float(length),
            angle=float(np.clip(base_angle + rng.uniform(-5.0, 5.0), -80.0, 80.0)),
            width=thickness,
            brightness=float(min(1.0, lerp(severity, 0.2, 0.6) * rng.uniform(0.7, 1.3))),
            blur=float(rng.uniform(0.3, 1.2)),
        ))
    veil_strength = severity**2 * rng.uniform(0.15, 0.4)
    colour = tinted_grey(rng, rng.uniform(0.7, 0.95), rng.uniform(0.0, 0.05))
    return RainParams(layers=tuple(layers), blend=BLENDS[int(rng.integers(2))], veil=float(veil_strength),
                      veil_colour=colour, seed=int(rng.integers(2**31)))
