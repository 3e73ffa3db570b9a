"""Read and write images with OpenCV, keeping bit depth, grayscale, alpha and metadata.

Pixels come back in RGB order (never BGR) as (H, W, 3) or (H, W, 1), in the
dtype the file holds: uint8, uint16 or float32. EXIF orientation is applied to
the pixels on read and reset to 1 in the kept EXIF, so output is upright in
every viewer and never rotated twice. Writes are atomic: a temporary file in
the target folder, then `os.replace`. OpenCV cannot write 2-channel images, so
gray+alpha is written as BGRA with the gray replicated (it reads back as RGB).
Metadata a format cannot carry (BMP, TIFF in OpenCV 5.0) is dropped, not fatal.

Before decoding, the header gives the size (images over `max_pixels` are refused, so a
decompression bomb never allocates) and PNG/JPEG files are checked for truncation. Only
regular files are read: a FIFO would block forever and /dev/zero would never end. Float
images with NaN or Inf are refused; float images with values outside [0, 1] (HDR) are
scaled into [0, 1] by `value_range` for processing and back afterwards, never clipped.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
import numpy.typing as npt

from uhdrestore.atomic import atomic_path
from uhdrestore.errors import InputImageError, OutputError
from uhdrestore.imagefile import DEFAULT_MAX_PIXELS, ImageFormatError, image_size, is_truncated

__all__ = [
    "SUPPORTED_EXTENSIONS", "DEFAULT_MAX_PIXELS", "ImageMetadata", "Image", "read_image", "decode_image",
    "write_image", "encode_image",
    "check_writable", "to_float", "from_float", "value_range", "map_rgb", "is_image_file", "exif_orientation",
    "apply_orientation",
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


Span = tuple[float, float]  # (low, high): the values a float image is scaled from to fit [0, 1]


def value_range(pixels: np.ndarray) -> Span | None:
    """For a float32 image with values outside [0, 1] (HDR), the span to scale it from; else None.

    The span always contains [0, 1], so an image that only overshoots keeps its black at 0.
    """
    if pixels.dtype != np.float32 or pixels.size == 0:
        return None
    low, high = float(pixels.min()), float(pixels.max())
    if low >= 0.0 and high <= 1.0:
        return None
    return min(low, 0.0), max(high, 1.0)


def to_float(pixels: np.ndarray, span: Span | None = None) -> np.ndarray:
    """(H, W, C) uint8/uint16/float32 -> float32 in [0, 1]; the dtype sets the scale.

    With `span` (from `value_range`), float32 values are mapped from [low, high] to [0, 1].
    """
    if pixels.dtype == np.float32:
        if span is None:
            return pixels
        low, high = span
        return (pixels - np.float32(low)) / np.float32(high - low)
    scale = _DTYPE_SCALE.get(pixels.dtype)
    if scale is None:
        raise ValueError(f"unsupported pixel dtype {pixels.dtype}")
    return pixels.astype(np.float32) / np.float32(scale)


def from_float(pixels: np.ndarray, dtype: npt.DTypeLike, span: Span | None = None) -> np.ndarray:
    """float (H, W, C) -> dtype, clipped to [0, 1]; NaN becomes 0 so casts stay defined.

    With `span` (float32 only), [0, 1] is mapped back to [low, high], undoing `to_float`.
    """
    target = np.dtype(dtype)
    clipped = np.clip(np.nan_to_num(pixels.astype(np.float32, copy=False), nan=0.0), 0.0, 1.0)
    if target == np.float32:
        if span is not None:
            low, high = span
            clipped = clipped * np.float32(high - low) + np.float32(low)
        return clipped
    scale = _DTYPE_SCALE.get(target)
    if scale is None:
        raise ValueError(f"unsupported pixel dtype {target}")
    return np.rint(clipped * np.float32(scale)).astype(target)


def map_rgb(image: Image, fn: Callable[[np.ndarray], np.ndarray]) -> Image:
    """Apply `fn` ((H, W, 3) float32 in [0, 1] -> same) to the colour of `image`.

    Grayscale is replicated to RGB and averaged back; alpha, metadata and bit depth are kept.
    An HDR float image is scaled into [0, 1] by its `value_range` and back, not clipped.
    """
    span = value_range(image.rgb)
    pixels = to_float(image.rgb, span)
    if image.is_gray:
        pixels = np.repeat(pixels, 3, axis=2)
    result = fn(np.ascontiguousarray(pixels))
    if image.is_gray:
        result = result.mean(axis=2, keepdims=True, dtype=np.float32)
    return replace(image, rgb=from_float(result, image.rgb.dtype, span))


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
    return pixels, _metadata(types, chunks)


def _metadata(types: object, chunks: object) -> ImageMetadata:
    """OpenCV's metadata lists (as *WithMetadata return them) as ImageMetadata."""
    return ImageMetadata(tuple(int(kind) for kind in np.asarray(types).ravel()),
                         tuple(np.asarray(chunk, dtype=np.uint8).tobytes() for chunk in chunks))  # type: ignore[attr-defined]


