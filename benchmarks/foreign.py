"""Degradations we did not train on: textbook recipes written independently of `uhdrestore.degrade`.

Our generators vary widely, but a model can still overfit their quirks. These are the
plain recipes public test sets are made with, kept deliberately different from ours:

- noise: additive white Gaussian noise, sigma = 10 + 40 x severity (in 8-bit levels), as
  in the CBSD68 / Kodak sigma 15/25/50 benchmarks; no Poisson part, no grain.
- haze: the atmospheric scattering model with a white airlight and a depth that only grows
  towards the top of the frame (RESIDE-style synthetic outdoor haze), beta = 0.5 + 2.5 x severity.
- blur: one straight-line motion kernel (length 5 + 20 x severity, random angle): no shake
  trajectory, no defocus disk.
- rain: Rain100L-style: sparse random dots smeared by a line kernel into parallel streaks and
  added to the photo; no layers, no screen blend, no veil.
- snow: round flakes (dilated dots, Gaussian-softened) laid over the photo with max(); no depth
  layers, no streaks, no veil.
- lowlight: a LOL-style darkening, gamma 1 + severity then a gain down to 0.15 at severity 1,
  with Gaussian read noise; no colour cast, no shot noise.
Every result is quantised to 8 bits, as a saved test image would be.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

__all__ = ["FOREIGN", "foreign_degrade"]

Degrade = Callable[[np.ndarray, np.random.Generator, float], np.ndarray]


def _line_kernel(length: int, angle_degrees: float) -> np.ndarray:
    size = length | 1  # odd, so the line is centred
    kernel = np.zeros((size, size), np.float32)
    centre, radians = size // 2, np.deg2rad(angle_degrees)
    dx, dy = np.cos(radians) * (length - 1) / 2, np.sin(radians) * (length - 1) / 2
    cv2.line(kernel, (round(centre - dx), round(centre - dy)), (round(centre + dx), round(centre + dy)), 1.0, 1)
    return kernel / kernel.sum()


def noise(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    sigma = (10 + 40 * severity) / 255
    return image + rng.normal(0.0, sigma, image.shape).astype(np.float32)


def haze(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    height = image.shape[0]
    depth = np.linspace(1.0, 0.2, height, dtype=np.float32)[:, None, None]  # far at the top
    transmission = np.exp(-(0.5 + 2.5 * severity) * depth)
    airlight = float(rng.uniform(0.8, 1.0))
    return image * transmission + airlight * (1 - transmission)


def blur(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    kernel = _line_kernel(int(5 + 20 * severity), float(rng.uniform(0, 180)))
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


def rain(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    height, width = image.shape[:2]
    dots = (rng.random((height, width)) < 0.002 + 0.008 * severity).astype(np.float32)
    angle = 90 + float(rng.uniform(-30, 30))  # near vertical
    streaks = cv2.filter2D(dots, -1, _line_kernel(int(rng.integers(15, 35)), angle))
    streaks = np.clip(streaks * (4 + 6 * severity), 0, 1)
    return image + (0.5 + 0.4 * severity) * streaks[..., None]


def snow(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    height, width = image.shape[:2]
    dots = (rng.random((height, width)) < 0.0005 + 0.003 * severity).astype(np.uint8)
    flakes = cv2.dilate(dots, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))).astype(np.float32)
    flakes = cv2.GaussianBlur(flakes, (0, 0), 1.0) * float(rng.uniform(0.8, 1.0))
    return np.maximum(image, flakes[..., None])


def lowlight(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    gain = 1 - 0.85 * severity
    dark = np.power(image, 1 + severity) * gain
    return dark + rng.normal(0.0, 0.01 + 0.02 * severity, image.shape).astype(np.float32)


FOREIGN: dict[str, Degrade] = {"noise": noise, "haze": haze, "blur": blur, "rain": rain, "snow": snow,
                               "lowlight": lowlight}


def foreign_degrade(image: np.ndarray, spec: str, rng: np.random.Generator, severity: float) -> np.ndarray:
    """Apply the textbook recipe of each kind in `spec` ("rain+haze" chains), then quantise to 8 bits."""
    out = image.astype(np.float32)
    for kind in spec.split("+"):
        if kind not in FOREIGN:
            raise SystemExit(f"error: no foreign recipe for {kind!r}; known: {', '.join(FOREIGN)}")
        out = np.clip(FOREIGN[kind](out, rng, severity), 0.0, 1.0).astype(np.float32)
    return (np.rint(out * 255) / 255).astype(np.float32)
