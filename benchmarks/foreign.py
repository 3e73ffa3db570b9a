"""Degradations we did not train on: textbook recipes written independently of `uhdrestore.degrade`.

Our generators vary widely, but a model can still overfit their quirks. These are the
plain recipes public test sets are made with, kept deliberately different from ours, two
per kind, written apart from each other (recipe A first, then recipe B):

- noise (A): additive white Gaussian noise, sigma = 10 + 40 x severity (in 8-bit levels);
  no Poisson part, no grain.
- cbsd68 (noise, B): the CBSD68 / Kodak24 / Urban100 protocol of the all-in-one papers
  (AirNet, PromptIR): AWGN at exactly sigma 15, 25 or 50 (severity < 0.4, < 0.7, else).
- haze (A): the atmospheric scattering model with a white airlight and a depth that only
  grows towards the top of the frame, beta = 0.5 + 2.5 x severity.
- sots (haze, B): RESIDE / SOTS-style: I = J t + A (1 - t), t = exp(-beta d), beta in
  RESIDE's [0.6, 1.8] (0.6 + 1.2 x severity), grey airlight A in [0.7, 1.0], and a depth
  proxy from the photo itself: Zhu et al.'s colour attenuation prior (depth grows with
  brightness minus saturation), smoothed, mixed with a top-is-far ramp.
- blur (A): one straight-line motion kernel (length 5 + 20 x severity, random angle).
- gopro (blur, B): GoPro-style (Nah et al. 2017): the average of M = 7 + 6 x severity
  frames along a random camera trajectory (translation with momentum plus a small
  rotation, path length 4 + 36 x severity px), averaged in linear light (gamma 2.2).
- rain (A): Rain100L-style: sparse random dots smeared by a line kernel into parallel
  streaks and added to the photo; no layers, no screen blend, no veil.
- rain100h (rain, B): Rain100H-style heavy rain (Yang et al. 2017): dense, long streaks
  drawn as anti-aliased line segments in three layers of slightly different directions,
  widths 1-2 px, screen-blended, then rain accumulation O = alpha (B + S) + (1 - alpha) A
  with alpha = 0.9 - 0.3 x severity.
- snow (A): round flakes (dilated dots, Gaussian-softened) laid over the photo with max().
- snow100k (snow, B): Snow100K-style (Liu et al. 2018): semi-transparent flakes of three
  sizes (small and sharp, medium, large and out of focus), each with its own opacity,
  composited as x = a z + y (1 - z) with a white-grey snow colour a, under a veil.
- lowlight (A): a LOL-style darkening: gamma 1 + severity then a gain down to 0.15 at
  severity 1, with Gaussian read noise; no colour cast, no shot noise.
- lol (lowlight, B): an under-exposure in linear light, as LOL's real low/normal pairs
  differ by exposure time: exposure 2^-(1 + 6 x severity), Poisson shot noise (4000
  electrons full well) and read noise (2 e-), back to sRGB, then a loss of saturation.
Every result is clipped and quantised to 8 bits, as a saved test image would be.
Every recipe is (H, W, 3) float32 RGB in [0, 1] -> same, random only through `rng`.

    python benchmarks/foreign.py --gallery /tmp/foreign.png [--limit 1]

writes one whole validation photo per content group through every recipe at severity 0.5.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

__all__ = ["FOREIGN", "RECIPE_KIND", "awgn", "cbsd68_sigma", "foreign_degrade", "quantise"]

Degrade = Callable[[np.ndarray, np.random.Generator, float], np.ndarray]


def _line_kernel(length: int, angle_degrees: float) -> np.ndarray:
    size = length | 1  # odd, so the line is centred
    kernel = np.zeros((size, size), np.float32)
    centre, radians = size // 2, np.deg2rad(angle_degrees)
    dx, dy = np.cos(radians) * (length - 1) / 2, np.sin(radians) * (length - 1) / 2
    cv2.line(kernel, (round(centre - dx), round(centre - dy)), (round(centre + dx), round(centre + dy)), 1.0, 1)
    return kernel / kernel.sum()


def quantise(image: np.ndarray) -> np.ndarray:
    """(H, W, C) float -> float32 in [0, 1] on the 8-bit grid, as a saved PNG would hold it."""
    return (np.rint(np.clip(image, 0.0, 1.0) * 255) / 255).astype(np.float32)


# ---- recipe A: the first textbook recipe of each kind -------------------------------------------

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


# ---- recipe B: a second recipe per kind, from the published description of a public test set ----

CBSD68_SIGMAS = (15, 25, 50)


def cbsd68_sigma(severity: float) -> int:
    """The CBSD68 noise level (8-bit levels) a severity stands for: 15 below 0.4, 25 below 0.7, else 50."""
    return CBSD68_SIGMAS[0] if severity < 0.4 else CBSD68_SIGMAS[1] if severity < 0.7 else CBSD68_SIGMAS[2]


def awgn(image: np.ndarray, rng: np.random.Generator, sigma_levels: float) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same plus white Gaussian noise of std sigma_levels / 255, unclipped."""
    return image + rng.normal(0.0, sigma_levels / 255, image.shape).astype(np.float32)


