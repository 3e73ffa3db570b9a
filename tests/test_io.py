"""Tests for uhdrestore.io: round trips, EXIF orientation, metadata, errors, atomic writes."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from uhdrestore import io
from uhdrestore.errors import InputImageError, OutputError
from uhdrestore.io import Image, ImageMetadata, read_image, write_image

EXIF = cv2.IMAGE_METADATA_EXIF


# --- helpers: every image is built here ------------------------------------


def gradient(height: int, width: int, channels: int = 3, dtype=np.uint8) -> np.ndarray:
    """(H, W, C) smooth but asymmetric pattern spanning the dtype's range."""
    top = 1.0 if dtype == np.float32 else float(np.iinfo(dtype).max)
    rows = np.linspace(0.0, 1.0, height)[:, None]
    cols = np.linspace(0.0, 1.0, width)[None, :]
    planes = [rows * cols, cols, rows, 1.0 - 0.5 * rows - 0.5 * cols][:channels]
    stacked = np.stack([np.broadcast_to(p, (height, width)) for p in planes], axis=-1) * top
    return stacked.astype(np.float32) if dtype == np.float32 else np.rint(stacked).astype(dtype)


def noise(height: int, width: int, channels: int, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    """(H, W, C) random pixels over the full dtype range; no lossless codec can cheat."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    return rng.integers(info.min, int(info.max) + 1, (height, width, channels), dtype=dtype)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 arrays."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def exif_blob(orientation: int | None, *, big_endian: bool = False) -> bytes:
    """A minimal EXIF TIFF block: IFD0 with an optional orientation and an inline Artist."""
    endian = ">" if big_endian else "<"
    entries = []
    if orientation is not None:
        entries.append(struct.pack(endian + "HHIHH", 0x0112, 3, 1, orientation, 0))
    entries.append(struct.pack(endian + "HHI", 0x013B, 2, 4) + b"abc\x00")  # Artist "abc"
    header = (b"MM" if big_endian else b"II") + struct.pack(endian + "HI", 42, 8)
    return header + struct.pack(endian + "H", len(entries)) + b"".join(entries) + b"\x00" * 4


def write_with_exif(path: Path, bgr: np.ndarray, exif: bytes) -> None:
    """Write pixels with an EXIF chunk straight through OpenCV (not the code under test)."""
    assert cv2.imwriteWithMetadata(str(path), bgr, [EXIF], [np.frombuffer(exif, np.uint8)])


def exif_chunks(image: Image) -> list[bytes]:
    return [c for t, c in zip(image.metadata.types, image.metadata.chunks) if t == EXIF]


def round_trip(tmp_path: Path, name: str, image: Image, **kwargs) -> Image:
    target = tmp_path / name
    write_image(target, image, **kwargs)
    return read_image(target)


# --- lossless round trips ---------------------------------------------------


@pytest.mark.parametrize("name", ["rgb8.png", "rgb8.bmp", "rgb8.tif"])
def test_8bit_rgb_round_trip_is_exact(tmp_path, name):
    pixels = noise(17, 23, 3)
    back = round_trip(tmp_path, name, Image(pixels, None, ImageMetadata()))
    assert back.dtype == np.uint8 and back.alpha is None
    np.testing.assert_array_equal(back.rgb, pixels)


@pytest.mark.parametrize("name", ["low16.png", "low16.tif"])
def test_16bit_stays_16bit_even_when_all_values_fit_in_8_bits(tmp_path, name):
    pixels = noise(9, 11, 3, np.uint8).astype(np.uint16)  # every value < 256
    back = round_trip(tmp_path, name, Image(pixels, None, ImageMetadata()))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back.rgb, pixels)


@pytest.mark.parametrize("name", ["full16.png", "full16.tif", "full16.tiff"])
def test_16bit_full_range_round_trip_is_exact(tmp_path, name):
    pixels = noise(13, 7, 3, np.uint16)
    pixels[0, 0] = [0, 65535, 256]
    back = round_trip(tmp_path, name, Image(pixels, None, ImageMetadata()))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back.rgb, pixels)


def test_float32_tiff_round_trip_is_exact_and_unclipped(tmp_path):
    pixels = np.random.default_rng(1).normal(0.5, 0.6, (8, 10, 3)).astype(np.float32)
    back = round_trip(tmp_path, "f.tif", Image(pixels, None, ImageMetadata()))
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back.rgb, pixels)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_grayscale_stays_grayscale(tmp_path, dtype, ext):
    pixels = noise(10, 12, 1, dtype)
    back = round_trip(tmp_path, "gray" + ext, Image(pixels, None, ImageMetadata()))
    assert back.is_gray and back.rgb.shape == (10, 12, 1) and back.dtype == dtype
    np.testing.assert_array_equal(back.rgb, pixels)
    assert cv2.imread(str(tmp_path / ("gray" + ext)), cv2.IMREAD_UNCHANGED).ndim == 2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_rgba_round_trip_keeps_alpha_and_rgb(tmp_path, dtype):
    pixels = noise(9, 14, 4, dtype, seed=3)
    image = Image(pixels[..., :3].copy(), pixels[..., 3].copy(), ImageMetadata())
    back = round_trip(tmp_path, "rgba.png", image)
    assert back.alpha is not None and back.alpha.shape == (9, 14) and back.alpha.dtype == dtype
    np.testing.assert_array_equal(back.alpha, pixels[..., 3])
    np.testing.assert_array_equal(back.rgb, pixels[..., :3])


def test_gray_with_alpha_is_written_as_rgba_with_replicated_gray(tmp_path):
    gray = noise(6, 8, 1, seed=4)
    alpha = noise(6, 8, 1, seed=5)[..., 0]
    back = round_trip(tmp_path, "ga.png", Image(gray, alpha, ImageMetadata()))
    np.testing.assert_array_equal(back.alpha, alpha)
    np.testing.assert_array_equal(back.rgb, np.repeat(gray, 3, axis=2))


def test_read_gives_rgb_order_and_write_expects_it(tmp_path):
    bgr_red = np.zeros((4, 5, 3), np.uint8)
    bgr_red[..., 2] = 255
    assert cv2.imwrite(str(tmp_path / "red.png"), bgr_red)
    image = read_image(tmp_path / "red.png")
    assert image.rgb[0, 0].tolist() == [255, 0, 0]
    write_image(tmp_path / "out.png", image)
    assert cv2.imread(str(tmp_path / "out.png"))[0, 0].tolist() == [0, 0, 255]


# --- lossy formats ----------------------------------------------------------


@pytest.mark.parametrize("name", ["a.jpg", "a.jpeg", "a.webp", "A.JPG"])
def test_lossy_round_trip_is_close(tmp_path, name):
    pixels = gradient(48, 64)
    back = round_trip(tmp_path, name, Image(pixels, None, ImageMetadata()))
    assert back.rgb.shape == pixels.shape and back.dtype == np.uint8
    assert psnr(back.rgb, pixels) > 30


@pytest.mark.parametrize("ext", [".jpg", ".webp"])
def test_jpeg_quality_controls_size(tmp_path, ext):
    image = Image(noise(64, 64, 3), None, ImageMetadata())
    write_image(tmp_path / ("low" + ext), image, jpeg_quality=10)
    write_image(tmp_path / ("high" + ext), image, jpeg_quality=95)
    assert (tmp_path / ("low" + ext)).stat().st_size < (tmp_path / ("high" + ext)).stat().st_size


def test_png_compression_controls_size(tmp_path):
    image = Image(gradient(64, 64), None, ImageMetadata())
    write_image(tmp_path / "raw.png", image, png_compression=0)
    write_image(tmp_path / "small.png", image, png_compression=9)
    assert (tmp_path / "small.png").stat().st_size < (tmp_path / "raw.png").stat().st_size
    np.testing.assert_array_equal(read_image(tmp_path / "small.png").rgb, image.rgb)


@pytest.mark.parametrize(
    "kwargs", [{"jpeg_quality": 0}, {"jpeg_quality": 101}, {"png_compression": 10}]
)
def test_out_of_range_encoder_settings_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError):
        write_image(tmp_path / "a.jpg", Image(gradient(4, 4), None, ImageMetadata()), **kwargs)
    assert list(tmp_path.iterdir()) == []


# --- EXIF orientation -------------------------------------------------------

TINY = np.array([[1, 2, 3], [4, 5, 6]])
UPRIGHT = {
    1: [[1, 2, 3], [4, 5, 6]],
    2: [[3, 2, 1], [6, 5, 4]],
    3: [[6, 5, 4], [3, 2, 1]],
    4: [[4, 5, 6], [1, 2, 3]],
    5: [[1, 4], [2, 5], [3, 6]],
    6: [[4, 1], [5, 2], [6, 3]],
    7: [[6, 3], [5, 2], [4, 1]],
    8: [[3, 6], [2, 5], [1, 4]],
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_matches_exif_definition(orientation):
    np.testing.assert_array_equal(io.apply_orientation(TINY, orientation), UPRIGHT[orientation])
    with_channels = io.apply_orientation(np.stack([TINY, TINY * 10], axis=-1), orientation)
    np.testing.assert_array_equal(with_channels[..., 1], np.array(UPRIGHT[orientation]) * 10)


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_parses_both_byte_orders(orientation, big_endian):
    blob = exif_blob(orientation, big_endian=big_endian)
    assert io.exif_orientation(blob) == orientation
    assert io.exif_orientation(b"Exif\x00\x00" + blob) == orientation


@pytest.mark.parametrize(
    "chunk", [b"", b"garbage", exif_blob(None), exif_blob(9), b"II*\x00\xff\xff\x00\x00"]
)
def test_exif_orientation_defaults_to_1(chunk):
    assert io.exif_orientation(chunk) == 1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_read_applies_orientation_like_opencv_does(tmp_path, orientation):
    rgb = noise(6, 10, 3, seed=orientation)
    path = tmp_path / "o.png"
    write_with_exif(path, rgb[..., ::-1], exif_blob(orientation))
    image = read_image(path)
    np.testing.assert_array_equal(image.rgb, io.apply_orientation(rgb, orientation))
    np.testing.assert_array_equal(image.rgb, cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1])


def test_png_orientation_6_rotates_pixels_and_alpha_and_resets_tag(tmp_path):
    rgba = noise(6, 10, 4, seed=7)
    path = tmp_path / "rot.png"
    write_with_exif(path, rgba[..., [2, 1, 0, 3]], exif_blob(6, big_endian=True))
    image = read_image(path)
    assert image.rgb.shape == (10, 6, 3)
    np.testing.assert_array_equal(image.rgb, np.rot90(rgba[..., :3], k=-1))
    np.testing.assert_array_equal(image.alpha, np.rot90(rgba[..., 3], k=-1))
    (exif,) = exif_chunks(image)
    assert exif == exif_blob(1, big_endian=True)  # only the orientation value changed

    again = round_trip(tmp_path, "again.png", image)  # written upright, not rotated twice
    np.testing.assert_array_equal(again.rgb, image.rgb)
    assert io.exif_orientation(exif_chunks(again)[0]) == 1


def test_jpeg_orientation_6_is_rotated_clockwise(tmp_path):
    rgb = gradient(32, 48)
    path = tmp_path / "rot.jpg"
    write_with_exif(path, rgb[..., ::-1].copy(), exif_blob(6))
    image = read_image(path)
    assert image.rgb.shape == (48, 32, 3)
    assert psnr(image.rgb, np.rot90(rgb, k=-1)) > 30
    assert psnr(image.rgb, np.rot90(rgb, k=1)) < 20  # the other direction is clearly wrong
    assert [io.exif_orientation(c) for c in exif_chunks(image)] == [1]


# --- metadata ---------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp"])
def test_exif_survives_round_trip(tmp_path, ext):
    blob = exif_blob(1)
    write_with_exif(tmp_path / ("src" + ext), gradient(16, 16), blob)
    image = read_image(tmp_path / ("src" + ext))
    assert exif_chunks(image) == [blob]
    back = round_trip(tmp_path, "out" + ext, image)
    assert exif_chunks(back) == [blob]


def test_exif_with_jpeg_prefix_is_normalised(tmp_path):
    rgb = noise(6, 10, 3)
    write_with_exif(tmp_path / "p.webp", rgb[..., ::-1].copy(), b"Exif\x00\x00" + exif_blob(8))
    image = read_image(tmp_path / "p.webp")
    assert image.rgb.shape == (10, 6, 3)
    assert exif_chunks(image) == [exif_blob(1)]  # bare TIFF bytes, which PNG's eXIf needs
    assert exif_chunks(round_trip(tmp_path, "p.png", image)) == [exif_blob(1)]


@pytest.mark.parametrize("ext", [".bmp", ".tif"])
def test_formats_without_metadata_support_still_write(tmp_path, ext):
    pixels = noise(5, 7, 3)
    image = Image(pixels, None, ImageMetadata((EXIF,), (exif_blob(1),)))
    back = round_trip(tmp_path, "m" + ext, image)
    np.testing.assert_array_equal(back.rgb, pixels)


def test_metadata_the_encoder_rejects_is_dropped_not_fatal(tmp_path):
    pixels = noise(5, 7, 3)
    bogus_icc = ImageMetadata((cv2.IMAGE_METADATA_ICCP,), (b"not an icc profile" * 8,))
    back = round_trip(tmp_path, "icc.png", Image(pixels, None, bogus_icc))
    np.testing.assert_array_equal(back.rgb, pixels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["icc.png"]


# --- read errors ------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputImageError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_directory(tmp_path):
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(InputImageError):
        read_image(tmp_path / "folder.png")


def test_text_file_named_png(tmp_path):
    (tmp_path / "fake.png").write_text("hello, not an image")
    with pytest.raises(InputImageError, match="cannot decode image"):
        read_image(tmp_path / "fake.png")


def test_unsupported_extension_names_supported_ones(tmp_path):
    assert cv2.imwrite(str(tmp_path / "real.png"), noise(4, 4, 3))
    (tmp_path / "real.gif").write_bytes((tmp_path / "real.png").read_bytes())
    with pytest.raises(InputImageError, match=r"\.png.*\.tif"):
        read_image(tmp_path / "real.gif")


@pytest.mark.parametrize("keep", [0.5, 0.9, -12, -1])
def test_truncated_png(tmp_path, keep):
    assert cv2.imwrite(str(tmp_path / "full.png"), noise(64, 64, 3))
    data = (tmp_path / "full.png").read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else len(data) + keep
    (tmp_path / "cut.png").write_bytes(data[:cut])
    with pytest.raises(InputImageError, match="cannot decode image"):
        read_image(tmp_path / "cut.png")


JPEG_VARIANTS = {
    "baseline": [],
    "progressive": [cv2.IMWRITE_JPEG_PROGRESSIVE, 1],
    "restart-markers": [cv2.IMWRITE_JPEG_RST_INTERVAL, 1],
}


@pytest.mark.parametrize("variant", JPEG_VARIANTS)
def test_complete_jpeg_variants_read(tmp_path, variant):
    pixels = gradient(40, 56)
    assert cv2.imwrite(str(tmp_path / "a.jpg"), pixels[..., ::-1], JPEG_VARIANTS[variant])
    assert psnr(read_image(tmp_path / "a.jpg").rgb, pixels) > 30


@pytest.mark.parametrize("keep", [0.5, 0.9, -2])
@pytest.mark.parametrize("variant", JPEG_VARIANTS)
def test_truncated_jpeg(tmp_path, keep, variant):
    params = JPEG_VARIANTS[variant]
    assert cv2.imwrite(str(tmp_path / "full.jpg"), noise(64, 64, 3), params)
    data = (tmp_path / "full.jpg").read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else len(data) + keep
    (tmp_path / "cut.jpg").write_bytes(data[:cut])
    if keep == 0.9:  # OpenCV alone is fooled: libjpeg pads the missing rows and only warns
        assert cv2.imread(str(tmp_path / "cut.jpg")) is not None
    with pytest.raises(InputImageError, match="cannot decode image"):
        read_image(tmp_path / "cut.jpg")


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_trailing_bytes_after_the_end_marker_are_fine(tmp_path, ext):
    pixels = noise(8, 8, 3)
    params = [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]
    assert cv2.imwrite(str(tmp_path / ("a" + ext)), pixels[..., ::-1], params)
    data = (tmp_path / ("a" + ext)).read_bytes()
    (tmp_path / ("b" + ext)).write_bytes(data + b"\x00\x00trailer (e.g. a motion photo)")
    assert read_image(tmp_path / ("b" + ext)).rgb.shape == (8, 8, 3)


@pytest.mark.parametrize("ext", [".jpg", ".tif", ".webp", ".bmp"])
def test_other_corrupt_files(tmp_path, ext):
    assert cv2.imwrite(str(tmp_path / ("full" + ext)), noise(32, 32, 3))
    data = (tmp_path / ("full" + ext)).read_bytes()
    (tmp_path / ("cut" + ext)).write_bytes(data[: len(data) // 3])
    with pytest.raises(InputImageError):
        read_image(tmp_path / ("cut" + ext))


def test_unsupported_pixel_type(tmp_path):
    assert cv2.imwrite(str(tmp_path / "i32.tif"), np.ones((4, 4), np.int32))
    with pytest.raises(InputImageError, match="int32"):
        read_image(tmp_path / "i32.tif")


# --- write errors and atomicity ---------------------------------------------


def test_write_to_missing_folder(tmp_path):
    with pytest.raises(OutputError, match="cannot write"):
        write_image(tmp_path / "missing" / "out.png", Image(noise(4, 4, 3), None, ImageMetadata()))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".webp", ".bmp"])
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_high_depth_to_8bit_format_is_refused(tmp_path, ext, dtype):
    image = Image(gradient(4, 4, dtype=dtype), None, ImageMetadata())
    with pytest.raises(OutputError, match=r"\.tif"):
        write_image(tmp_path / ("out" + ext), image)
    assert list(tmp_path.iterdir()) == []


def test_float32_to_png_is_refused(tmp_path):
    with pytest.raises(OutputError, match=r"\.tif"):
        write_image(tmp_path / "f.png", Image(gradient(4, 4, dtype=np.float32), None))
    assert list(tmp_path.iterdir()) == []


def test_unsupported_output_extension(tmp_path):
    with pytest.raises(OutputError):
        write_image(tmp_path / "out.gif", Image(noise(4, 4, 3), None, ImageMetadata()))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("with_metadata", [False, True])
def test_failed_encode_leaves_no_file(tmp_path, monkeypatch, with_metadata):
    calls = []

    def fail_after_writing_garbage(path, *args, **kwargs):
        calls.append(path)
        Path(path).write_bytes(b"partial")
        return False

    monkeypatch.setattr(cv2, "imwrite", fail_after_writing_garbage)
    monkeypatch.setattr(cv2, "imwriteWithMetadata", fail_after_writing_garbage)
    metadata = ImageMetadata((EXIF,), (exif_blob(1),)) if with_metadata else ImageMetadata()
    with pytest.raises(OutputError, match="cannot write"):
        write_image(tmp_path / "out.png", Image(noise(4, 4, 3), None, metadata))
    assert calls and all(Path(p).parent == tmp_path and Path(p).suffix == ".png" for p in calls)
    assert list(tmp_path.iterdir()) == []


def test_encoder_exception_leaves_no_file(tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise cv2.error("boom")

    monkeypatch.setattr(cv2, "imwrite", explode)
    with pytest.raises(OutputError):
        write_image(tmp_path / "out.png", Image(noise(4, 4, 3), None, ImageMetadata()))
    assert list(tmp_path.iterdir()) == []


def test_failed_rename_leaves_no_temporary_file(tmp_path):
    (tmp_path / "taken.png").mkdir()
    (tmp_path / "taken.png" / "keep").write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        write_image(tmp_path / "taken.png", Image(noise(4, 4, 3), None, ImageMetadata()))
    assert [p.name for p in tmp_path.iterdir()] == ["taken.png"]


def test_write_replaces_existing_file_with_normal_permissions(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    pixels = noise(4, 4, 3)
    write_image(target, Image(pixels, None, ImageMetadata()))
    np.testing.assert_array_equal(read_image(target).rgb, pixels)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


# --- float conversion and small helpers -------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_float_round_trip_is_exact_for_every_value(dtype):
    every = np.arange(np.iinfo(dtype).max + 1, dtype=dtype).reshape(-1, 1, 1)
    as_float = io.to_float(every)
    assert as_float.dtype == np.float32 and as_float.min() == 0.0 and as_float.max() == 1.0
    np.testing.assert_array_equal(io.from_float(as_float, dtype), every)


def test_from_float_clips_and_keeps_float32():
    values = np.array([[[-0.5, 0.25, 1.5, np.nan]]], np.float32)
    assert io.from_float(values, np.uint8).tolist() == [[[0, 64, 255, 0]]]
    assert io.from_float(values, np.uint16).tolist() == [[[0, 16384, 65535, 0]]]
    as_float = io.from_float(values, np.float32)
    assert as_float.dtype == np.float32 and as_float.tolist() == [[[0.0, 0.25, 1.0, 0.0]]]


def test_to_float_keeps_float32_and_rejects_other_types():
    pixels = np.full((2, 2, 3), 2.0, np.float32)
    assert io.to_float(pixels) is pixels
    with pytest.raises(ValueError):
        io.to_float(np.zeros((2, 2, 3), np.int32))


def test_is_image_file():
    assert io.is_image_file("a.PNG") and io.is_image_file(Path("dir/b.JpEg"))
    assert io.is_image_file("c.tiff") and io.is_image_file("d.webp") and io.is_image_file("e.bmp")
    assert not any(io.is_image_file(name) for name in ["f.gif", "png", "g.png.txt"])


def test_image_properties():
    image = Image(np.zeros((3, 5, 1), np.uint16), None, ImageMetadata())
    assert (image.height, image.width, image.is_gray, image.dtype) == (3, 5, True, np.uint16)
    assert not Image(np.zeros((3, 5, 3), np.uint8), None, ImageMetadata()).is_gray


# --- issue 17: what the header and the values say before any work ----------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_float_image_with_a_non_finite_value_is_refused(tmp_path, bad):
    pixels = np.full((8, 8, 3), 0.5, np.float32)
    pixels[3, 4, 1] = bad
    assert cv2.imwrite(str(tmp_path / "a.tif"), pixels)
    with pytest.raises(InputImageError, match="1 NaN or infinite value"):
        read_image(tmp_path / "a.tif")


def test_hdr_values_are_scaled_for_processing_and_back_not_clipped():
    rgb = np.array([[[-0.5, 0.25, 4.0]]], np.float32)
    image = Image(rgb, None, ImageMetadata())
    assert io.value_range(rgb) == (-0.5, 4.0) and io.value_range(rgb / 8 + 0.5) is None
    seen = []
    result = io.map_rgb(image, lambda pixels: seen.append(pixels.copy()) or pixels)
    assert seen[0].min() >= 0 and seen[0].max() <= 1
    np.testing.assert_allclose(result.rgb, rgb, atol=1e-6)


def test_the_pixel_limit_is_read_from_the_header(tmp_path):
    assert cv2.imwrite(str(tmp_path / "a.png"), noise(30, 40, 3))
    assert read_image(tmp_path / "a.png", max_pixels=1200).width == 40
    with pytest.raises(InputImageError, match=r"40x30 .*over the limit of 1199 pixels"):
        read_image(tmp_path / "a.png", max_pixels=1199)
    assert read_image(tmp_path / "a.png", max_pixels=0).height == 30  # 0: no limit


def test_only_regular_files_are_read(tmp_path):
    os.mkfifo(tmp_path / "p.png")
    (tmp_path / "z.png").symlink_to("/dev/zero")
    for name in ("p.png", "z.png"):
        with pytest.raises(InputImageError, match="not a regular file"):
            read_image(tmp_path / name)


def test_check_writable_refuses_before_the_work(tmp_path):
    io.check_writable(tmp_path / "a.tif", np.float32)
    for name, dtype in (("a.gif", np.uint8), ("a.png", np.float32), ("a.jpg", np.uint16)):
        with pytest.raises(OutputError):
            io.check_writable(tmp_path / name, dtype)


def test_write_errors_carry_the_os_reason(tmp_path, monkeypatch):
    import errno

    def read_only(path, mode="r", *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(io, "open", read_only, raising=False)
    with pytest.raises(OutputError, match="Read-only file system") as caught:
        write_image(tmp_path / "a.png", Image(noise(4, 4, 3), None, ImageMetadata()))
    assert caught.value.errno == errno.EROFS and list(tmp_path.iterdir()) == []


def test_a_png_that_fills_the_disk_fails_with_our_line_only(tmp_path):
    """Issue 17, found on a real full tmpfs: libpng printed `libpng error: Write Error` on stderr
    before our line. Here a file-size limit (RLIMIT_FSIZE) makes the writes fail as a full disk
    does, in a child process so the limit stays there, and statvfs reports the disk nearly full."""
    import errno
    import subprocess
    import sys

    script = f"""
import os, resource, signal, sys
import numpy as np
import uhdrestore.io as io
from uhdrestore.errors import OutputError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
real = os.statvfs
class Full:
    def __init__(self, path):
        stats = real(path)
        self.f_frsize, self.f_bavail = stats.f_frsize, 1
io.os.statvfs = Full
pixels = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
try:
    io.write_image({str(tmp_path / "a.png")!r}, io.Image(pixels, None, io.ImageMetadata()))
except OutputError as error:
    print(error, error.errno)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing of libpng's own
    assert done.stdout.strip() == f"cannot write {tmp_path / 'a.png'}: File too large {errno.EFBIG}"
    assert list(tmp_path.iterdir()) == []
