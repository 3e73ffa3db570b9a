"""Rain: 1-3 layers of bright motion-blurred streaks plus, in heavy rain, a veiling mist.

Each layer scatters sparse drops at random (from `params.seed`), smears them along a
shared fall angle with a tapered line kernel (cv2.filter2D), softens them slightly and
blends them over the image with a screen or additive blend, so streaks only brighten.

Under the streaks, heavy rain scatters light like fog: the scene is softened (`mist_blur`)
and veiled towards a bright airlight, in sheets that vary across the frame (`veil_variation`).
`sample` draws one of three looks (`STYLES`): ordinary streaks, dense long streaks
(a downpour seen close up), or a heavy veil with few visible streaks (rain seen at distance).
A fourth, "sharp", is made only when asked for: in-focus 1-px streaks caught by a fast shutter,
not softened and with no veil, which every default model so far leaves in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import (check_colour, check_image, check_range, check_severity, filter_crop, finish, gaussian, lerp,
                      line_kernel, padded_impulses, smooth_field, tinted_grey, veil)

__all__ = ["RainLayer", "RainParams", "BLENDS", "STYLES", "streaks", "apply", "sample"]

BLENDS = ("screen", "add")
STYLES = ("streaks", "dense_long", "veil_heavy", "sharp")  # the looks `sample` makes; it draws the first three
_DRAWN_STYLES, _STYLE_SHARES = ("streaks", "dense_long", "veil_heavy"), (0.7, 0.15, 0.15)


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
    seed: int  # drop positions and amplitudes (and the veil's sheets)
    mist_blur: float = 0.0  # Gaussian softening of the scene under the veil, px (0: none)
    veil_variation: float = 0.0  # 0: uniform veil; 1: its strength swings from 0 to 2x in smooth sheets

    def __post_init__(self) -> None:
        if not self.layers or not all(isinstance(layer, RainLayer) for layer in self.layers):
            raise ValueError(f"layers must be a non-empty tuple of RainLayer, got {self.layers!r}")
        if self.blend not in BLENDS:
            raise ValueError(f"blend must be one of {', '.join(BLENDS)}, got {self.blend!r}")
        check_range("veil", self.veil, 0.0, 1.0)
        check_colour("veil_colour", self.veil_colour)
        check_range("mist_blur", self.mist_blur, 0.0, 20.0)
        check_range("veil_variation", self.veil_variation, 0.0, 1.0)


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


def veil_strength(height: int, width: int, params: RainParams) -> float | np.ndarray:
    """`params.veil`, or an (H, W, 1) float32 map of it in [0, 1] that varies in sheets."""
    if params.veil_variation <= 0 or params.veil <= 0:
        return params.veil
    # its own stream, so the drops stay where the same seed put them without variation
    field = smooth_field(np.random.default_rng((params.seed, 1)), height, width, 0.6)
    sheets = np.float32(params.veil) * (1.0 + np.float32(params.veil_variation) * (2.0 * field - 1.0))
    return np.clip(sheets, 0.0, 1.0)[..., None]


def apply(image: np.ndarray, params: RainParams) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same with rain streaks (and mist and veil) added, clipped."""
    check_image(image)
    height, width = image.shape[:2]
    rain = streaks(height, width, params)
    scene = gaussian(image, params.mist_blur) if params.mist_blur > 0 else image
    hazy = veil(scene, veil_strength(height, width, params), params.veil_colour)
    if params.blend == "screen":
        return finish(1.0 - (1.0 - hazy) * (1.0 - rain))
    return finish(hazy + rain)


def sample(rng: np.random.Generator, severity: float, *, style: str | None = None) -> RainParams:
    """Rain from drizzle (severity 0) to a downpour (severity 1), in one of `STYLES`.

    `style` None draws it: "streaks" 70% (sparse faint short streaks to dense long veiled
    ones), "dense_long" 15% (2-3 layers of long streaks, 50-200 px, covering 12-45% of the
    frame), "veil_heavy" 15% (a bright veil of 0.2-0.6 in sheets over a softened scene,
    with a few faint out-of-focus streaks). "sharp", only when asked for, is one or two layers
    of crisp 1-px streaks, 10-40 px long, with no softening and no veil. Severity scales every look.
    """
    severity = check_severity(severity)
    if style is None:
        style = _DRAWN_STYLES[int(rng.choice(len(_DRAWN_STYLES), p=_STYLE_SHARES))]
    if style == "streaks":
        return _streaks_rain(rng, severity)
    if style == "dense_long":
        return _dense_long_rain(rng, severity)
    if style == "veil_heavy":
        return _veil_heavy_rain(rng, severity)
    if style == "sharp":
        return _sharp_rain(rng, severity)
    raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")


