"""Read and write images with OpenCV, keeping bit depth, grayscale, alpha and metadata.

Pixels come back in RGB order (never BGR) as (H, W, 3) or (H, W, 1), in the
dtype the file holds: uint8, uint16 or float32. EXIF orientation is applied to
the pixels on read and reset to 1 in the kept EXIF, so output is upright in
every viewer and never rotated twice. Writes are atomic: a temporary file in
the target folder, then `os.replace`. OpenCV cannot write 2-channel images, so
gray+alpha is written as BGRA with the gray replicated (it reads back as RGB).
Metadata a format cannot carry (BMP, TIFF in OpenCV 5.0) is dropped, not fatal.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from uhdrestore.atomic import atomic_path
from uhdrestore.errors import InputImageError, OutputError

__all__ = [
    "SUPPORTED_EXTENSIONS", "ImageMetadata", "Image", "read_image", "write_image",
    "to_float", "from_float", "map_rgb", "is_image_file", "exif_orientation", "apply_orientation",
]  # fmt: skip

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}
)
_SUPPORTED_TEXT = ", ".join(sorted(SUPPORTED_EXTENSIONS))
_EIGHT_BIT_ONLY = frozenset({".jpg", ".jpeg", ".webp", ".bmp"})
_FLOAT_CAPABLE = frozenset({".tif", ".tiff"})
_DTYPE_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_EXIF_PREFIX = b"Exif\x00\x00"
_ORIENTATION_TAG = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ImageMetadata:
    """Opaque metadata chunks (EXIF, XMP, ICC ...) as read by OpenCV, to write back."""

    types: tuple[int, ...] = ()
    chunks: tuple[bytes, ...] = ()


@dataclass
class Image:
    """Decoded pixels in RGB order plus optional alpha and the file's metadata."""

    rgb: np.ndarray  # (H, W, 3) or (H, W, 1); uint8, uint16 or float32
    alpha: np.ndarray | None  # (H, W), same dtype as rgb
    metadata: ImageMetadata = ImageMetadata()

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def is_gray(self) -> bool:
        return self.rgb.shape[2] == 1

    @property
    def dtype(self) -> np.dtype:
        return self.rgb.dtype


def is_image_file(path: str | os.PathLike) -> bool:
    """True if the extension (any case) is one we read and write."""
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS


