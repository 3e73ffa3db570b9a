"""Low light: under-exposure, a darkening gamma, lost contrast, a colour cast, sensor noise, 8-bit levels.

The order follows a camera: the scene is darkened (exposure · tone(image) · cast), then
Poisson-Gaussian noise is added in that dark domain (so it is strong relative to the
signal), and the result is optionally rounded to 8 bits, which crushes the shadows. The
tone curve is image^gamma, pulled towards mid grey by `contrast` (flare and a flat
rendering in dim light), so a photo can come out dull and flat as well as dark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import noise
from ._common import check_image, check_range, check_severity, finish, lerp

__all__ = ["LowLightParams", "STYLES", "darken", "apply", "sample"]

STYLES = ("dark", "dull", "dim")  # the looks `sample` makes; it draws the first two (_STYLE_SHARES) unless told
_DRAWN_STYLES, _STYLE_SHARES = ("dark", "dull"), (0.5, 0.5)
_PIVOT = 0.5  # mid grey, the level `contrast` pulls the tone curve towards


@dataclass(frozen=True)
class LowLightParams:
    """Exposure drop, tone curve, cast and the noise that comes with a dark capture."""

    exposure: float  # multiplies the image, 0.05 (very dark) to 0.5
    gamma: float  # >= 1: image ** gamma darkens shadows further
    cast: tuple[float, float, float]  # per-channel RGB gains, around 1
    shot_gain: float  # shot noise variance = shot_gain * dark signal
    read_sigma: float  # signal-independent noise std
    channel_correlation: float  # 0: independent noise per channel, 1: grey noise
    quantize: bool  # round to 8 bits at the end
    seed: int  # the noise realisation
    contrast: float = 1.0  # tone curve pulled towards mid grey: 0.5 + contrast · (image^gamma − 0.5); 1: none

    def __post_init__(self) -> None:
        check_range("exposure", self.exposure, 1e-3, 1.0)
        check_range("gamma", self.gamma, 1.0, 4.0)
        if len(self.cast) != 3 or not all(0.5 <= gain <= 1.5 for gain in self.cast):
            raise ValueError(f"cast must be three gains in [0.5, 1.5], got {self.cast!r}")
        check_range("shot_gain", self.shot_gain, 0.0, 1.0)
        check_range("read_sigma", self.read_sigma, 0.0, 1.0)
        check_range("channel_correlation", self.channel_correlation, 0.0, 1.0)
        check_range("contrast", self.contrast, 0.1, 1.0)


def darken(image: np.ndarray, params: LowLightParams) -> np.ndarray:
    """(H, W, 3) float32: the noiseless dark image, exposure · (0.5 + contrast · (image^gamma − 0.5)) · cast."""
    gains = np.float32(params.exposure) * np.asarray(params.cast, dtype=np.float32)
    tone = np.power(np.clip(image, 0.0, 1.0), np.float32(params.gamma))
    if params.contrast != 1.0:  # skipped at 1 so older parameters give bit-identical output
        tone = np.float32(_PIVOT) + np.float32(params.contrast) * (tone - np.float32(_PIVOT))
    return (tone * gains).astype(np.float32)


def apply(image: np.ndarray, params: LowLightParams) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same, darker and noisier (8-bit levels when `quantize`)."""
    check_image(image)
    dark = finish(darken(image, params))
    sensor = noise.NoiseParams(model="poisson_gaussian", sigma=params.read_sigma, gain=params.shot_gain,
                               channel_correlation=params.channel_correlation, grain=0.0, seed=params.seed)
    out = noise.apply(dark, sensor)
    if params.quantize:
        out = np.rint(out * np.float32(255)) / np.float32(255)
    return finish(out)


def sample(rng: np.random.Generator, severity: float, *, style: str | None = None) -> LowLightParams:
    """A dark or a dull capture, milder at severity 0, with stronger noise as it darkens.

    `style` None draws it, half and half: "dark" (exposure about 0.5 at severity 0 down to
    0.05 at 1, gamma 1 to 1.3-2.2, full contrast) or "dull" (exposure about 0.7 down to 0.3,
    gamma about 1.4 up to 1.8, contrast 0.8 down to 0.5: a flat, washed-out, somewhat dark photo).
    "dim", only when asked for (the perceiver's examples), is the mild end a user still calls too
    dark: exposure about 0.85 down to 0.55, gamma 1.15 up to 1.6, contrast 1 down to 0.8.
    """
    severity = check_severity(severity)
    if style is None:
        style = _DRAWN_STYLES[int(rng.choice(len(_DRAWN_STYLES), p=_STYLE_SHARES))]
    if style == "dark":
        exposure = math.exp(lerp(severity, math.log(0.5), math.log(0.05))) * rng.uniform(0.8, 1.25)
        exposure = float(np.clip(exposure, 0.05, 0.5))
        gamma = rng.uniform(1.0, lerp(severity, 1.3, 2.2))
        contrast = 1.0
    elif style == "dull":
        exposure = float(np.clip(lerp(severity, 0.7, 0.3) * rng.uniform(0.85, 1.15), 0.2, 0.8))
        gamma = lerp(severity, 1.4, 1.8) * rng.uniform(0.9, 1.1)
        contrast = float(np.clip(lerp(severity, 0.8, 0.5) * rng.uniform(0.9, 1.1), 0.3, 0.9))
    elif style == "dim":
        exposure = float(np.clip(lerp(severity, 0.85, 0.55) * rng.uniform(0.95, 1.05), 0.5, 0.9))
        gamma = max(1.0, lerp(severity, 1.15, 1.6) * rng.uniform(0.95, 1.05))
        contrast = float(np.clip(lerp(severity, 1.0, 0.8) * rng.uniform(0.95, 1.05), 0.75, 1.0))
    else:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    cast = (1.0, 1.0, 1.0)
    if rng.random() < 0.5:  # a warm (tungsten) or cool (shade) cast, green roughly kept
        warmth = rng.uniform(-0.15, 0.15)
        cast = (1.0 + warmth, 1.0 + rng.uniform(-0.05, 0.05), 1.0 - warmth)
    return LowLightParams(
        exposure=exposure, gamma=float(gamma),
        cast=tuple(float(gain) for gain in cast),  # type: ignore[arg-type]
        shot_gain=float(lerp(severity, 0.0005, 0.01) * rng.uniform(0.5, 1.5)),
        read_sigma=float(lerp(severity, 0.002, 0.02) * rng.uniform(0.5, 1.5)),
        channel_correlation=float(0.0 if rng.random() < 0.6 else rng.uniform(0.2, 0.8)),
        quantize=bool(rng.random() < 0.7), seed=int(rng.integers(2**31)), contrast=contrast)
