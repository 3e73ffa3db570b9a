"""Paired datasets as published (LOL, Rain100L, SOTS, two folders, a CSV): found, split, trained on,
and every way of getting them wrong a one-line error with the input exit code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import synthetic_photo
from tests.test_cli_faults import one_error_line
from tests.train.test_cli_train import invoke
from uhdrestore.errors import InputImageError
from uhdrestore.io import Image, from_float, write_image
from uhdrestore.train.config import StageConfig
from uhdrestore.train.pairs import find_pairs


def write_pair(degraded: Path, clean: Path | None, seed: int, size: int = 64) -> None:
    """A clean photo and a noisy copy of it (clean=None: the degraded file alone)."""
    photo = synthetic_photo(size, size, seed=seed)
    noisy = np.clip(photo + np.random.default_rng(seed).normal(0, 0.08, photo.shape), 0, 1).astype(np.float32)
    for path, pixels in ((degraded, noisy), (clean, photo)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_image(path, Image(rgb=from_float(pixels, np.uint8), alpha=None))


def lol(root: Path, count: int = 4) -> Path:
    """LOL's layout: our485/low/N.png beside our485/high/N.png."""
    for index in range(count):
        write_pair(root / "low" / f"{index + 1}.png", root / "high" / f"{index + 1}.png", seed=index)
    return root


def rain100l(root: Path, count: int = 12) -> Path:
    """Rain100L's training folder: rain-001.png, norain-001.png and rain-only maps, side by side."""
    for index in range(1, count + 1):
        write_pair(root / f"rain-{index:03d}.png", root / f"norain-{index:03d}.png", seed=index)
        write_pair(root / f"rainstreak-{index:03d}.png", None, seed=index)  # neither side: ignored
    return root


def sots(root: Path, clean: int = 3, per_clean: int = 2) -> Path:
    """SOTS: hazy/0001_0.8_0.2.jpg (id, atmospheric light, beta) -> clear/0001.png."""
    for index in range(1, clean + 1):
        for version in range(per_clean):
            write_pair(root / "hazy" / f"{index:04d}_0.{8 + version}_0.2.jpg", None, seed=index)
        write_pair(root / "hazy" / "unused.png", root / "clear" / f"{index:04d}.png", seed=index)
    (root / "hazy" / "unused.png").unlink()
    return root


def pairs_csv(root: Path) -> Path:
    """A pairs file listing its own training and validation pairs, relative to its folder."""
    lines = ["lq,gt", "# a comment"]
    for index in range(3):
        write_pair(root / "in" / f"a{index}.png", root / "out" / f"b{index}.png", seed=index)
        lines.append(f"in/a{index}.png,out/b{index}.png,{'val' if index == 2 else 'train'}")
    (root / "pairs.csv").write_text("\n".join(lines) + "\n")
    return root / "pairs.csv"


def test_lol_low_high_folders_pair_by_stem(tmp_path):
    pairs = find_pairs(str(lol(tmp_path / "our485")), "lowlight")
    assert [(lq.parent.name, lq.name, gt.parent.name, gt.name) for lq, gt in pairs.train] == [
        ("low", f"{n}.png", "high", f"{n}.png") for n in (1, 2, 3)]
    assert [lq.name for lq, _ in pairs.val] == ["4.png"]  # fewer than 10 clean images: the last validates


def test_two_explicit_folders_pair_by_stem(tmp_path):
    lol(tmp_path)
    pairs = find_pairs(f"{tmp_path / 'low'}:{tmp_path / 'high'}", "lowlight")
    assert len(pairs.train) == 3 and len(pairs.val) == 1
    assert all(lq.stem == gt.stem and gt.parent.name == "high" for lq, gt in pairs.train + pairs.val)


def test_rain100l_templates_in_one_folder(tmp_path):
    root = rain100l(tmp_path / "Rain100L")
    pairs = find_pairs(f"{root}/rain-{{id}}:{root}/norain-{{id}}", "rain")
    assert len(pairs.train) == 11 and [(lq.name, gt.name) for lq, gt in pairs.val] == [
        ("rain-010.png", "norain-010.png")]  # every 10th clean image
    assert all(gt.name == "no" + lq.name for lq, gt in pairs.train)


def test_sots_template_skips_the_haze_settings_and_keeps_a_clean_image_out_of_training(tmp_path):
    root = sots(tmp_path / "SOTS")
    pairs = find_pairs(f"{root}/hazy/{{id}}_*:{root}/clear/{{id}}", "haze")
    assert sorted((lq.name, gt.name) for lq, gt in pairs.train) == [
        ("0001_0.8_0.2.jpg", "0001.png"), ("0001_0.9_0.2.jpg", "0001.png"),
        ("0002_0.8_0.2.jpg", "0002.png"), ("0002_0.9_0.2.jpg", "0002.png")]
    assert {gt.name for _, gt in pairs.val} == {"0003.png"} and len(pairs.val) == 2