def _split_channels(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """OpenCV's BGR[A] or gray[+alpha] (<= 4 channels) -> ((H, W, 3|1) RGB, alpha | None)."""
    if pixels.ndim == 2:
        return pixels[..., None], None
    channels = pixels.shape[2]
    if channels == 1:
        return pixels, None
    if channels == 2:
        return np.ascontiguousarray(pixels[..., :1]), np.ascontiguousarray(pixels[..., 1])
    if channels == 4:
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGB), np.ascontiguousarray(pixels[..., 3])
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB, dst=pixels), None  # in place: no second copy


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


def _check_source(source: Path) -> None:
    """Refuse, before opening it, anything that is not a regular file with a supported extension."""
    try:
        info = source.stat()
    except FileNotFoundError:
        raise InputImageError(f"no such file: {source}") from None
    except OSError as exc:
        raise InputImageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise InputImageError(f"is a directory, not an image: {source}")
    if not is_image_file(source):
        raise InputImageError(f"unsupported image type: {source} (supported: {_SUPPORTED_TEXT})")
    if not stat.S_ISREG(info.st_mode):
        raise InputImageError(f"not a regular file (a FIFO, device or socket): {source}")


def _check_header(source: Path | BinaryIO, name: str | Path, max_pixels: int) -> None:
    """Size limit and completeness, from the file's header and structure, before any decoding."""
    try:
        width, height = image_size(source)
        truncated = is_truncated(source)
    except ImageFormatError as exc:
        raise InputImageError(f"cannot decode image: {name} ({exc})") from None
    except OSError as exc:
        raise InputImageError(f"cannot read {name}: {exc.strerror or exc}") from exc
    if truncated:
        raise InputImageError(f"cannot decode image: {name} (the file is cut short)")
    if max_pixels and width * height > max_pixels:
        raise InputImageError(
            f"image too large: {name} is {width}x{height} ({width * height / 1e6:.0f} MP), over the "
            f"limit of {max_pixels} pixels; if it is genuine, raise --max-pixels (0: no limit)")


def read_image(path: str | os.PathLike, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Decode an image file into RGB (or gray) pixels of its own bit depth, upright.

    Raises `InputImageError` if the file is missing, a folder, not a regular file, of an
    unsupported type or pixel depth, larger than `max_pixels` by its header (0: no limit),
    truncated (PNG/JPEG) or undecodable, or a float image holding NaN or Inf.
    """
    source = Path(path)
    _check_source(source)
    _check_header(source, source, max_pixels)
    try:
        pixels, metadata = _decode(source)
    except OSError as exc:
        raise InputImageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    return _checked_image(pixels, metadata, source)


def decode_image(data: bytes, *, name: str = "standard input", max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Decode an encoded image held in memory (piped on stdin) as `read_image` decodes a file.

    The format is told by the bytes' signature; `name` stands for the source in messages.
    Raises `InputImageError` as `read_image` does (no bytes, no known format, too large,
    truncated, undecodable).
    """
    if not data:
        raise InputImageError(f"cannot decode image: {name} is empty")
    _check_header(io.BytesIO(data), name, max_pixels)
    buffer = np.frombuffer(data, dtype=np.uint8)
    with _quiet_opencv():
        try:
            pixels, types, chunks = cv2.imdecodeWithMetadata(buffer, cv2.IMREAD_UNCHANGED)
            metadata = _metadata(types, chunks)
        except cv2.error:
            pixels, metadata = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED), ImageMetadata()
    return _checked_image(pixels, metadata, name)


def _checked_image(pixels: np.ndarray | None, metadata: ImageMetadata, source: str | Path) -> Image:
    """OpenCV's decoded pixels as an upright RGB Image, or InputImageError for what we cannot restore."""
    if pixels is None or pixels.size == 0:
        raise InputImageError(f"cannot decode image: {source}")
    if pixels.dtype not in (np.uint8, np.uint16, np.float32):
        raise InputImageError(f"unsupported pixel type {pixels.dtype}: {source}")
    if pixels.ndim == 3 and pixels.shape[2] > 4:
        raise InputImageError(f"unsupported channel count {pixels.shape[2]}: {source}")
    if pixels.dtype == np.float32:
        bad = pixels.size - int(np.count_nonzero(np.isfinite(pixels)))
        if bad:
            raise InputImageError(f"{source} holds {bad} NaN or infinite value{'s' if bad > 1 else ''}: "
                                  "replace them with finite numbers before restoring")
    rgb, alpha, metadata = _upright(*_split_channels(pixels), metadata)
    return Image(rgb=rgb, alpha=alpha, metadata=metadata)


