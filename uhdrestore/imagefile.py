"""What an image file's bytes say before it is decoded: its format, its size, whether it is whole.

`read_image` asks these questions first, so a decompression bomb is refused before a byte
of it is decoded and a truncated PNG or JPEG never reaches libpng or libjpeg (which would
print their own warnings). The format is told by the file's signature, as OpenCV does,
never by its extension. Only the first bytes are read, except for the completeness checks,
which walk a PNG's chunk headers and a JPEG's markers.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["DEFAULT_MAX_PIXELS", "FORMAT_EXTENSIONS", "ImageFormatError", "image_format", "image_size",
           "is_truncated", "output_name"]

Source = str | os.PathLike[str] | BinaryIO  # a file's path, or its bytes already open (stdin)

# Largest image read unless told otherwise: 16384 x 16384 (268 MP). A 30000 x 30000 PNG of black
# (2.6 MB on disk, a decompression bomb) is refused before it can allocate 2.7 GB and more.
DEFAULT_MAX_PIXELS = 16384 * 16384

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEAD = 64 * 1024  # enough for every header but a JPEG with large EXIF or ICC segments before its frame
# Start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# The extension each format is written with (`image_format`'s names; --format takes jpg and tif too).
FORMAT_EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "tiff": ".tif", "webp": ".webp", "bmp": ".bmp"}


class ImageFormatError(ValueError):
    """The bytes are not a PNG, JPEG, TIFF, WebP or BMP file, or their header is cut short."""


def image_format(head: bytes) -> str | None:
    """"png", "jpeg", "tiff", "webp", "bmp" from a file's first bytes, or None."""
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM":
        return "bmp"
    return None


def output_name(source: Path, *, suffix: str = "", extension: str | None = None) -> Path:
    """photo.png -> photo{suffix}{extension}, beside it: the input's own extension when None."""
    return source.with_name(f"{source.stem}{suffix}{source.suffix if extension is None else extension}")


@contextlib.contextmanager
def _opened(source: Source) -> Iterator[BinaryIO]:
    """A binary file at its start: `source` opened, or `source` itself (rewound) when already open."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            yield file
    else:
        source.seek(0)
        yield source


def image_size(path: Source) -> tuple[int, int]:
    """(width, height) from the header of the image file at `path` (or an open binary file),
    without decoding it.

    Raises ImageFormatError for a file that is none of the five formats, or whose header
    does not say; OSError if it cannot be read.
    """
    with _opened(path) as file:
        head = file.read(_HEAD)
        kind = image_format(head)
        try:
            if kind == "png":
                return _png_size(head)
            if kind == "jpeg":
                return _jpeg_size(file)
            if kind == "tiff":
                return _tiff_size(file, head)
            if kind == "webp":
                return _webp_size(head)
            if kind == "bmp":
                return _bmp_size(head)
        except (struct.error, IndexError):
            raise ImageFormatError(f"its {kind} header is cut short") from None
    raise ImageFormatError("not a PNG, JPEG, TIFF, WebP or BMP file")


def _png_size(head: bytes) -> tuple[int, int]:
    if head[12:16] != b"IHDR":
        raise ImageFormatError("a PNG without its IHDR header")
    return struct.unpack_from(">II", head, 16)


def _jpeg_size(file: BinaryIO) -> tuple[int, int]:
    """Walk the marker segments to the first start-of-frame (EXIF and ICC segments come before it)."""
    file.seek(2)
    while True:
        marker = file.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            raise ImageFormatError("a JPEG whose header has no frame size")
        kind = marker[1]
        if kind == 0xFF:  # fill byte: the marker follows
            file.seek(-1, 1)
            continue
        if 0xD0 <= kind <= 0xD9 or kind == 0x01:  # markers without a length
            continue
        length = struct.unpack(">H", _read_exactly(file, 2))[0]
        if kind in _JPEG_FRAMES:
            height, width = struct.unpack(">xHH", _read_exactly(file, 5))
            if height == 0:  # the height is defined later by a DNL marker: too rare to support
                raise ImageFormatError("a JPEG that does not give its height in the header")
            return width, height
        file.seek(length - 2, 1)


def _read_exactly(file: BinaryIO, count: int) -> bytes:
    data = file.read(count)
    if len(data) < count:
        raise struct.error("short read")
    return data


def _tiff_size(file: BinaryIO, head: bytes) -> tuple[int, int]:
    """ImageWidth (256) and ImageLength (257) of the first IFD, classic or BigTIFF."""
    endian = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    file.seek(struct.unpack_from(endian + "Q", head, 8)[0] if big else struct.unpack_from(endian + "I", head, 4)[0])
    count_format, entry_size = (endian + "Q", 20) if big else (endian + "H", 12)
    count = struct.unpack(count_format, _read_exactly(file, struct.calcsize(count_format)))[0]
    entries = _read_exactly(file, min(count, 4096) * entry_size)
    value_formats = {3: "H", 4: "I", 16: "Q"}  # SHORT, LONG, LONG8
    found: dict[int, int] = {}
    for index in range(min(count, 4096)):
        tag, kind = struct.unpack_from(endian + "HH", entries, index * entry_size)
        if tag in (256, 257) and kind in value_formats:
            offset = index * entry_size + (12 if big else 8)
            found[tag] = struct.unpack_from(endian + value_formats[kind], entries, offset)[0]
    if 256 not in found or 257 not in found:
        raise ImageFormatError("a TIFF whose first page does not give its size")
    return found[256], found[257]


def _webp_size(head: bytes) -> tuple[int, int]:
    chunk = head[12:16]
    if chunk == b"VP8 ":  # lossy: the frame header after the 3-byte tag and the start code
        width, height = struct.unpack_from("<HH", head, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":  # lossless: 14 bits each of width - 1 and height - 1
        bits = struct.unpack_from("<I", head, 21)[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24 bits each of canvas width - 1 and height - 1
        return (int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1)
    raise ImageFormatError("a WebP without a VP8, VP8L or VP8X header")


def _bmp_size(head: bytes) -> tuple[int, int]:
    header_size = struct.unpack_from("<I", head, 14)[0]
    if header_size == 12:  # OS/2 BITMAPCOREHEADER
        return struct.unpack_from("<HH", head, 18)
    width, height = struct.unpack_from("<ii", head, 18)
    return abs(width), abs(height)  # a negative height means rows are stored top-down


def _png_is_complete(file: BinaryIO) -> bool:
    """Walk the PNG chunk headers to IEND: a file cut before it can still decode partly."""
    if file.read(len(_PNG_SIGNATURE)) != _PNG_SIGNATURE:
        return False
    size = file.seek(0, 2)
    position = len(_PNG_SIGNATURE)
    while position + 8 <= size:
        file.seek(position)
        length, kind = struct.unpack(">I4s", file.read(8))
        position += 12 + length
        if kind == b"IEND":
            return position <= size
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


def is_truncated(path: Source) -> bool:
    """True for a PNG or JPEG (told by its signature) whose structure ends early; `path` may
    also be an open binary file.

    Other formats are left to the decoder, which fails on them itself.
    """
    with _opened(path) as file:
        kind = image_format(file.read(16))
        file.seek(0)
        if kind == "png":
            return not _png_is_complete(file)
        if kind == "jpeg":
            return not _jpeg_is_complete(file.read())
    return False