def test_a_pairs_csv_gives_paths_relative_to_itself_and_its_split(tmp_path):
    pairs = find_pairs(str(pairs_csv(tmp_path / "data")), "custom")
    assert [(lq.name, gt.name) for lq, gt in pairs.train] == [("a0.png", "b0.png"), ("a1.png", "b1.png")]
    assert [(lq.name, gt.name) for lq, gt in pairs.val] == [("a2.png", "b2.png")]
    assert all(lq.is_file() and gt.is_file() for lq, gt in pairs.train)


def test_every_layout_trains_end_to_end(tmp_path):
    """One tiny run over all five forms. Each task's input PSNR is that of the noise the pairs were made with
    (about 22 dB): a wrong pairing would score near 10 dB."""
    lol(tmp_path / "LOL" / "our485")
    lol(tmp_path / "two")
    rain = rain100l(tmp_path / "Rain100L")
    haze = sots(tmp_path / "SOTS")
    listed = pairs_csv(tmp_path / "listed")
    stages = ",".join([f"lowlight={tmp_path / 'LOL' / 'our485'}",
                       f"dark={tmp_path / 'two/low'}:{tmp_path / 'two/high'}",
                       f"rain={rain}/rain-{{id}}:{rain}/norain-{{id}}",
                       f"haze={haze}/hazy/{{id}}_*:{haze}/clear/{{id}}",
                       f"custom={listed}"])
    result = invoke("--stages", stages, "--smoke", "--run-dir", str(tmp_path / "run"), "--json")
    assert result.exit_code == 0, result.output
    assert (Path(json.loads(result.stdout)["output"]) / "model.safetensors").is_file()
    matrix = json.loads((tmp_path / "run" / "matrix.json").read_text())
    tasks = ["lowlight", "dark", "rain", "haze", "custom"]
    assert matrix["tasks"] == tasks
    assert all(20 < matrix["input"][task]["psnr"] < 24 for task in tasks), matrix["input"]
    assert all(matrix["rows"][-1]["psnr"][task] > 15 for task in tasks)
    assert len(list((tmp_path / "run" / "stages").iterdir())) == 5


def test_unmatched_files_are_counted_and_named(tmp_path):
    root = rain100l(tmp_path / "Rain100L", count=5)
    (root / "norain-002.png").unlink()
    (root / "norain-004.png").unlink()
    with pytest.raises(InputImageError, match=r"stage rain: unmatched files .*2 of 5 degraded files have no clean "
                                              r"file .*\(rain-002.png, rain-004.png\)"):
        find_pairs(f"{root}/rain-{{id}}:{root}/norain-{{id}}", "rain")
    extra = lol(tmp_path / "LOL")
    write_pair(extra / "high" / "9.png", None, seed=9)
    with pytest.raises(InputImageError, match=r"1 of 5 clean files have no degraded file .*\(9.png\)"):
        find_pairs(str(extra), "lowlight")


@pytest.mark.parametrize("spec,message", [
    ("{root}/missing", "paired dataset folder not found"),
    ("{root}/missing:{root}/gone", "degraded folder not found"),
    ("{root}/rainy-{{id}}:{root}/norain-{{id}}", r"no matching image pairs .*no degraded file .* fits rainy-\{id\} "
                                                r"\(it holds norain-001.png"),
    ("{root}/rain{{id}}:{root}/norain-{{id}}", r"no matching image pairs .*4 of 4 degraded files have no clean file"),
    ("{root}/missing.csv", "cannot read the pairs file"),
])
def test_missing_data_and_zero_pairs_are_input_errors_through_the_cli(tmp_path, spec, message):
    root = rain100l(tmp_path / "Rain100L", count=2)
    result = invoke("--stages", "rain=" + spec.format(root=root), "--smoke", "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 3, result.output
    line = one_error_line(result)
    assert re.search(message, line), line


def test_a_csv_naming_missing_files_says_which(tmp_path):
    listed = pairs_csv(tmp_path / "data")
    (tmp_path / "data" / "out" / "b1.png").unlink()
    with listed.open("a") as handle:
        handle.write("in/nope.png,out/b0.png\n")
    with pytest.raises(InputImageError, match=r"2 files listed in .* are missing \(line 4: out/b1.png, "
                                              r"line 6: in/nope.png\)"):
        find_pairs(str(listed), "custom")


@pytest.mark.parametrize("path,message", [
    ("a/rain-{id}:b/norain", "clean file-name template needs {id} once"),
    ("a/{id}:b/{id}_*", "clean file-name template cannot hold"),
    ("a:b:c", "one ':'"),
    ("a/{id}-{id}:b/{id}", "degraded file-name template needs {id} once"),
])
def test_malformed_templates_are_usage_errors(tmp_path, path, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        StageConfig.parse(f"rain={path}")
    result = invoke("--stages", f"rain={path}", "--smoke", "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 2 and message in result.stderr, result.output
