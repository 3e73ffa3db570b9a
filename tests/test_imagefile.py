"""Image size and completeness from a file's bytes, before decoding (the pixel-limit guard)."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest

from uhdrestore.imagefile import ImageFormatError, image_format, image_size, is_truncated

EXIF = cv2.IMAGE_METADATA_EXIF


def pixels(height: int, width: int, channels: int = 3, dtype=np.uint8) -> np.ndarray:
    rng = np.random.default_rng(height * width)
    if dtype == np.float32:
        return rng.random((height, width, channels), dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max, (height, width, channels), dtype=dtype)


@pytest.mark.parametrize("ext,params,dtype", [
    (".png", [], np.uint8), (".png", [], np.uint16), (".jpg", [], np.uint8),
    (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1], np.uint8), (".tif", [], np.uint8), (".tif", [], np.uint16),
    (".tif", [], np.float32), (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80], np.uint8),
    (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101], np.uint8), (".bmp", [], np.uint8),
])
def test_size_from_the_header_matches_the_decoded_size(tmp_path, ext, params, dtype):
    path = tmp_path / f"a{ext}"
    assert cv2.imwrite(str(path), pixels(37, 91, dtype=dtype), params)
    assert image_size(path) == (91, 37)
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert decoded.shape[:2] == (37, 91)


def test_webp_with_alpha_uses_the_extended_header(tmp_path):
    path = tmp_path / "a.webp"
    assert cv2.imwrite(str(path), pixels(20, 300, channels=4), [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert image_size(path) == (300, 20)


def test_jpeg_with_a_large_exif_segment_before_its_frame(tmp_path):
    path = tmp_path / "exif.jpg"
    big = b"II*\x00\x08\x00\x00\x00\x00\x00" + bytes(60_000)  # nearly a full 64 KB APP1 segment
    ok = cv2.imwriteWithMetadata(str(path), pixels(33, 44), [EXIF], [np.frombuffer(big, np.uint8)])
    assert ok and image_size(path) == (44, 33)


def test_the_format_is_told_by_content_not_extension(tmp_path):
    ok, data = cv2.imencode(".png", pixels(5, 6))
    (tmp_path / "really_a_png.jpg").write_bytes(data.tobytes())
    assert image_format(data.tobytes()[:16]) == "png"
    assert image_size(tmp_path / "really_a_png.jpg") == (6, 5)


def test_a_bmp_stored_top_down_has_a_positive_height(tmp_path):
    path = tmp_path / "a.bmp"
    assert cv2.imwrite(str(path), pixels(7, 9))
    data = bytearray(path.read_bytes())
    struct.pack_into("<i", data, 22, -7)
    path.write_bytes(bytes(data))
    assert image_size(path) == (9, 7)


@pytest.mark.parametrize("content", [b"", b"hello", b"GIF89a" + bytes(20), b"\x89PNG\r\n\x1a\n"])
def test_other_bytes_are_a_format_error(tmp_path, content):
    (tmp_path / "x.png").write_bytes(content)
    with pytest.raises(ImageFormatError):
        image_size(tmp_path / "x.png")


def test_a_tiff_cut_before_its_directory(tmp_path):
    path = tmp_path / "a.tif"
    assert cv2.imwrite(str(path), pixels(64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageFormatError, match="cut short"):
        image_size(path)


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_truncation_is_found_for_png_and_jpeg(tmp_path, ext):
    ok, data = cv2.imencode(ext, pixels(64, 64))
    whole, cut = tmp_path / f"whole{ext}", tmp_path / f"cut{ext}"
    whole.write_bytes(data.tobytes())
    cut.write_bytes(data.tobytes()[: len(data) // 2])
    assert not is_truncated(whole) and is_truncated(cut)
