"""JPEG compression: encode with OpenCV's libjpeg at a given quality and decode back.

Produces 8x8 blocking, ringing and (with 4:2:0 subsampling) colour bleeding. The image is
quantised to 8 bits on the way; there is no randomness, so there is no seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._common import check_image, check_range, check_severity, finish, lerp

__all__ = ["JpegParams", "apply", "sample"]


@dataclass(frozen=True)
class JpegParams:
    """Encoder settings."""

    quality: int  # libjpeg quality, 1 (worst) to 100
    subsampling: bool  # True: 4:2:0 chroma subsampling; False: 4:4:4 (full-resolution colour)

    def __post_init__(self) -> None:
        if isinstance(self.quality, bool) or not isinstance(self.quality, (int, np.integer)):
            raise ValueError(f"quality must be an int in [1, 100], got {self.quality!r}")
        check_range("quality", self.quality, 1, 100)


def _encode_flags(params: JpegParams) -> list[int]:
    """cv2.imencode flags; older OpenCV without the sampling flag always uses 4:2:0."""
    flags = [cv2.IMWRITE_JPEG_QUALITY, int(params.quality)]
    if hasattr(cv2, "IMWRITE_JPEG_SAMPLING_FACTOR"):
        factor = cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420 if params.subsampling else cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444
        flags += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, int(factor)]
    return flags


def apply(image: np.ndarray, params: JpegParams) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] -> same, after a JPEG round trip (8-bit levels)."""
    check_image(image)
    pixels = np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(pixels[..., ::-1]), _encode_flags(params))
    if not ok:
        raise ValueError(f"OpenCV could not JPEG-encode an image of shape {image.shape}")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError(f"OpenCV could not decode its own JPEG of shape {image.shape}")
    return finish(decoded[..., ::-1].astype(np.float32) / np.float32(255))


def sample(rng: np.random.Generator, severity: float) -> JpegParams:
    """Quality about 95 (severity 0) down to 10 (severity 1), ± 5; 4:2:0 subsampling 70% of the time."""
    severity = check_severity(severity)
    quality = int(np.clip(round(lerp(severity, 95.0, 10.0) + rng.uniform(-5.0, 5.0)), 10, 95))
    return JpegParams(quality=quality, subsampling=bool(rng.random() < 0.7))