def to_float(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8/uint16/float32 -> float32 in [0, 1]; the dtype sets the scale."""
    if pixels.dtype == np.float32:
        return pixels
    scale = _DTYPE_SCALE.get(pixels.dtype)
    if scale is None:
        raise ValueError(f"unsupported pixel dtype {pixels.dtype}")
    return pixels.astype(np.float32) / np.float32(scale)


def from_float(pixels: np.ndarray, dtype: npt.DTypeLike) -> np.ndarray:
    """float (H, W, C) -> dtype, clipped to [0, 1]; NaN becomes 0 so casts stay defined."""
    target = np.dtype(dtype)
    clipped = np.clip(np.nan_to_num(pixels.astype(np.float32, copy=False), nan=0.0), 0.0, 1.0)
    if target == np.float32:
        return clipped
    scale = _DTYPE_SCALE.get(target)
    if scale is None:
        raise ValueError(f"unsupported pixel dtype {target}")
    return np.rint(clipped * np.float32(scale)).astype(target)


def map_rgb(image: Image, fn: Callable[[np.ndarray], np.ndarray]) -> Image:
    """Apply `fn` ((H, W, 3) float32 in [0, 1] -> same) to the colour of `image`.

    Grayscale is replicated to RGB and averaged back; alpha, metadata and bit depth are kept.
    """
    pixels = to_float(image.rgb)
    if image.is_gray:
        pixels = np.repeat(pixels, 3, axis=2)
    result = fn(np.ascontiguousarray(pixels))
    if image.is_gray:
        result = result.mean(axis=2, keepdims=True, dtype=np.float32)
    return replace(image, rgb=from_float(result, image.rgb.dtype))


def _orientation_entry(chunk: bytes) -> tuple[int, str, int] | None:
    """(byte offset of the value, endian, value) of IFD0's orientation tag, if any."""
    base = len(_EXIF_PREFIX) if chunk.startswith(_EXIF_PREFIX) else 0
    endian = {b"II": "<", b"MM": ">"}.get(chunk[base : base + 2])
    if endian is None or len(chunk) < base + 8:
        return None
    ifd = base + struct.unpack_from(endian + "I", chunk, base + 4)[0]
    if ifd + 2 > len(chunk):
        return None
    (count,) = struct.unpack_from(endian + "H", chunk, ifd)
    for index in range(count):
        entry = ifd + 2 + 12 * index
        if entry + 12 > len(chunk):
            return None
        tag, kind = struct.unpack_from(endian + "HH", chunk, entry)
        if tag == _ORIENTATION_TAG and kind == 3:  # SHORT, value stored inline
            return entry + 8, endian, struct.unpack_from(endian + "H", chunk, entry + 8)[0]
    return None


def exif_orientation(chunk: bytes) -> int:
    """The EXIF orientation (1..8) of a raw EXIF chunk; 1 when absent or invalid."""
    found = _orientation_entry(chunk)
    return found[2] if found and 1 <= found[2] <= 8 else 1


def _reset_orientation(chunk: bytes) -> bytes:
    """The same EXIF bytes with orientation patched to 1, so nothing rotates twice."""
    patched, found = bytearray(chunk), _orientation_entry(chunk)
    if found is not None:
        struct.pack_into(found[1] + "H", patched, found[0], 1)
    return bytes(patched)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn (H, W, ...) pixels stored with EXIF `orientation` into upright pixels."""
    transforms = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],  # mirror left-right
        3: lambda a: a[::-1, ::-1],  # rotate 180
        4: lambda a: a[::-1],  # mirror top-bottom
        5: lambda a: a.swapaxes(0, 1),  # transpose
        6: lambda a: np.rot90(a, k=-1),  # rotate 90 clockwise
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],  # transverse
        8: lambda a: np.rot90(a, k=1),  # rotate 90 counter-clockwise
    }
    return np.ascontiguousarray(transforms.get(orientation, transforms[1])(pixels))


def _png_is_complete(data: bytes) -> bool:
    """Walk the PNG chunks: a file cut before IEND can still decode partly."""
    if not data.startswith(_PNG_SIGNATURE):
        return False
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        position += 12 + length
        if kind == b"IEND":
            return position <= len(data)
    return False


def _jpeg_is_complete(data: bytes) -> bool:
    """Walk the JPEG markers to EOI: libjpeg pads a cut file with grey and only warns."""
    position = 2 if data.startswith(b"\xff\xd8") else len(data)
    while (position := data.find(b"\xff", position)) >= 0 and position + 1 < len(data):
        marker = data[position + 1]
        if marker == 0xD9:
            return True
        if marker in (0x00, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:  # stuffing, fill, RSTn
            position += 1 if marker == 0xFF else 2
        else:  # a segment: skip its body; scan data after SOS is walked byte-wise above
            position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return False


def _is_truncated(path: Path) -> bool:
    """True for a PNG or JPEG whose structure ends early; other formats fail in OpenCV."""
    checks = {".png": _png_is_complete, ".jpg": _jpeg_is_complete, ".jpeg": _jpeg_is_complete}
    check = checks.get(path.suffix.lower())
    return check is not None and not check(path.read_bytes())


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log lines while decoding; our errors say what went wrong."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


def _decode(path: Path) -> tuple[np.ndarray | None, ImageMetadata]:
    """Pixels as OpenCV returns them (BGR[A]) and metadata; falls back to plain imread."""
    with _quiet_opencv():
        try:
            pixels, types, chunks = cv2.imreadWithMetadata(str(path), cv2.IMREAD_UNCHANGED)
        except cv2.error:
            return cv2.imread(str(path), cv2.IMREAD_UNCHANGED), ImageMetadata()
    types = tuple(int(kind) for kind in np.asarray(types).ravel())
    chunks = tuple(np.asarray(chunk, dtype=np.uint8).tobytes() for chunk in chunks)
    return pixels, ImageMetadata(types, chunks)


def _split_channels(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """OpenCV's BGR[A] or gray[+alpha] (<= 4 channels) -> ((H, W, 3|1) RGB, alpha | None)."""
    if pixels.ndim == 2:
        return pixels[..., None], None
    channels = pixels.shape[2]
    if channels == 1:
        return pixels, None
    if channels == 2:
        return np.ascontiguousarray(pixels[..., :1]), np.ascontiguousarray(pixels[..., 1])
    alpha = np.ascontiguousarray(pixels[..., 3]) if channels == 4 else None
    return np.ascontiguousarray(pixels[..., 2::-1]), alpha


def _upright(
    rgb: np.ndarray, alpha: np.ndarray | None, metadata: ImageMetadata
) -> tuple[np.ndarray, np.ndarray | None, ImageMetadata]:
    """Apply the EXIF orientation to the pixels and keep EXIF that now says 1."""
    orientation = 1
    chunks = []
    for kind, chunk in zip(metadata.types, metadata.chunks):
        if kind == cv2.IMAGE_METADATA_EXIF:
            # PNG wants bare TIFF bytes; OpenCV adds the JPEG/WebP prefix itself.
            chunk = chunk.removeprefix(_EXIF_PREFIX)
            if orientation == 1:
                orientation = exif_orientation(chunk)
            chunk = _reset_orientation(chunk)
        chunks.append(chunk)
    if alpha is not None:
        alpha = apply_orientation(alpha, orientation)
    kept = ImageMetadata(metadata.types, tuple(chunks))
    return apply_orientation(rgb, orientation), alpha, kept


def read_image(path: str | os.PathLike) -> Image:
    """Decode an image file into RGB (or gray) pixels of its own bit depth, upright.

    Raises `InputImageError` if the file is missing, a folder, of an unsupported
    type or pixel depth, cannot be decoded, or is a truncated PNG/JPEG.
    """
    source = Path(path)
    if not source.exists():
        raise InputImageError(f"no such file: {source}")
    if source.is_dir():
        raise InputImageError(f"is a directory, not an image: {source}")
    if not is_image_file(source):
        raise InputImageError(f"unsupported image type: {source} (supported: {_SUPPORTED_TEXT})")
    try:
        pixels, metadata = _decode(source)
        truncated = _is_truncated(source)
    except OSError as exc:
        raise InputImageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    if pixels is None or pixels.size == 0 or truncated:
        raise InputImageError(f"cannot decode image: {source}")
    if pixels.dtype not in (np.uint8, np.uint16, np.float32):
        raise InputImageError(f"unsupported pixel type {pixels.dtype}: {source}")
    if pixels.ndim == 3 and pixels.shape[2] > 4:
        raise InputImageError(f"unsupported channel count {pixels.shape[2]}: {source}")
    rgb, alpha, metadata = _upright(*_split_channels(pixels), metadata)
    return Image(rgb=rgb, alpha=alpha, metadata=metadata)


def _check_writable(extension: str, dtype: np.dtype, destination: Path) -> None:
    """Refuse combinations a format cannot hold, rather than silently losing depth."""
    if extension not in SUPPORTED_EXTENSIONS:
        raise OutputError(f"cannot write {destination}: unsupported type (use {_SUPPORTED_TEXT})")
    if dtype == np.float32 and extension not in _FLOAT_CAPABLE:
        raise OutputError(f"cannot write {destination}: float32 images need .tif")
    if dtype == np.uint16 and extension in _EIGHT_BIT_ONLY:
        raise OutputError(f"cannot write {destination}: {extension} is 8-bit; use .png or .tif")
    if dtype not in (np.uint8, np.uint16, np.float32):
        raise OutputError(f"cannot write {destination}: unsupported pixel type {dtype}")


def _to_opencv_layout(image: Image) -> np.ndarray:
    """RGB/gray + alpha -> BGR[A] or 2D gray; gray+alpha becomes BGRA (no 2-channel writer)."""
    rgb = image.rgb
    if image.alpha is None:
        return rgb[..., 0] if image.is_gray else np.ascontiguousarray(rgb[..., ::-1])
    colour = np.repeat(rgb, 3, axis=2) if image.is_gray else rgb
    return np.ascontiguousarray(np.dstack([colour[..., ::-1], image.alpha]))


def _encode_params(extension: str, jpeg_quality: int, png_compression: int) -> list[int]:
    """OpenCV imwrite flags for the format; quality >100 would silently mean lossless WebP."""
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
    if not 0 <= png_compression <= 9:
        raise ValueError(f"png_compression must be in 0..9, got {png_compression}")
    if extension in (".jpg", ".jpeg"):
        return [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    if extension == ".webp":
        return [cv2.IMWRITE_WEBP_QUALITY, jpeg_quality]
    if extension == ".png":
        return [cv2.IMWRITE_PNG_COMPRESSION, png_compression]
    return []


def _encode(path: str, pixels: np.ndarray, metadata: ImageMetadata, params: list[int]) -> bool:
    """Write with metadata where the format takes it; otherwise (or on failure) without."""
    with _quiet_opencv():
        if metadata.chunks:
            try:
                chunks = [np.frombuffer(chunk, dtype=np.uint8) for chunk in metadata.chunks]
                if cv2.imwriteWithMetadata(path, pixels, list(metadata.types), chunks, params):
                    return True
            except cv2.error:
                pass
        try:
            return bool(cv2.imwrite(path, pixels, params))
        except cv2.error:
            return False


def write_image(
    path: str | os.PathLike, image: Image, *, jpeg_quality: int = 95, png_compression: int = 1
) -> None:
    """Encode `image` to `path` atomically (temp file + rename), keeping depth and metadata.

    Overwrites an existing file and never creates folders (callers decide both).
    `jpeg_quality` (1..100) applies to JPEG and WebP, `png_compression` (0..9) to PNG.
    Raises `OutputError` if the folder is missing or unwritable, the format cannot
    hold the dtype (16-bit/float32 to JPEG/WebP/BMP, float32 to PNG) or encoding
    fails; no partial or temporary file is left behind. Raises `ValueError` for an
    out-of-range quality or compression level.
    """
    destination = Path(path)
    extension = destination.suffix.lower()
    _check_writable(extension, image.dtype, destination)
    params = _encode_params(extension, jpeg_quality, png_compression)
    pixels = _to_opencv_layout(image)
    with atomic_path(destination, suffix=extension) as temporary:
        if not _encode(str(temporary), pixels, image.metadata, params):
            raise OutputError(f"cannot write {destination}: OpenCV could not encode the image")