def check_writable(path: str | os.PathLike, dtype: npt.DTypeLike, *, name: str | None = None) -> None:
    """Raise `OutputError` unless `path`'s format can hold `dtype` pixels: callers check before the work.

    `name` stands for the destination in the message (default: `path`)."""
    _check_writable(Path(path).suffix.lower(), np.dtype(dtype), Path(name or path))


def _check_writable(extension: str, dtype: np.dtype, destination: Path) -> None:
    """Refuse combinations a format cannot hold, rather than silently losing depth."""
    if extension not in SUPPORTED_EXTENSIONS:
        raise OutputError(f"cannot write {destination}: unsupported type (use {_SUPPORTED_TEXT})")
    if dtype == np.float32 and extension not in _FLOAT_CAPABLE:
        raise OutputError(f"cannot write {destination}: float32 images need .tif")
    if dtype == np.uint16 and extension in _EIGHT_BIT_ONLY:
        raise OutputError(f"cannot write {destination}: {extension} is 8-bit and the image is 16-bit "
                          "(nothing written rather than lose depth); use .png or .tif")
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


def _encode_in_memory(extension: str, pixels: np.ndarray, metadata: ImageMetadata,
                      params: list[int]) -> np.ndarray | None:
    """The encoded file as bytes (with metadata where the format takes it), or None on failure."""
    with _quiet_opencv():
        if metadata.chunks:
            try:
                chunks = [np.frombuffer(chunk, dtype=np.uint8) for chunk in metadata.chunks]
                ok, data = cv2.imencodeWithMetadata(extension, pixels, list(metadata.types), chunks, params)
                if ok:
                    return data
            except cv2.error:
                pass
        try:
            ok, data = cv2.imencode(extension, pixels, params)
        except cv2.error:
            return None
        return data if ok else None


def _may_not_fit(folder: Path, pixels: np.ndarray, metadata: ImageMetadata) -> bool:
    """Whether the folder's free space might not hold the PNG: more than its worst case (deflate's
    stored blocks, a filter byte per row, chunk framing and the metadata) is free, or not."""
    worst = pixels.nbytes * 1.01 + pixels.shape[0] + sum(map(len, metadata.chunks)) + (1 << 16)
    try:
        stats = os.statvfs(folder)
    except OSError:
        return True
    return stats.f_bavail * stats.f_frsize < worst


def _encode(path: str, pixels: np.ndarray, metadata: ImageMetadata, params: list[int]) -> bool:
    """Write with metadata where the format takes it; otherwise (or on failure) without.

    A PNG that might not fit in the space left is encoded in memory and written here: libpng
    prints its own `libpng error: Write Error` on stderr when the disk fills under it, and we
    get the OS's reason (an OSError) instead of imwrite's bare False. With room to spare it
    streams to the file as usual, so memory stays at the pixels, not pixels plus the file.
    """
    if path.lower().endswith(".png") and _may_not_fit(Path(path).parent, pixels, metadata):
        data = _encode_in_memory(".png", pixels, metadata, params)
        if data is None:
            return False
        with open(path, "wb") as file:  # ENOSPC, EDQUOT, EFBIG... raise here, with their errno
            file.write(data.tobytes())
        return True
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
        # Create the file ourselves first: a read-only folder, a missing permission or a full
        # disk then fail with the OS's own reason, which imwrite's False would hide.
        with open(temporary, "xb"):
            pass
        try:
            encoded = _encode(str(temporary), pixels, image.metadata, params)
        except OSError as error:
            raise OutputError(f"cannot write {destination}: {error.strerror or error}", errno=error.errno) from None
        if not encoded:
            reason, code = _why_encoding_failed(temporary)
            raise OutputError(f"cannot write {destination}: {reason}", errno=code)


def encode_image(image: Image, extension: str, *, jpeg_quality: int = 95, png_compression: int = 1,
                 name: str = "standard output") -> bytes:
    """`image` encoded as a file of `extension` (".png", ".jpg" ...) would hold it, in memory.

    The same checks and flags as `write_image`; `name` stands for the destination in messages.
    Raises `OutputError` when the format cannot hold the dtype or encoding fails.
    """
    extension = extension.lower()
    _check_writable(extension, image.dtype, Path(name))
    params = _encode_params(extension, jpeg_quality, png_compression)
    data = _encode_in_memory(extension, _to_opencv_layout(image), image.metadata, params)
    if data is None:
        raise OutputError(f"cannot write {name}: OpenCV could not encode the image")
    return data.tobytes()


_PROBE_BYTES = 1 << 20


def _why_encoding_failed(temporary: Path) -> tuple[str, int | None]:
    """imwrite says only False: tell a full disk (or quota) from an encoder failure by writing more.

    The probe goes into the temporary file, which is deleted right after.
    """
    try:
        with open(temporary, "ab") as file:
            file.write(bytes(_PROBE_BYTES))
            file.flush()
            os.fsync(file.fileno())
    except OSError as error:
        return error.strerror or str(error), error.errno
    return "OpenCV could not encode the image", None