def _layers(rng: np.random.Generator, count: int, coverage: float, length: float, brightness: float,
            blur: tuple[float, float], widths: tuple[float, float, float]) -> tuple[RainLayer, ...]:
    """`count` layers around a shared angle; `coverage` is each layer's share of pixels under a streak."""
    base_angle = rng.uniform(-30.0, 30.0)
    layers = []
    for _ in range(count):
        drawn = length * rng.uniform(0.6, 1.4)
        thickness = int(rng.choice([1, 2, 3], p=widths))
        layers.append(RainLayer(
            density=float(min(0.2, coverage * rng.uniform(0.5, 1.5) / (drawn * thickness))),
            length=float(min(400.0, drawn)),
            angle=float(np.clip(base_angle + rng.uniform(-5.0, 5.0), -80.0, 80.0)),
            width=thickness,
            brightness=float(min(1.0, brightness * rng.uniform(0.7, 1.3))),
            blur=float(rng.uniform(*blur)),
        ))
    return tuple(layers)


def _streaks_rain(rng: np.random.Generator, severity: float) -> RainParams:
    """Sparse faint short streaks (severity 0) to dense long ones under a light veil (1)."""
    count = 1 + int(rng.binomial(2, lerp(severity, 0.2, 0.8)))
    layers = _layers(rng, count, lerp(severity, 0.03, 0.3) / count, lerp(severity, 6.0, 40.0),
                     lerp(severity, 0.2, 0.6), (0.3, 1.2), (0.5, 0.35, 0.15))
    veil_strength = severity**2 * rng.uniform(0.15, 0.4)
    colour = tinted_grey(rng, rng.uniform(0.7, 0.95), rng.uniform(0.0, 0.05))
    return RainParams(layers=layers, blend=BLENDS[int(rng.integers(2))], veil=float(veil_strength),
                      veil_colour=colour, seed=int(rng.integers(2**31)))


def _dense_long_rain(rng: np.random.Generator, severity: float) -> RainParams:
    """Many long streaks close to the camera: 2-3 layers, 50 px (severity 0) to 200 px (1) long."""
    count = 2 + int(rng.random() < lerp(severity, 0.3, 0.8))
    layers = _layers(rng, count, lerp(severity, 0.12, 0.45) / count, lerp(severity, 50.0, 200.0),
                     lerp(severity, 0.2, 0.45), (0.3, 1.0), (0.4, 0.4, 0.2))
    veil_strength = lerp(severity, 0.03, 0.25) * rng.uniform(0.6, 1.2)
    colour = tinted_grey(rng, rng.uniform(0.7, 0.95), rng.uniform(0.0, 0.05))
    return RainParams(layers=layers, blend=BLENDS[int(rng.integers(2))], veil=float(veil_strength),
                      veil_colour=colour, seed=int(rng.integers(2**31)),
                      veil_variation=float(rng.uniform(0.0, 0.4)))


def _veil_heavy_rain(rng: np.random.Generator, severity: float) -> RainParams:
    """Rain seen through its own mist: a bright veil of 0.2 (severity 0) to 0.6 (1), few faint streaks."""
    count = 1 + int(rng.random() < 0.5)
    layers = _layers(rng, count, lerp(severity, 0.01, 0.06) / count, lerp(severity, 10.0, 50.0),
                     lerp(severity, 0.1, 0.3), (0.8, 2.5), (0.6, 0.4, 0.0))
    veil_strength = min(0.9, lerp(severity, 0.2, 0.6) * rng.uniform(0.85, 1.15))
    colour = tinted_grey(rng, rng.uniform(0.75, 0.95), rng.uniform(0.0, 0.04))
    return RainParams(layers=layers, blend="screen", veil=float(veil_strength), veil_colour=colour,
                      seed=int(rng.integers(2**31)), mist_blur=float(lerp(severity, 0.3, 1.5) * rng.uniform(0.7, 1.3)),
                      veil_variation=float(rng.uniform(0.2, 0.6)))


def _sharp_rain(rng: np.random.Generator, severity: float) -> RainParams:
    """In-focus streaks, 1 px wide and unsoftened: sparse short ones (severity 0) to dense long ones (1)."""
    count = 1 + int(rng.random() < lerp(severity, 0.1, 0.5))
    layers = _layers(rng, count, lerp(severity, 0.02, 0.15) / count, lerp(severity, 10.0, 40.0),
                     lerp(severity, 0.3, 0.7), (0.0, 0.0), (1.0, 0.0, 0.0))
    return RainParams(layers=layers, blend=BLENDS[int(rng.integers(2))], veil=0.0,
                      veil_colour=(1.0, 1.0, 1.0), seed=int(rng.integers(2**31)))
