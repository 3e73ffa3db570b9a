"""`uhdrestore fix` the way image-tool users drive it: several paths, - for stdin/stdout,
--suffix, --format and --quality (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.test_cli import invoke, model_dir, runner, write_photo  # noqa: F401  # model_dir is a fixture
from uhdrestore.cli import app
from uhdrestore.io import read_image

PNG, JPEG = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def visible(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if not path.name.startswith("."))


def test_several_inputs_each_go_next_to_their_input(tmp_path, model_dir):
    first, second = write_photo(tmp_path / "a.png", seed=1), write_photo(tmp_path / "b.jpg", seed=2)
    result = invoke("fix", first, second, "--model", model_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [str(tmp_path / "a_restored.png"), str(tmp_path / "b_restored.jpg")]
    assert visible(tmp_path) == ["a.png", "a_restored.png", "b.jpg", "b_restored.jpg"]


def test_several_inputs_into_a_new_folder_and_a_file_name_is_a_usage_error(tmp_path, model_dir):
    sources = [write_photo(tmp_path / f"{name}.png", seed=index) for index, name in enumerate("abc")]
    out = tmp_path / "out"
    assert invoke("fix", *sources, "-o", out, "--suffix", "", "--model", model_dir).exit_code == 0
    assert visible(out) == ["a.png", "b.png", "c.png"]
    result = invoke("fix", *sources, "-o", tmp_path / "x.png", "--model", model_dir)
    assert result.exit_code == 2 and "must be a folder" in one_error_line(result)
    assert not (tmp_path / "x.png").exists()


def test_one_bad_input_among_several_is_one_line_and_exit_1(tmp_path, model_dir):
    good = [write_photo(tmp_path / "a.png", seed=1), write_photo(tmp_path / "c.png", seed=3)]
    broken = tmp_path / "b.png"
    broken.write_bytes(PNG + b" broken")
    result = invoke("fix", good[0], broken, good[1], tmp_path / "missing.png", "--model", model_dir, "--json")
    assert result.exit_code == 1
    failures = result.stderr.strip().splitlines()
    assert len(failures) == 2 and failures[0].startswith(f"failed: {broken}: cannot decode image")
    report = json.loads(result.stdout)
    assert report["command"] == "fix" and report["model"]["kind"] == "local"
    assert report["summary"] == {**report["summary"], "processed": 2, "failed": 2}
    assert [item["status"] for item in report["items"]] == ["ok", "failed", "ok", "failed"]
    assert report["items"][0]["output"] == str(tmp_path / "a_restored.png")
    assert all(Path(item["input"]).is_absolute() for item in report["items"])
    assert visible(tmp_path) == ["a.png", "a_restored.png", "b.png", "c.png", "c_restored.png"]


def test_one_input_keeps_its_json_and_its_exit_code(tmp_path, model_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_photo(tmp_path / "a.png")
    result = invoke("fix", "a.png", "--model", model_dir, "--json")
    report = json.loads(result.stdout)
    assert {"command", "input", "output", "compare", "seconds", "size", "uhdrestore", "device", "precision",
            "model", "tile", "tiles"} <= set(report) and "items" not in report
    assert report["input"] == str(tmp_path / "a.png")  # paths in JSON are absolute
    assert report["output"] == str(tmp_path / "a_restored.png")
    assert invoke("fix", "missing.png", "--model", model_dir).exit_code == 3


def test_stdin_to_stdout_writes_only_the_image_on_stdout(tmp_path, model_dir):
    data = write_photo(tmp_path / "a.png").read_bytes()
    result = runner.invoke(app, ["fix", "-", "--model", str(model_dir)], input=data)
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(PNG)
    decoded = cv2.imdecode(np.frombuffer(result.stdout_bytes, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape == (96, 128, 3)
    assert visible(tmp_path) == ["a.png"]  # nothing written beside anything

    result = runner.invoke(app, ["fix", "-", "-o", "-", "--format", "jpg", "--model", str(model_dir)],
                           input=data)
    assert result.exit_code == 0 and result.stdout_bytes.startswith(JPEG)


def test_stdin_to_a_file_takes_the_format_from_its_name(tmp_path, model_dir):
    data = write_photo(tmp_path / "a.png").read_bytes()
    target = tmp_path / "out.jpg"
    result = runner.invoke(app, ["fix", "-", "-o", str(target), "--model", str(model_dir)], input=data)
    assert result.exit_code == 0 and result.stdout == f"{target}\n"
    assert target.read_bytes().startswith(JPEG)


@pytest.mark.parametrize("args,message", [
    (["-", "--json"], "--json"),
    (["-", "-o", "-", "--json"], "--json"),
    (["a.png", "b.png", "-o", "-"], "one image"),
    (["-", "a.png"], "only input"),
])
def test_stdio_combinations_that_cannot_work_are_usage_errors(tmp_path, model_dir, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["fix", *args, "--model", str(model_dir)], input=b"")
    assert result.exit_code == 2 and message in one_error_line(result)
    assert result.stdout_bytes == b""


def test_garbage_on_stdin_is_one_line_exit_3(model_dir):
    result = runner.invoke(app, ["fix", "-", "--model", str(model_dir)], input=b"not an image")
    assert result.exit_code == 3 and "standard input" in one_error_line(result)
    assert result.stdout_bytes == b""


def test_suffix_format_and_quality(tmp_path, model_dir):
    source = write_photo(tmp_path / "a.png", height=128, width=160)
    assert invoke("fix", source, "--suffix", "_x", "--format", "webp", "--model", model_dir).exit_code == 0
    assert (tmp_path / "a_x.webp").read_bytes()[8:12] == b"WEBP"
    sizes = {}
    for quality in (10, 95):
        target = tmp_path / f"q{quality}.jpg"
        assert invoke("fix", source, "-o", target, "--quality", quality, "--model", model_dir).exit_code == 0
        sizes[quality] = target.stat().st_size
    assert sizes[10] < sizes[95] / 2
    assert read_image(tmp_path / "q10.jpg").rgb.shape == (128, 160, 3)


@pytest.mark.parametrize("args,message", [
    (["--quality", "0"], "--quality"), (["--quality", "101"], "--quality"), (["--format", "gif"], "--format"),
    (["--format", "png", "-o", "x.jpg"], "disagrees"), (["--suffix", "/x"], "--suffix"),
])
def test_bad_output_options_are_one_line_usage_errors(tmp_path, model_dir, args, message):
    source = write_photo(tmp_path / "a.png")
    result = invoke("fix", source, *args, "--model", model_dir)
    assert result.exit_code == 2 and message in one_error_line(result)
    assert visible(tmp_path) == ["a.png"]


def test_16_bit_to_an_8_bit_format_is_refused_before_the_work(tmp_path, model_dir):
    source = write_photo(tmp_path / "deep.png", dtype=np.uint16)
    for format in ("jpg", "webp"):
        result = invoke("fix", source, "--format", format, "--model", model_dir)
        assert result.exit_code == 6 and "16-bit" in one_error_line(result)
    assert visible(tmp_path) == ["deep.png"]
    result = invoke("fix", source, "--format", "tif", "--model", model_dir)
    assert result.exit_code == 0 and read_image(tmp_path / "deep_restored.tif").rgb.dtype == np.uint16


def test_the_same_output_twice_fails_the_second(tmp_path, model_dir):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    first, second = write_photo(tmp_path / "x" / "a.png"), write_photo(tmp_path / "y" / "a.png", seed=5)
    result = invoke("fix", first, second, "-o", tmp_path / "out", "--model", model_dir)
    assert result.exit_code == 1 and "both be written" in result.stderr
    assert visible(tmp_path / "out") == ["a_restored.png"]
    assert np.array_equal(read_image(tmp_path / "out" / "a_restored.png").rgb.shape, (96, 128, 3))
