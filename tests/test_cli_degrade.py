"""`uhdrestore degrade` as a user drives it, through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import synthetic_photo
from uhdrestore.cli import app
from uhdrestore.io import Image, ImageMetadata, from_float, read_image, write_image

runner = CliRunner()


def write_photo(path: Path, dtype=np.uint8, channels: int = 3, alpha: np.ndarray | None = None) -> Path:
    rgb = synthetic_photo(64, 80, seed=1)[..., :channels]
    write_image(path, Image(rgb=from_float(rgb, dtype), alpha=alpha, metadata=ImageMetadata()))
    return path


def invoke(*args: object):
    return runner.invoke(app, [str(arg) for arg in args])


def test_writes_name_kind_next_to_the_input(tmp_path):
    source = write_photo(tmp_path / "photo.png")
    result = invoke("degrade", source, "--kind", "rain")
    assert result.exit_code == 0, result.output
    target = tmp_path / "photo_rain.png"
    assert result.stdout.strip() == str(target)
    degraded = read_image(target)
    assert degraded.rgb.shape == (64, 80, 3) and degraded.rgb.dtype == np.uint8
    assert degraded.rgb.astype(int).mean() > read_image(source).rgb.astype(int).mean()  # rain brightens


def test_the_same_seed_gives_the_same_pixels(tmp_path):
    source = write_photo(tmp_path / "photo.png")
    for name, seed in (("a.png", 3), ("b.png", 3), ("c.png", 4)):
        assert invoke("degrade", source, "-k", "snow+noise", "--seed", seed, "-o", tmp_path / name).exit_code == 0
    first, again, other = (read_image(tmp_path / name).rgb for name in ("a.png", "b.png", "c.png"))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_json_lists_the_parameters_of_every_part(tmp_path):
    source = write_photo(tmp_path / "photo.png")
    result = invoke("degrade", source, "--kind", "Rain+haze", "--severity", 0.8, "--seed", 2, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(tmp_path / "photo_rain+haze.png")
    assert report["kind"] == "rain+haze" and report["severity"] == 0.8 and report["seed"] == 2
    assert [part["kind"] for part in report["parts"]] == ["rain", "haze"]
    assert report["parts"][0]["layers"] and 0.3 <= report["parts"][1]["beta"] <= 3.5
    assert Path(report["output"]).exists()


@pytest.mark.parametrize("args", [["--kind", "fog"], ["--kind", "rain+"], ["--kind", "rain", "--severity", 1.5], []])
def test_bad_options_are_usage_errors(tmp_path, args):
    source = write_photo(tmp_path / "photo.png")
    result = invoke("degrade", source, *args)
    assert result.exit_code == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["photo.png"]


def test_unknown_kind_error_names_the_known_kinds(tmp_path):
    result = invoke("degrade", write_photo(tmp_path / "photo.png"), "--kind", "fog")
    assert "rain, haze, noise, blur, snow, lowlight, jpeg" in result.output


def test_kind_look_names_the_output_without_a_colon(tmp_path):
    result = invoke("degrade", write_photo(tmp_path / "photo.png"), "--kind", "snow:crisp")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "photo_snow-crisp.png").is_file()


def test_missing_input_exits_3(tmp_path):
    result = invoke("degrade", tmp_path / "nope.png", "--kind", "haze")
    assert result.exit_code == 3
    assert "no such file" in result.output


def test_existing_output_exits_6_unless_overwrite(tmp_path):
    source = write_photo(tmp_path / "photo.png")
    target = tmp_path / "photo_blur.png"
    target.write_bytes(b"keep me")
    result = invoke("degrade", source, "--kind", "blur")
    assert result.exit_code == 6
    assert "--overwrite" in result.output and target.read_bytes() == b"keep me"
    assert invoke("degrade", source, "--kind", "blur", "--overwrite").exit_code == 0
    assert read_image(target).rgb.shape == (64, 80, 3)
    assert invoke("degrade", source, "--kind", "blur", "-o", source, "--overwrite").exit_code == 6


def test_16_bit_gray_and_alpha_are_kept(tmp_path):
    source = write_photo(tmp_path / "deep.png", dtype=np.uint16)
    assert invoke("degrade", source, "--kind", "noise").exit_code == 0
    deep = read_image(tmp_path / "deep_noise.png").rgb
    assert deep.dtype == np.uint16 and deep.shape == (64, 80, 3)
    assert len(np.unique(deep)) > 1000  # real 16-bit levels, not 8-bit ones scaled up

    source = write_photo(tmp_path / "gray.png", dtype=np.uint16, channels=1)
    assert invoke("degrade", source, "--kind", "haze").exit_code == 0
    gray = read_image(tmp_path / "gray_haze.png").rgb
    assert gray.shape == (64, 80, 1) and gray.dtype == np.uint16

    alpha = from_float(np.linspace(0, 1, 64 * 80, dtype=np.float32).reshape(64, 80), np.uint8)
    source = write_photo(tmp_path / "rgba.png", alpha=alpha)
    assert invoke("degrade", source, "--kind", "jpeg", "--severity", 1).exit_code == 0
    assert np.array_equal(read_image(tmp_path / "rgba_jpeg.png").alpha, alpha)