def cbsd68(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    return awgn(image, rng, cbsd68_sigma(severity))


# Zhu, Mai and Shao (2015), colour attenuation prior: depth = theta0 + theta1 * value + theta2 * saturation.
CAP_THETA = (0.121779, 0.959710, -0.780245)


def _depth_proxy(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) clean photo -> (H, W) float32 depth in [0, 1], 1 = far (a stand-in for SOTS's estimated depth)."""
    height, width = image.shape[:2]
    value = image.max(axis=2)
    saturation = (value - image.min(axis=2)) / np.maximum(value, 1e-3)
    depth = CAP_THETA[0] + CAP_THETA[1] * value + CAP_THETA[2] * saturation
    radius = max(3, round(0.02 * min(height, width)))  # objects, not texture: min filter then a wide blur
    depth = cv2.erode(depth.astype(np.float32), cv2.getStructuringElement(cv2.MORPH_RECT, (radius, radius)))
    depth = cv2.GaussianBlur(depth, (0, 0), 4 * radius)
    low, high = np.percentile(depth, (1, 99))
    depth = np.clip((depth - low) / max(high - low, 1e-3), 0, 1)
    ramp = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None]  # top of the frame is farther
    return (0.6 * depth + 0.4 * ramp).astype(np.float32)


def sots(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    beta = 0.6 + 1.2 * severity
    airlight = float(rng.uniform(0.7, 1.0))
    transmission = np.exp(-beta * _depth_proxy(image))[..., None]
    return image * transmission + airlight * (1 - transmission)


GAMMA = 2.2  # GoPro and the low-light recipe approximate the camera response by this gamma


def _trajectory(rng: np.random.Generator, frames: int, path_length: float) -> np.ndarray:
    """(frames, 3): x, y offsets in px and rotation in degrees along a smooth random camera path, centred."""
    velocity = rng.normal(0, 1, 2)
    steps = []
    for _ in range(frames - 1):
        velocity = 0.7 * velocity + 0.3 * rng.normal(0, 1, 2)  # momentum: a hand does not jump
        steps.append(velocity)
    steps = np.asarray(steps)
    lengths = np.linalg.norm(steps, axis=1).sum()
    positions = np.vstack([[0.0, 0.0], np.cumsum(steps * (path_length / max(lengths, 1e-6)), axis=0)])
    positions -= positions.mean(axis=0)
    rotation = np.linspace(-0.5, 0.5, frames) * float(rng.uniform(-1.0, 1.0)) * path_length / 20
    return np.column_stack([positions, rotation])


def gopro(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    height, width = image.shape[:2]
    frames = 7 + round(6 * severity)
    linear = np.power(np.clip(image, 0, 1), GAMMA)
    total = np.zeros_like(linear)
    for x, y, angle in _trajectory(rng, frames, 4 + 36 * severity):
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), float(angle), 1.0)
        matrix[:, 2] += (x, y)
        total += cv2.warpAffine(linear, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT)
    return np.power(total / frames, 1 / GAMMA)


def rain100h(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    height, width = image.shape[:2]
    base_angle = 90 + float(rng.uniform(-25, 25))  # degrees from the x axis; 90 is straight down
    streaks = np.zeros((height, width), np.float32)
    for _ in range(3):  # layers: each its own direction, length and brightness
        layer = np.zeros((height, width), np.float32)
        angle = np.deg2rad(base_angle + float(rng.uniform(-8, 8)))
        mean_length = 25 + 50 * severity
        count = int(height * width * (0.0005 + 0.002 * severity) * 40 / mean_length)
        lengths = rng.uniform(0.6, 1.4, count) * mean_length
        starts = rng.uniform((-0.1 * width, -0.1 * height), (width, height), (count, 2))
        ends = starts + lengths[:, None] * np.array([np.cos(angle), np.sin(angle)])
        brightness = rng.uniform(0.5, 1.0, count)
        widths = rng.choice((1, 1, 2), count)
        for start, end, level, thickness in zip(starts, ends, brightness, widths, strict=True):
            cv2.line(layer, (int(start[0]), int(start[1])), (int(end[0]), int(end[1])), float(level),
                     int(thickness), cv2.LINE_AA)
        streaks = np.maximum(streaks, cv2.GaussianBlur(layer, (0, 0), 0.8) * float(rng.uniform(0.6, 1.0)))
    streaks = np.clip(streaks * (0.5 + 0.4 * severity), 0, 1)[..., None]
    rainy = 1 - (1 - image) * (1 - streaks)  # screen blend
    alpha = 0.9 - 0.3 * severity  # rain accumulation: the veil of heavy rain
    airlight = float(rng.uniform(0.75, 0.95))
    return alpha * rainy + (1 - alpha) * airlight


def snow100k(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    height, width = image.shape[:2]
    area = height * width
    mask = np.zeros((height, width), np.float32)
    fall = 90 + float(rng.uniform(-20, 20))
    # (flakes per pixel, radius range in px, blur as a share of the radius): small, medium, large
    for density, (smallest, largest), softness in ((0.004, (0.6, 1.5), 0.4), (0.0012, (2.0, 3.5), 0.6),
                                                   (0.0002, (4.0, 8.0), 1.0)):
        layer = np.zeros((height, width), np.float32)
        count = int(area * density * (0.5 + severity))
        centres = rng.uniform((0, 0), (width, height), (count, 2))
        radii = rng.uniform(smallest, largest, count)
        opacity = rng.uniform(0.4, 1.0, count)
        for (x, y), radius, level in zip(centres, radii, opacity, strict=True):
            cv2.circle(layer, (int(x), int(y)), max(1, round(radius)), float(level), -1, cv2.LINE_AA)
        layer = cv2.GaussianBlur(layer, (0, 0), softness * (smallest + largest) / 2)
        if largest < 4:  # falling: the small and medium flakes are smeared a little along their path
            layer = cv2.filter2D(layer, -1, _line_kernel(int(rng.integers(3, 8)), fall))
        mask = np.maximum(mask, layer)
    mask = np.clip(mask, 0, 1)[..., None]
    colour = rng.uniform(0.85, 1.0) * np.array([0.97, 0.98, 1.0], np.float32)  # slightly cool white
    snowy = colour * mask + image * (1 - mask)
    veil = 0.05 + 0.25 * severity
    return (1 - veil) * snowy + veil * float(rng.uniform(0.75, 0.95))


FULL_WELL = 4000.0  # electrons at white, a small sensor
READ_NOISE = 2.0  # electrons


def lol(image: np.ndarray, rng: np.random.Generator, severity: float) -> np.ndarray:
    exposure = 2.0 ** -(1 + 6 * severity)
    electrons = np.power(np.clip(image, 0, 1), GAMMA) * exposure * FULL_WELL
    electrons = rng.poisson(electrons).astype(np.float32) + rng.normal(0, READ_NOISE, image.shape).astype(np.float32)
    dark = np.power(np.clip(electrons / FULL_WELL, 0, 1), 1 / GAMMA)
    grey = dark.mean(axis=2, keepdims=True)
    return grey + (1 - 0.4 * severity) * (dark - grey)  # low light washes colour out


FOREIGN: dict[str, Degrade] = {"rain": rain, "rain100h": rain100h, "haze": haze, "sots": sots,
                               "noise": noise, "cbsd68": cbsd68, "blur": blur, "gopro": gopro,
                               "snow": snow, "snow100k": snow100k, "lowlight": lowlight, "lol": lol}
RECIPE_KIND: dict[str, str] = {"rain": "rain", "rain100h": "rain", "haze": "haze", "sots": "haze",
                               "noise": "noise", "cbsd68": "noise", "blur": "blur", "gopro": "blur",
                               "snow": "snow", "snow100k": "snow", "lowlight": "lowlight", "lol": "lowlight"}


def foreign_degrade(image: np.ndarray, spec: str, rng: np.random.Generator, severity: float) -> np.ndarray:
    """Apply the textbook recipe of each name in `spec` ("rain+haze" chains), then quantise to 8 bits."""
    out = image.astype(np.float32)
    for name in spec.split("+"):
        if name not in FOREIGN:
            raise SystemExit(f"error: no foreign recipe {name!r}; known: {', '.join(FOREIGN)}")
        out = np.clip(FOREIGN[name](out, rng, severity), 0.0, 1.0).astype(np.float32)
    return quantise(out)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a gallery: validation photos through every recipe.")
    parser.add_argument("--gallery", type=Path, required=True, help="PNG to write")
    parser.add_argument("--photos", type=Path, default=None)
    parser.add_argument("--photos-list", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=1, help="photos per content group")
    parser.add_argument("--severity", type=float, default=0.5)
    parser.add_argument("--side", type=int, default=256, help="thumbnail long side")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from validation import VALIDATION_LIST, VALIDATION_PHOTOS, read_photo_list, load_photo, label

    entries = read_photo_list(args.photos_list or VALIDATION_LIST, limit=args.limit)
    rows = []
    for index, (path, group) in entries:
        photo = load_photo(args.photos or VALIDATION_PHOTOS, path, long_side=2 * args.side)
        tiles = [label(photo, f"{group}: clean", args.side)]
        for number, name in enumerate(FOREIGN):
            degraded = foreign_degrade(photo, name, np.random.default_rng([99, number, index]), args.severity)
            tiles.append(label(degraded, name, args.side))
        rows.append(np.hstack(tiles))
    width = max(row.shape[1] for row in rows)
    sheet = np.vstack([np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows])
    if not cv2.imwrite(str(args.gallery), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        raise SystemExit(f"error: could not write {args.gallery}")


if __name__ == "__main__":
    main()
