"""The command line as a user drives it, through Typer's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import perturbed_model, synthetic_photo
from uhdrestore.cli import app
from uhdrestore.hub import save_model
from uhdrestore.io import Image, ImageMetadata, from_float, read_image, write_image

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    network = perturbed_model()
    return save_model(network, network.config, tmp_path_factory.mktemp("model") / "tiny")


def write_photo(path: Path, height: int = 96, width: int = 128, seed: int = 0, dtype=np.uint8) -> Path:
    write_image(path, Image(rgb=from_float(synthetic_photo(height, width, seed), dtype), alpha=None,
                            metadata=ImageMetadata()))
    return path


def invoke(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


def test_fix_writes_the_result_next_to_the_input(tmp_path, model_dir):
    source = write_photo(tmp_path / "photo.png")
    result = invoke("fix", source, "--model", model_dir)
    assert result.exit_code == 0, result.output
    target = tmp_path / "photo_restored.png"
    assert result.stdout.strip() == str(target)
    restored = read_image(target)
    assert restored.rgb.shape == (96, 128, 3) and restored.rgb.dtype == np.uint8
    assert not np.array_equal(restored.rgb, read_image(source).rgb)  # the model did something


def test_strength_keeps_that_share_of_the_change_in_fix_and_batch(tmp_path, model_dir):
    (tmp_path / "in").mkdir()
    source = write_photo(tmp_path / "in" / "photo.png")
    assert invoke("fix", source, "--model", model_dir, "-o", tmp_path / "full.png").exit_code == 0
    result = invoke("fix", source, "--model", model_dir, "-o", tmp_path / "half.png", "--strength", "0.5", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["strength"] == 0.5
    original, full = read_image(source).rgb.astype(float), read_image(tmp_path / "full.png").rgb.astype(float)
    half = read_image(tmp_path / "half.png").rgb.astype(float)
    assert np.abs(full - original).mean() > 1  # the model changes the photo ...
    assert np.abs(half - (original + full) / 2).max() <= 1  # ... and half of that change is kept
    result = invoke("batch", tmp_path / "in", "-o", tmp_path / "out", "--model", model_dir, "--strength", "0.5")
    assert result.exit_code == 0, result.output
    assert np.array_equal(read_image(tmp_path / "out" / "photo.png").rgb, half.astype(np.uint8))


def test_fix_with_a_lone_weights_file_matches_its_folder(tmp_path, model_dir):
    source = write_photo(tmp_path / "photo.png")
    lone = shutil.copy(model_dir / "model.safetensors", tmp_path / "mine.safetensors")  # no config.json here
    assert invoke("fix", source, "--model", model_dir, "-o", tmp_path / "folder.png").exit_code == 0
    result = invoke("fix", source, "--model", lone, "-o", tmp_path / "lone.png")
    assert result.exit_code == 0, result.output
    assert np.array_equal(read_image(tmp_path / "lone.png").rgb, read_image(tmp_path / "folder.png").rgb)


def test_fix_keeps_16_bit_gray_and_alpha(tmp_path, model_dir):
    gray = synthetic_photo(64, 80)[..., :1]
    source = tmp_path / "gray16.png"
    write_image(source, Image(rgb=from_float(gray, np.uint16), alpha=None, metadata=ImageMetadata()))
    assert invoke("fix", source, "--model", model_dir).exit_code == 0
    restored = read_image(tmp_path / "gray16_restored.png")
    assert restored.rgb.shape == (64, 80, 1) and restored.rgb.dtype == np.uint16

    alpha = from_float(np.linspace(0, 1, 64 * 80, dtype=np.float32).reshape(64, 80), np.uint8)
    source = tmp_path / "rgba.png"
    write_image(source, Image(rgb=from_float(synthetic_photo(64, 80), np.uint8), alpha=alpha,
                              metadata=ImageMetadata()))
    assert invoke("fix", source, "--model", model_dir).exit_code == 0
    assert np.array_equal(read_image(tmp_path / "rgba_restored.png").alpha, alpha)


def test_fix_tiled_matches_untiled(tmp_path, model_dir):
    source = write_photo(tmp_path / "big.png", 400, 520)
    assert invoke("fix", source, "-o", tmp_path / "whole.png", "--tile", 0, "--model", model_dir).exit_code == 0
    result = invoke("fix", source, "-o", tmp_path / "tiled.png", "--tile", 192, "--tile-overlap", 32,
                    "--model", model_dir, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tile"] == 192 and report["tiles"] > 4 and report["device"] == "cpu"
    whole = read_image(tmp_path / "whole.png").rgb.astype(int)
    tiled = read_image(tmp_path / "tiled.png").rgb.astype(int)
    assert 10 * np.log10(255**2 / max(np.mean((whole - tiled) ** 2), 1e-12)) >= 50


def test_fix_refuses_to_overwrite_unless_asked(tmp_path, model_dir):
    source = write_photo(tmp_path / "photo.png")
    target = tmp_path / "photo_restored.png"
    target.write_bytes(b"keep me")
    result = invoke("fix", source, "--model", model_dir)
    assert result.exit_code == 6 and "--overwrite" in result.stderr
    assert target.read_bytes() == b"keep me"
    assert invoke("fix", source, "--model", model_dir, "--overwrite").exit_code == 0
    assert read_image(target).rgb.shape == (96, 128, 3)
    result = invoke("fix", source, "-o", source, "--overwrite", "--model", model_dir)
    assert result.exit_code == 6 and "input" in result.stderr


def test_fix_compare_writes_before_and_after_side_by_side(tmp_path, model_dir):
    source = write_photo(tmp_path / "photo.png")
    assert invoke("fix", source, "--compare", tmp_path / "compare.png", "--model", model_dir).exit_code == 0
    compare = read_image(tmp_path / "compare.png").rgb
    assert compare.shape == (96, 256, 3)
    assert np.array_equal(compare[:, :128], read_image(source).rgb)
    assert np.array_equal(compare[:, 128:], read_image(tmp_path / "photo_restored.png").rgb)


@pytest.mark.parametrize("make_input,code,message", [
    (lambda d: d / "missing.png", 3, "no such file"),
    (lambda d: (d / "notes.png").write_text("not an image") and d / "notes.png", 3, "cannot decode"),
    (lambda d: (d / "cut.png").write_bytes(_png_bytes()[:200]) and d / "cut.png", 3, "cannot decode"),
    (lambda d: (d / "photo.gif").write_bytes(b"GIF89a") and d / "photo.gif", 3, "unsupported"),
])
def test_bad_input_gives_one_line_and_no_output(tmp_path, model_dir, make_input, code, message):
    source = make_input(tmp_path)
    before = set(tmp_path.iterdir())
    result = invoke("fix", source, "--model", model_dir)
    assert result.exit_code == code
    assert message in result.stderr.lower() and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert set(tmp_path.iterdir()) == before  # no partial or temporary file


def _png_bytes() -> bytes:
    import cv2

    return cv2.imencode(".png", from_float(synthetic_photo(64, 64), np.uint8))[1].tobytes()


@pytest.mark.parametrize("model,message", [
    ("default", "bundled default model"),
    ("no/such-model-here", "offline"),
    ("./nowhere", "no such model"),
])
def test_bad_model_gives_exit_code_4(tmp_path, monkeypatch, model, message):
    import uhdrestore.hub

    monkeypatch.setattr(uhdrestore.hub, "bundled_weights_dir", lambda: tmp_path / "empty")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    source = write_photo(tmp_path / "photo.png")
    result = invoke("fix", source, "--model", model, "--offline")
    assert result.exit_code == 4, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "photo_restored.png").exists()


def test_unwritable_output_folder_exits_6(tmp_path, model_dir):
    source = write_photo(tmp_path / "photo.png")
    result = invoke("fix", source, "-o", tmp_path / "no" / "such" / "dir.png", "--model", model_dir)
    assert result.exit_code == 6 and "cannot write" in result.stderr


@pytest.mark.parametrize("args,code", [(["--tile", "big"], 2), (["--tile", "-5"], 2), (["--tile", "abc"], 2),
                                       (["--tile", "50"], 2), (["--tile-overlap", "-1"], 2),
                                       (["--device", "tpu"], 2), (["--precision", "fp8"], 2),
                                       (["--strength", "1.5"], 2), (["--strength", "-0.1"], 2),
                                       (["--strength", "nan"], 2),
                                       (["--device", "cuda:7"], 5)])
def test_bad_options_are_rejected(tmp_path, model_dir, args, code):
    """A value no machine accepts is a usage error (2); a device this machine lacks is exit 5."""
    source = write_photo(tmp_path / "photo.png")
    result = invoke("fix", source, "--model", model_dir, *args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and not (tmp_path / "photo_restored.png").exists()
    if args[0] != "--tile-overlap":  # Click's own range check still draws its box
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error: ") and args[1] in result.stderr


def test_debug_variable_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("UHDRESTORE_DEBUG", "1")
    result = invoke("fix", tmp_path / "missing.png")
    assert result.exit_code != 0 and result.exception is not None


def make_folder(root: Path) -> Path:
    folder = root / "shots"
    (folder / "day" / "noon").mkdir(parents=True)
    write_photo(folder / "a.png", seed=1)
    write_photo(folder / "b.jpg", seed=2)
    write_photo(folder / "day" / "c.png", seed=3)
    write_photo(folder / "day" / "noon" / "d.tif", seed=4, dtype=np.uint16)
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_batch_restores_a_folder_and_mirrors_the_tree(tmp_path, model_dir):
    folder = make_folder(tmp_path)
    result = invoke("batch", folder, "--recursive", "--model", model_dir, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"] == {**report["summary"], "processed": 4, "skipped": 0, "failed": 0}
    out = tmp_path / "shots_restored"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a.png", "b.jpg", "day/c.png", "day/noon/d.tif"]
    assert read_image(out / "day" / "noon" / "d.tif").rgb.dtype == np.uint16


def test_batch_without_recursive_stays_at_the_top(tmp_path, model_dir):
    folder = make_folder(tmp_path)
    out = tmp_path / "out"
    assert invoke("batch", folder, "-o", out, "--model", model_dir).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg"]


def test_batch_resumes_by_skipping_existing_outputs(tmp_path, model_dir):
    folder = make_folder(tmp_path)
    out = tmp_path / "out"
    assert invoke("batch", folder, "-o", out, "-r", "--model", model_dir).exit_code == 0
    (out / "a.png").unlink()
    stamp = (out / "b.jpg").stat().st_mtime_ns
    result = invoke("batch", folder, "-o", out, "-r", "--model", model_dir, "--json")
    summary = json.loads(result.stdout)["summary"]
    assert (summary["processed"], summary["skipped"]) == (1, 3)
    assert (out / "a.png").exists() and (out / "b.jpg").stat().st_mtime_ns == stamp
    result = invoke("batch", folder, "-o", out, "-r", "--model", model_dir, "--overwrite", "--json")
    assert json.loads(result.stdout)["summary"]["processed"] == 4


def test_a_corrupt_file_does_not_stop_the_batch(tmp_path, model_dir):
    folder = tmp_path / "shots"
    folder.mkdir()
    for index in range(4):
        write_photo(folder / f"{index}.png", seed=index)
    (folder / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = invoke("batch", folder, "--model", model_dir)
    assert result.exit_code == 1
    assert "3 restored" in result.stderr and "1 failed" in result.stderr and "2.png" in result.stderr
    out = tmp_path / "shots_restored"
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "1.png", "3.png"]


def test_batch_on_a_missing_folder_is_an_input_error(tmp_path):
    result = invoke("batch", tmp_path / "nope")
    assert result.exit_code == 3 and "not a folder" in result.stderr


def test_version_and_help():
    assert invoke("--version").stdout.strip().startswith("uhdrestore ")
    help_text = invoke("fix", "--help").stdout
    for option in ("--output", "--compare", "--overwrite", "--model", "--revision", "--device",
                   "--precision", "--tile", "--tile-overlap", "--json"):
        assert option in help_text


def test_out_of_memory_exits_5_with_a_hint_and_no_output(tmp_path, model_dir, monkeypatch):
    import torch

    import uhdrestore.restore

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(uhdrestore.restore, "process_tiles", out_of_memory)
    source = write_photo(tmp_path / "photo.png")
    result = invoke("fix", source, "--model", model_dir)
    assert result.exit_code == 5 and "out of memory" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "photo_restored.png").exists()


def test_models_lists_the_bundled_model(tmp_path, monkeypatch, model_dir):
    import uhdrestore.hub

    monkeypatch.setattr(uhdrestore.hub, "bundled_weights_dir", lambda: model_dir)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    result = invoke("models", "--json")
    assert result.exit_code == 0, result.output
    names = [(m["name"], m["kind"]) for m in json.loads(result.stdout)["models"]]
    assert ("default", "bundled") in names


def test_quiet_and_json_still_print_the_error_line(tmp_path):
    for flag in ("--quiet", "--json"):
        result = invoke("fix", tmp_path / "missing.png", flag)
        assert result.exit_code == 3
        assert result.stderr.strip().splitlines() == [f"error: no such file: {tmp_path / 'missing.png'}"]
        assert result.stdout == ""
