"""Classical baselines: what a user would reach for instead of uhdrestore, one per degradation kind.

Every function maps an (H, W, 3) float32 RGB image in [0, 1] to the same, is deterministic
and uses OpenCV and numpy only. `CLASSICAL[kind]` is (name shown in tables, function);
`classical_for("rain+haze")` gives the first kind's. Noise and haze use the textbook
methods (NLM, He et al.'s dark channel prior). The other choices, and NLM's strength,
were picked by mean PSNR on our generator: severities 0.3/0.5/0.8, two 384-px crops each
of Blinds, Wood and RainDrops (noise and lowlight also Garden, Aqua and Storm): training
photos, never the held-out ones.

- noise: h = hColor = 1.8 x the estimated sigma (1.0x: up to 2.9 dB worse at severity 0.8,
  1.5x-2.2x within 0.3 dB).
- lowlight: a gamma that lifts the mean to 0.45 (0.4 and 0.5 within 0.3 dB), then NLM.
  It beat a plain gain, gamma alone, gamma + bilateral, gray-world balance and gamma +
  CLAHE on L of Lab (CLAHE cost 0.5-1.7 dB: it adds local contrast the clean photo lacks).
- blur: an unsharp mask, sigma 1.5, amount 1.5; sigma 1-2.5 x amount 0.5-1.5 and a
  Gaussian-PSF Wiener filter scored lower or equal (the PSF is unknown: motion, defocus, ...).
- rain, snow: a grey opening with an 11-px disk. Median 3/5 and bilateral filters gained
  under 1.5 dB; openings gain 1-8 dB, best at 11 px over both kinds (15 px wins only at
  severity 0.8). It costs about 33 dB PSNR on a clean textured crop and often lowers SSIM.
- jpeg: a small bilateral filter (d 5, sigmaColor 0.08, sigmaSpace 2), +0.5-0.8 dB; wider
  bilaterals, a Gaussian and NLM did no better.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from uhdrestore.degrade import split_part

__all__ = ["CLASSICAL", "bilateral", "bright_opening", "classical_for", "dark_channel_prior", "estimate_noise_sigma",
           "guided_filter", "lowlight_enhance", "nlm_denoise", "unsharp_mask"]

Restorer = Callable[[np.ndarray], np.ndarray]


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def _to_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / np.float32(255)


def estimate_noise_sigma(image: np.ndarray) -> float:
    """(H, W, 3) float32 in [0, 1] -> noise std in [0, 1] units (a robust MAD estimate).

    The finest diagonal Haar detail, (a - b - c + d) / 2 over 2x2 blocks, holds little image
    and keeps the std of white noise; its median absolute value / 0.6745 is sigma (Donoho).
    The median over the three channels is returned. Grainy (spatially correlated) noise
    is underestimated, as by any finest-scale estimate.
    """
    height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    pixels = image[:height, :width].astype(np.float32)
    detail = (pixels[0::2, 0::2] - pixels[0::2, 1::2] - pixels[1::2, 0::2] + pixels[1::2, 1::2]) / 2
    per_channel = np.median(np.abs(detail.reshape(-1, 3)), axis=0) / 0.6745
    return float(np.median(per_channel))


NLM_STRENGTH = 1.8  # h = hColor = NLM_STRENGTH * sigma in 8-bit levels (tuned on our noise generator)


def nlm_denoise(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same: OpenCV non-local means with h set from the estimated sigma.

    h = hColor = NLM_STRENGTH * sigma * 255 (at least 1), templateWindowSize 7, searchWindowSize 21,
    on the 8-bit image.
    """
    strength = max(1.0, NLM_STRENGTH * estimate_noise_sigma(image) * 255)
    bgr = cv2.cvtColor(_to_uint8(image), cv2.COLOR_RGB2BGR)
    out = cv2.fastNlMeansDenoisingColored(bgr, None, h=strength, hColor=strength,
                                          templateWindowSize=7, searchWindowSize=21)
    return _to_float(cv2.cvtColor(out, cv2.COLOR_BGR2RGB))


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """(H, W) float32 guide and source -> (H, W) float32: He et al.'s guided filter with box means."""
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(array: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(array, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_guide, mean_source = mean(guide), mean(source)
    covariance = mean(guide * source) - mean_guide * mean_source
    variance = mean(guide * guide) - mean_guide * mean_guide
    slope = covariance / (variance + np.float32(eps))
    offset = mean_source - slope * mean_guide
    return mean(slope) * guide + mean(offset)


def dark_channel_prior(image: np.ndarray, *, patch: int = 15, omega: float = 0.95, t0: float = 0.1,
                       eps: float = 1e-3) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same: dark channel prior dehazing (He, Sun and Tang, 2009).

    dark(I) = min over RGB, then a patch x patch min filter. The airlight A is the mean colour
    of the brightest 0.1% dark-channel pixels (more stable than their single brightest pixel).
    The transmission t = 1 - omega * dark(I / A) is refined by a guided filter on the grey image,
    radius 40 px per 1000 px of short side (eps 1e-3), and J = (I - A) / max(t, t0) + A.
    """
    pixels = np.clip(image, 0.0, 1.0).astype(np.float32)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch))

    def dark(array: np.ndarray) -> np.ndarray:
        return cv2.erode(array.min(axis=2), kernel, borderType=cv2.BORDER_REFLECT)

    dark_channel = dark(pixels)
    count = max(1, dark_channel.size // 1000)
    brightest = np.argpartition(dark_channel.ravel(), -count)[-count:]
    airlight = np.maximum(pixels.reshape(-1, 3)[brightest].mean(axis=0), 1e-3).astype(np.float32)
    transmission = 1 - np.float32(omega) * dark(pixels / airlight)
    radius = max(4, round(40 * min(image.shape[:2]) / 1000))
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    transmission = guided_filter(grey, transmission.astype(np.float32), radius, eps)
    restored = (pixels - airlight) / np.maximum(transmission, np.float32(t0))[..., None] + airlight
    return np.clip(restored, 0.0, 1.0).astype(np.float32)


LOWLIGHT_TARGET_MEAN = 0.45


def lowlight_enhance(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same: a gamma that lifts the mean to 0.45, then `nlm_denoise`.

    gamma = log(0.45) / log(mean of the image); the sensor noise it amplifies is then removed
    with non-local means, its strength estimated on the brightened image.
    """
    pixels = np.clip(image, 1e-4, 1.0).astype(np.float32)
    mean = float(np.clip(pixels.mean(), 1e-3, 0.99))
    brightened = np.power(pixels, np.float32(np.log(LOWLIGHT_TARGET_MEAN) / np.log(mean)))
    return nlm_denoise(brightened)


def unsharp_mask(image: np.ndarray, *, sigma: float = 1.5, amount: float = 1.5) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same: image + amount * (image - GaussianBlur(image, sigma)), clipped."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return np.clip(image + np.float32(amount) * (image - blurred), 0.0, 1.0).astype(np.float32)


def bright_opening(image: np.ndarray, *, size: int = 11) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same: a grey morphological opening with a size-px disk, per channel.

    Erosion then dilation removes bright structures narrower than the disk (streaks, flakes)
    and keeps larger shapes; fine bright detail goes too.
    """
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.morphologyEx(image, cv2.MORPH_OPEN, disk, borderType=cv2.BORDER_REFLECT)


def bilateral(image: np.ndarray, *, diameter: int = 5, sigma_colour: float = 0.08,
              sigma_space: float = 2.0) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same: cv2.bilateralFilter (sigma_colour in [0, 1] units)."""
    return cv2.bilateralFilter(np.clip(image, 0, 1).astype(np.float32), diameter, sigma_colour, sigma_space)


CLASSICAL: dict[str, tuple[str, Restorer]] = {
    "noise": ("NLM", nlm_denoise),
    "haze": ("dark channel prior", dark_channel_prior),
    "lowlight": ("gamma+NLM", lowlight_enhance),
    "blur": ("unsharp mask", unsharp_mask),
    "rain": ("opening 11px", bright_opening),
    "snow": ("opening 11px", bright_opening),
    "jpeg": ("bilateral", bilateral),
}


def classical_for(spec: str) -> tuple[str, Restorer]:
    """(name, function) for a kind or a chain such as "rain+haze" (its first kind's baseline); a look
    such as "snow:crisp" gets its kind's."""
    first, _look = split_part(spec.split("+", 1)[0].strip().lower())
    if first not in CLASSICAL:
        raise ValueError(f"no classical baseline for {spec!r}; known kinds: {', '.join(CLASSICAL)}")
    return CLASSICAL[first]
