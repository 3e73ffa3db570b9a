"""Hostile input and faults through the CLI (issue 17): one clear line, the right exit code,
nothing half-written, nothing silently wrong. Every input is made here, in tmp_path."""

from __future__ import annotations

import errno
import json
import os
import signal
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import synthetic_photo
from tests.test_cli import invoke, model_dir, write_photo  # noqa: F401  (model_dir is a fixture)
from uhdrestore.io import read_image


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def float_tiff(path: Path, pixels: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), pixels[..., ::-1].astype(np.float32))
    return path


def visible(folder: Path) -> list[str]:
    """Every file under `folder`, hidden ones (temporaries) included."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --- 1, 2: non-finite and HDR float TIFFs ---------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_nan_or_inf_pixel_is_refused_not_turned_black(tmp_path, model_dir, bad):
    pixels = synthetic_photo(48, 64)
    pixels[0, 0, 0] = bad
    source = float_tiff(tmp_path / "bad.tif", pixels)
    result = invoke("fix", source, "--model", model_dir)
    assert result.exit_code == 3
    assert "NaN or infinite" in one_error_line(result)
    assert visible(tmp_path) == ["bad.tif"]


def test_a_non_finite_output_is_never_written(tmp_path, model_dir, monkeypatch):
    from uhdrestore.models.simpleir import SimpleIR

    monkeypatch.setattr(SimpleIR, "forward", lambda self, x, context=None, thumb=None: x * float("nan"))
    source = write_photo(tmp_path / "photo.png")
    result = invoke("fix", source, "--model", model_dir)
    assert result.exit_code == 4 and "NaN or infinite" in one_error_line(result)
    assert visible(tmp_path) == ["photo.png"]


def test_hdr_float_tiff_is_restored_in_range_and_scaled_back(tmp_path, model_dir):
    photo = synthetic_photo(48, 64)
    source = float_tiff(tmp_path / "hdr.tif", photo * 4)
    float_tiff(tmp_path / "ldr.tif", photo)
    result = invoke("fix", source, "--model", model_dir, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["value_range"] == [0.0, pytest.approx(float(photo.max() * 4))]
    result = invoke("fix", source, "--model", model_dir, "--overwrite")
    assert "restored scaled into [0, 1] and scaled back" in result.stderr  # said so
    assert invoke("fix", tmp_path / "ldr.tif", "--model", model_dir).exit_code == 0
    hdr = read_image(tmp_path / "hdr_restored.tif").rgb
    ldr = read_image(tmp_path / "ldr_restored.tif").rgb
    assert hdr.max() > 1.5  # not clipped to 1.0
    np.testing.assert_allclose(hdr, ldr * (photo.max() * 4), atol=2e-5)


# --- 3: --compare ---------------------------------------------------------------------------------

def test_compare_equal_to_the_output_is_refused_before_any_work(tmp_path, model_dir):
    source = write_photo(tmp_path / "a.png")
    result = invoke("fix", source, "-o", tmp_path / "out.png", "--compare", tmp_path / "out.png",
                    "--model", model_dir)
    assert result.exit_code == 6 and "--compare" in one_error_line(result)
    assert visible(tmp_path) == ["a.png"]


def test_compare_equal_to_the_input_is_refused_and_says_compare(tmp_path, model_dir):
    source = write_photo(tmp_path / "a.png")
    before = source.read_bytes()
    result = invoke("fix", source, "--compare", source, "--model", model_dir)
    line = one_error_line(result)
    assert result.exit_code == 6 and "refusing to overwrite the input" in line and "--compare" in line
    assert source.read_bytes() == before and visible(tmp_path) == ["a.png"]


def test_compare_with_a_bad_extension_fails_before_inference(tmp_path, model_dir, monkeypatch):
    import uhdrestore.cli.engine

    monkeypatch.setattr(uhdrestore.cli.engine, "load_restorer", lambda *a, **k: pytest.fail("the model was loaded"))
    source = write_photo(tmp_path / "a.png")
    for extra in (["--compare", tmp_path / "x.gif"], ["-o", tmp_path / "x.gif"]):
        result = invoke("fix", source, *extra, "--model", model_dir)
        assert result.exit_code == 6 and "unsupported type" in one_error_line(result)
    assert visible(tmp_path) == ["a.png"]


# --- 4: batch output folders ----------------------------------------------------------------------

def photos_folder(root: Path, count: int = 2) -> Path:
    folder = root / "pp" / "raw"
    folder.mkdir(parents=True)
    for index in range(count):
        write_photo(folder / f"img_{index}.png", seed=index)
    return folder


def test_batch_into_the_parent_of_its_input_writes_the_outputs_there(tmp_path, model_dir):
    folder = photos_folder(tmp_path)
    result = invoke("batch", folder, "-o", tmp_path / "pp", "--model", model_dir)
    assert result.exit_code == 0, result.output
    assert "2 restored" in result.stderr
    assert visible(tmp_path / "pp") == ["img_0.png", "img_1.png", "raw/img_0.png", "raw/img_1.png"]


def test_batch_into_its_own_input_folder_is_refused(tmp_path, model_dir):
    folder = photos_folder(tmp_path)
    before = visible(tmp_path)
    result = invoke("batch", folder, "-o", folder, "--model", model_dir)
    assert result.exit_code == 6 and "is the input folder" in one_error_line(result)
    assert visible(tmp_path) == before


def test_batch_into_an_existing_file_fails_up_front(tmp_path, model_dir):
    folder = photos_folder(tmp_path)
    (tmp_path / "afile").write_text("x")
    result = invoke("batch", folder, "-o", tmp_path / "afile", "--model", model_dir)
    assert result.exit_code == 6 and "is a file" in one_error_line(result)


# --- 6: temporary files of killed runs, SIGTERM ---------------------------------------------------

def dead_pid() -> int:
    """A process id that no process has now (the pid space is sparse; 2**22 is Linux's maximum)."""
    for pid in range(4_194_000, 4_194_304):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    pytest.skip("no free pid found")


def test_partial_files_of_a_killed_run_are_never_inputs_and_are_cleaned_up(tmp_path, model_dir):
    folder = photos_folder(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    garbage = b"\x89PNG\r\n\x1a\n half"
    stale = f".img_0.png.{dead_pid()}-0123abcd.uhdrestore-partial.png"
    live = f".img_1.png.{os.getpid()}-0123abcd.uhdrestore-partial.png"  # another run, writing now
    for name in (stale, ".img_11.0123456789ab.png"):  # ours, and the name older versions used
        (folder / name).write_bytes(garbage)
    (out / stale).write_bytes(garbage)
    (out / live).write_bytes(garbage)
    result = invoke("batch", folder, "-o", out, "--model", model_dir)
    assert result.exit_code == 0, result.output  # the partial inputs were not taken for photos
    assert "2 restored" in result.stderr and "0 failed" in result.stderr
    assert visible(out) == sorted([live, "img_0.png", "img_1.png"])


def test_sigterm_during_batch_exits_143_and_leaves_no_temporary_file(tmp_path, model_dir, monkeypatch):
    from uhdrestore.pipeline import Restorer

    folder = photos_folder(tmp_path, count=4)
    original = Restorer.restore
    calls = []

    def terminated_on_the_third(self, image, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, image, **kwargs)

    monkeypatch.setattr(Restorer, "restore", terminated_on_the_third)
    previous = signal.getsignal(signal.SIGTERM)
    result = invoke("batch", folder, "-o", tmp_path / "out", "--model", model_dir)
    assert signal.getsignal(signal.SIGTERM) == previous  # the handler is the command's only
    assert result.exit_code == 143 and "terminated" in one_error_line(result)
    written = visible(tmp_path / "out")
    assert written == ["img_0.png", "img_1.png"][: len(written)] and len(written) >= 1
    for name in written:  # complete files only
        assert read_image(tmp_path / "out" / name).rgb.shape == (96, 128, 3)


@pytest.mark.parametrize("signum,code,message", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                  (signal.SIGINT, 130, "interrupted")])
def test_a_signal_during_the_write_of_fix_leaves_no_temporary_file(tmp_path, model_dir, monkeypatch, signum,
                                                                   code, message):
    """SIGTERM is handled like Ctrl-C: the half-written temporary is removed, the exit code says which."""
    import uhdrestore.io

    def killed_mid_write(path, *args, **kwargs):
        Path(path).write_bytes(b"\x89PNG\r\n\x1a\n half of it")
        assert any(is_partial_name(p.name) for p in tmp_path.iterdir())
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler raises here, in the main thread
        return True

    source = write_photo(tmp_path / "a.png")
    monkeypatch.setattr(uhdrestore.io, "_encode", killed_mid_write)
    # A shell starts background jobs with SIGINT ignored, and Python keeps that: restore Ctrl-C as a terminal has it.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        result = invoke("fix", source, "--model", model_dir)
    finally:
        signal.signal(signal.SIGINT, previous_int)
    assert signal.getsignal(signal.SIGTERM) == previous
    assert result.exit_code == code and one_error_line(result) == f"error: {message}"
    assert visible(tmp_path) == ["a.png"]


def is_partial_name(name: str) -> bool:
    from uhdrestore.atomic import is_partial

    return is_partial(name)


# --- 7: write failures ----------------------------------------------------------------------------

def refuse_to_create(monkeypatch, module, code: int) -> None:
    """Make `module`'s own `open` fail for new files as the OS does (root ignores chmod)."""
    real_open = open

    def failing_open(path, mode="r", *args, **kwargs):
        if "x" in mode:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(module, "open", failing_open, raising=False)


@pytest.mark.parametrize("code,reason", [(errno.EACCES, "Permission denied"), (errno.EROFS, "Read-only"),
                                         (errno.ENOSPC, "No space left on device")])
def test_fix_says_why_it_cannot_write_before_restoring(tmp_path, model_dir, monkeypatch, code, reason):
    import uhdrestore.atomic
    import uhdrestore.cli.engine

    refuse_to_create(monkeypatch, uhdrestore.atomic, code)
    monkeypatch.setattr(uhdrestore.cli.engine, "load_restorer", lambda *a, **k: pytest.fail("restored first"))
    source = write_photo(tmp_path / "a.png")
    result = invoke("fix", source, "--model", model_dir)
    assert result.exit_code == 6 and reason in one_error_line(result)
    assert "OpenCV" not in result.stderr and visible(tmp_path) == ["a.png"]


def test_batch_stops_before_restoring_when_the_output_folder_is_not_writable(tmp_path, model_dir,
                                                                                monkeypatch):
    import uhdrestore.atomic
    import uhdrestore.cli.engine

    refuse_to_create(monkeypatch, uhdrestore.atomic, errno.EACCES)
    monkeypatch.setattr(uhdrestore.cli.engine, "load_restorer", lambda *a, **k: pytest.fail("restored first"))
    result = invoke("batch", photos_folder(tmp_path), "-o", tmp_path / "out", "--model", model_dir)
    assert result.exit_code == 6 and "Permission denied" in one_error_line(result)


def test_a_disk_that_fills_during_the_encode_is_named(tmp_path, model_dir, monkeypatch):
    import uhdrestore.io

    def full_disk(path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        return False

    real_fsync = os.fsync

    def no_space(fd):  # the up-front probe of the folder passes; the disk fills during the first image
        if "write-probe" in os.readlink(f"/proc/self/fd/{fd}"):
            return real_fsync(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    folder = photos_folder(tmp_path, count=3)
    monkeypatch.setattr(cv2, "imwrite", full_disk)
    monkeypatch.setattr(cv2, "imwriteWithMetadata", full_disk)
    monkeypatch.setattr(uhdrestore.io.os, "fsync", no_space)  # the probe after the failed encode
    result = invoke("batch", folder, "-o", tmp_path / "out", "--model", model_dir)
    line = one_error_line(result)  # the batch stopped: every later write would fail the same way
    assert result.exit_code == 6 and "img_0.png: No space left on device" in line
    assert visible(tmp_path / "out") == []


# --- 8: pixel limit from the header ---------------------------------------------------------------

def png_bomb(path: Path, width: int, height: int) -> Path:
    """A structurally complete PNG whose header claims width x height (its data is one black row)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(bytes(1 + 3 * width))) + chunk(b"IEND", b""))
    return path


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path, model_dir):
    bomb = png_bomb(tmp_path / "bomb.png", 30000, 30000)
    started = time.perf_counter()
    result = invoke("fix", bomb, "--model", model_dir)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 3
    line = one_error_line(result)
    assert "30000x30000" in line and "--max-pixels" in line


def test_max_pixels_is_an_option_and_batch_goes_on_past_a_large_image(tmp_path, model_dir):
    folder = photos_folder(tmp_path)
    png_bomb(folder / "img_1b.png", 30000, 30000)
    result = invoke("batch", folder, "-o", tmp_path / "out", "--model", model_dir)
    assert result.exit_code == 1 and "2 restored" in result.stderr and "img_1b.png" in result.stderr
    assert visible(tmp_path / "out") == ["img_0.png", "img_1.png"]
    small = invoke("fix", folder / "img_0.png", "--max-pixels", "1000", "--model", model_dir)
    assert small.exit_code == 3 and "128x96" in one_error_line(small)


# --- 10: only regular files -----------------------------------------------------------------------

def test_a_fifo_or_a_device_named_like_a_photo_is_refused_at_once(tmp_path, model_dir):
    os.mkfifo(tmp_path / "p.png")
    (tmp_path / "z.png").symlink_to("/dev/zero")
    for name in ("p.png", "z.png"):
        result = invoke("fix", tmp_path / name, "--model", model_dir)
        assert result.exit_code == 3 and "not a regular file" in one_error_line(result)


# --- 11: model specs ------------------------------------------------------------------------------

def test_a_missing_model_path_fails_at_once_as_a_path(tmp_path, model_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    source = write_photo(tmp_path / "a.png")
    for spec in ("runs/mine", "./mine", "mine.safetensors"):
        started = time.perf_counter()
        result = invoke("fix", source, "--model", spec)
        assert result.exit_code == 4 and "no such model folder or file" in one_error_line(result)
        assert time.perf_counter() - started < 2


def test_an_unreachable_hub_fails_within_seconds_in_one_line(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("UHDRESTORE_DEBUG", raising=False)
    source = write_photo(tmp_path / "a.png")
    started = time.perf_counter()
    result = invoke("fix", source, "--model", "someone/mine")
    assert time.perf_counter() - started < 5
    assert result.exit_code == 4
    line = one_error_line(result)  # and no "Retrying in 1s" lines
    assert "cannot reach the Hub" in line and "--offline" in line


# --- 12: smaller ones -----------------------------------------------------------------------------

def test_an_output_folder_does_not_suggest_overwrite(tmp_path, model_dir):
    source = write_photo(tmp_path / "a.png")
    (tmp_path / "od").mkdir()
    for extra in ([], ["--overwrite"]):
        result = invoke("fix", source, "-o", tmp_path / "od", "--model", model_dir, *extra)
        line = one_error_line(result)
        assert result.exit_code == 6 and "is a folder" in line and "--overwrite" not in line


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_a_truncated_file_prints_only_our_line(tmp_path, model_dir, capfd, ext):
    ok, data = cv2.imencode(ext, (synthetic_photo(64, 64) * 255).astype(np.uint8))
    (tmp_path / f"cut{ext}").write_bytes(data.tobytes()[: len(data) // 2])
    result = invoke("fix", tmp_path / f"cut{ext}", "--model", model_dir)
    assert result.exit_code == 3 and "cut short" in one_error_line(result)
    native = capfd.readouterr().err  # what libpng or libjpeg would print straight to fd 2
    assert "libpng" not in native and "Premature end" not in native


def test_batch_failure_lines_are_not_wrapped_without_a_terminal(tmp_path, model_dir):
    folder = tmp_path / ("a-long-folder-name-" * 5) / "shots"
    folder.mkdir(parents=True)
    write_photo(folder / "good.png")
    (folder / "broken.png").write_bytes(b"not an image")
    result = invoke("batch", folder, "-o", tmp_path / "out", "--model", model_dir)
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert failed == [f"failed: {folder / 'broken.png'}: cannot decode image: {folder / 'broken.png'} "
                      "(not a PNG, JPEG, TIFF, WebP or BMP file)"]
