"""Snow: 2-3 depth layers of soft flakes blended towards white, plus a brightening veil.

Far layers hold many small faint flakes; near layers fewer, larger, blurred ones, which
may be motion-streaked along the fall direction. Flakes within a layer come in three
sizes (0.6x, 1x, 1.5x the layer's radius); positions come from `params.seed`.

`sample` draws one of two looks (`STYLES`): falling flakes, or sparkle, a texture of
tiny bright speckles everywhere (snow glinting in the light) under a bluish or warm cast
(`cast`, per-channel gains over the whole result, as a camera's white balance would err).
A third look, "crisp", is made only when asked for (the perceiver's examples): sparse opaque
flakes frozen in focus by a fast shutter or a flash, with no veil and no cast, so the photo
around them is untouched (falling snow seen through clear air, close to the camera).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ._common import (check_colour, check_image, check_range, check_severity, disc_kernel, filter_crop, finish,
                      gaussian, lerp, line_kernel, padded_impulses, tinted_grey, veil)

__all__ = ["SnowLayer", "SnowParams", "STYLES", "apply", "sample"]

STYLES = ("flakes", "sparkle", "crisp")  # the looks `sample` makes; it draws the first two unless told
_DRAWN_STYLES, _STYLE_SHARES = ("flakes", "sparkle"), (0.7, 0.3)

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
    cast: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-channel RGB gains over the result (1, 1, 1: none)

    def __post_init__(self) -> None:
        if not self.layers or not all(isinstance(layer, SnowLayer) for layer in self.layers):
            raise ValueError(f"layers must be a non-empty tuple of SnowLayer, got {self.layers!r}")
        check_colour("flake_colour", self.flake_colour)
        check_range("veil", self.veil, 0.0, 1.0)
        check_colour("veil_colour", self.veil_colour)
        if len(self.cast) != 3 or not all(0.5 <= gain <= 1.5 for gain in self.cast):
            raise ValueError(f"cast must be three gains in [0.5, 1.5], got {self.cast!r}")


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
    if tuple(params.cast) != (1.0, 1.0, 1.0):
        out = out * np.asarray(params.cast, dtype=np.float32)
    return finish(out)


def sample(rng: np.random.Generator, severity: float, *, style: str | None = None) -> SnowParams:
    """Snow from light flurries (severity 0) to a blizzard (severity 1), in one of `STYLES`.

    `style` None draws it: "flakes" 70% (2-3 layers of round or streaked flakes and a veil
    up to 0.4; a cast of 3-10% in a fifth of them), "sparkle" 30% (speckles of 1-3 px
    covering 0.8% (severity 0) to 4% (1) of the pixels, sometimes a few near flakes, a light
    veil, always a bluish or warm cast of 4% to 15%). "crisp", only when asked for, is one or
    two layers of sharp-edged opaque flakes (radius 1 to 5 px) covering 0.3% (severity 0) to
    3% (1) of the pixels, no veil, no cast.
    """
    severity = check_severity(severity)
    if style is None:
        style = _DRAWN_STYLES[int(rng.choice(len(_DRAWN_STYLES), p=_STYLE_SHARES))]
    if style == "flakes":
        params = _flake_snow(rng, severity)
        if rng.random() < 0.2:
            params = dataclasses.replace(params, cast=_cast(rng, lerp(severity, 0.03, 0.1)))
        return params
    if style == "sparkle":
        return _sparkle_snow(rng, severity)
    if style == "crisp":
        return _crisp_snow(rng, severity)
    raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")


def _cast(rng: np.random.Generator, amount: float) -> tuple[float, float, float]:
    """RGB gains of a bluish (cold light, shade) or warm (low sun, tungsten) cast of `amount`."""
    amount *= rng.uniform(0.7, 1.3)
    if rng.random() < 0.6:
        gains = (1.0 - amount, 1.0 - 0.3 * amount, 1.0 + 0.5 * amount)  # bluish
    else:
        gains = (1.0 + 0.5 * amount, 1.0 - 0.1 * amount, 1.0 - amount)  # warm
    return tuple(float(np.clip(gain, 0.5, 1.5)) for gain in gains)  # type: ignore[return-value]


def _flake_snow(rng: np.random.Generator, severity: float) -> SnowParams:
    """Far small faint flakes and near large blurred ones, some streaked, under a growing veil."""
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


def _sparkle_snow(rng: np.random.Generator, severity: float) -> SnowParams:
    """Speckles everywhere: one-pixel glints and 2-3 px grains, a few near flakes, a light veil and a cast."""
    angle = float(rng.uniform(-35.0, 35.0))
    coverage = lerp(severity, 0.008, 0.04) * rng.uniform(0.7, 1.3)  # share of pixels holding a speckle
    layers = [
        SnowLayer(density=float(0.7 * coverage), radius=float(rng.uniform(0.4, 0.6)),
                  opacity=float(rng.uniform(0.6, 0.95)), blur=float(rng.uniform(0.0, 0.3)), streak=0.0, angle=angle),
        SnowLayer(density=float(0.3 * coverage / 3), radius=float(rng.uniform(0.9, 1.3)),
                  opacity=float(rng.uniform(0.5, 0.9)), blur=float(rng.uniform(0.2, 0.5)), streak=0.0, angle=angle),
    ]
    if rng.random() < lerp(severity, 0.2, 0.5):  # a few flakes close to the lens
        radius = lerp(severity, 2.0, 4.0) * rng.uniform(0.8, 1.2)
        layers.append(SnowLayer(density=float(lerp(severity, 0.0002, 0.001) * rng.uniform(0.6, 1.4)),
                                radius=float(radius), opacity=float(rng.uniform(0.6, 0.9)),
                                blur=float(0.5 * radius * rng.uniform(0.7, 1.3)), streak=0.0, angle=angle))
    flake_colour = tinted_grey(rng, rng.uniform(0.92, 1.0), 0.02)
    veil_strength = lerp(severity, 0.0, 0.2) * rng.uniform(0.5, 1.2)
    veil_colour = tinted_grey(rng, rng.uniform(0.75, 0.95), rng.uniform(0.0, 0.05))
    return SnowParams(layers=tuple(layers), flake_colour=flake_colour, veil=float(veil_strength),
                      veil_colour=veil_colour, seed=int(rng.integers(2**31)),
                      cast=_cast(rng, lerp(severity, 0.04, 0.12)))


def _crisp_snow(rng: np.random.Generator, severity: float) -> SnowParams:
    """Sparse, sharp, nearly opaque flakes in one or two sizes, on an otherwise untouched photo."""
    angle = float(rng.uniform(-35.0, 35.0))
    coverage = lerp(severity, 0.003, 0.03) * rng.uniform(0.7, 1.3)  # share of pixels under a flake
    radii = [float(rng.uniform(1.0, lerp(severity, 2.5, 4.0)))]
    if rng.random() < 0.5:
        radii.append(float(min(5.0, radii[0] * rng.uniform(1.4, 2.0))))
    layers = []
    for radius in radii:
        area = np.pi * radius**2 * np.mean(np.square(_SIZES))  # pixels per flake, over the three sizes
        layers.append(SnowLayer(density=float(coverage / len(radii) / area), radius=radius,
                                opacity=float(rng.uniform(0.85, 1.0)), blur=float(rng.uniform(0.0, 0.4)),
                                streak=0.0, angle=angle))
    return SnowParams(layers=tuple(layers), flake_colour=tinted_grey(rng, rng.uniform(0.9, 1.0), 0.02), veil=0.0,
                      veil_colour=(1.0, 1.0, 1.0), seed=int(rng.integers(2**31)))
