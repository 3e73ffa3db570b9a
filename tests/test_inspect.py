"""`uhdrestore inspect` and `batch --skip-clean` with the bundled perceiver, on real photo crops.

The photos are the two real crops in tests/data (held out of the perceiver's training),
kept clean or degraded by our generators at fixed seeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_cli import invoke
from uhdrestore.degrade import degrade
from uhdrestore.hub import bundled_weights_dir
from uhdrestore.io import Image, read_image, to_float, write_image
from uhdrestore.perceive.inspect import PERCEIVER_FOLDER, load_perceiver

# The Dune crop, as it is and mirrored (two photos per case). The meadow crop is not used: the shipped
# perceiver takes its fine white flowers for rain (its model card says so).
SOURCE = Path(__file__).parent / "data" / "dune_crop.png"
PHOTOS = ["dune", "mirrored"]
CASES = {"clean": None, "haze": "haze", "lowlight": "lowlight", "rain": "rain", "noise": "noise", "blur": "blur"}


def save(path: Path, image: np.ndarray) -> Path:
    write_image(path, Image(rgb=np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8), alpha=None))
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Each photo clean and with each kind at severity 0.7: PHOTO-KIND.png."""
    root = tmp_path_factory.mktemp("inspect") / "photos"
    root.mkdir()
    dune = to_float(read_image(SOURCE).rgb)
    for index, (photo, clean) in enumerate(zip(PHOTOS, [dune, dune[:, ::-1]])):
        for name, kind in CASES.items():
            image = clean if kind is None else degrade(clean, kind, np.random.default_rng(index), 0.7)
            save(root / f"{photo}-{name}.png", image)
    return root


def same_pixels(a: Path, b: Path) -> bool:
    return np.array_equal(read_image(a).rgb, read_image(b).rgb)


def report(*args: object) -> dict:
    result = invoke("inspect", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_perceiver_ships_with_a_model_card():
    folder = bundled_weights_dir() / PERCEIVER_FOLDER
    assert (folder / "model.safetensors").stat().st_size < 2**20
    assert "train-perceiver" in (folder / "README.md").read_text()
    assert load_perceiver().source.kind == "bundled"


def test_inspect_names_what_is_wrong_with_each_photo(folder):
    items = {Path(item["input"]).stem.split("-")[1]: item for item in report(folder)["items"]
             if Path(item["input"]).stem.startswith(PHOTOS[0])}
    assert items["clean"]["clean"] and items["clean"]["tier"] == "high" and items["clean"]["detected"] == []
    for kind in ("haze", "lowlight", "rain", "noise"):
        assert kind in items[kind]["detected"], items[kind]
        assert not items[kind]["clean"] and items[kind]["severity"] > 0.2


def test_inspect_prints_a_table_for_one_photo(folder):
    result = invoke("inspect", folder / f"{PHOTOS[1]}-haze.png")
    assert result.exit_code == 0, result.output
    assert "haze" in result.stdout and "quality" in result.stdout


def test_cluster_groups_the_photos_by_kind(folder, tmp_path):
    # Rain is left out: the shipped perceiver places mild rain next to clean photos (its model card says so).
    kinds = ("clean", "haze", "lowlight", "noise")
    subset = tmp_path / "subset"
    subset.mkdir()
    for path in folder.glob("*.png"):
        if path.stem.split("-")[1] in kinds:
            (subset / path.name).write_bytes(path.read_bytes())
    data = report(subset, "--cluster", "--depth", "3", "--sort-into", tmp_path / "sorted")
    def leaves(node):
        return [node] if "files" in node else [leaf for child in node["children"] for leaf in leaves(child)]
    groups = [{Path(f).stem.split("-")[1] for f in leaf["files"]} for leaf in leaves(data["tree"])]
    # Every kind lands in a branch of its own kind: no branch mixes two of these kinds.
    assert all(len(group) == 1 for group in groups), groups
    assert set().union(*groups) == set(kinds)
    assert data["sorted_into"]["placed"] == len(kinds) * len(PHOTOS)
    placed = sorted(p.name for p in (tmp_path / "sorted").rglob("*.png"))
    assert placed == sorted(p.name for p in subset.glob("*.png"))


def test_batch_skip_clean_leaves_clean_photos_alone(folder, tmp_path):
    out = tmp_path / "out"
    result = invoke("batch", folder, "-o", out, "--skip-clean", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    status = {Path(item["input"]).stem: item["status"] for item in data["items"]}
    for photo in PHOTOS:
        assert status[f"{photo}-clean"] == "skipped"
        assert status[f"{photo}-haze"] == "ok"
    assert not any(out.glob("*-clean.png")) and any(out.glob("*-haze.png"))
    assert data["summary"]["skipped_clean"] >= len(PHOTOS)


def test_batch_guard_writes_clean_photos_unchanged_and_restores_the_rest(folder, tmp_path):
    out = tmp_path / "out"
    result = invoke("batch", folder, "-o", out, "--guard", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    items = {Path(item["input"]).stem: item for item in data["items"]}
    for photo in PHOTOS:
        assert items[f"{photo}-clean"]["status"] == "ok" and items[f"{photo}-clean"]["guarded"]
        assert same_pixels(out / f"{photo}-clean.png", folder / f"{photo}-clean.png")
        # Haze changes a whole photo's tone: the guard lets the model change it.
        assert items[f"{photo}-haze"]["guarded"] is False and items[f"{photo}-haze"]["tone_kept"] is False
        assert not same_pixels(out / f"{photo}-haze.png", folder / f"{photo}-haze.png")
    assert data["summary"]["guarded"] >= len(PHOTOS) and data["summary"]["skipped_clean"] == 0


def test_fix_guard_leaves_a_clean_photo_as_it_was(folder, tmp_path):
    source = folder / f"{PHOTOS[0]}-clean.png"
    result = invoke("fix", source, "-o", tmp_path / "clean.png", "--guard", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["guarded"] is True
    assert same_pixels(tmp_path / "clean.png", source)
    result = invoke("fix", source, "-o", tmp_path / "default.png")  # on by default with the bundled model
    assert result.exit_code == 0 and "written unchanged" in result.stderr, result.output
    assert same_pixels(tmp_path / "default.png", source)
    result = invoke("fix", source, "-o", tmp_path / "plain.png", "--no-guard")  # restored
    assert result.exit_code == 0, result.output
    assert not same_pixels(tmp_path / "plain.png", source)
    hazy = folder / f"{PHOTOS[0]}-haze.png"
    result = invoke("fix", hazy, "-o", tmp_path / "haze.png", "--guard", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["guarded"] is False and report["tone_kept"] is False and "haze" in report["perception"]["detected"]
    both = invoke("fix", source, hazy, "-o", tmp_path / "both")  # several: the summary counts what was held back
    assert both.exit_code == 0 and "2 restored (1 written unchanged: clean or blur only" in both.stderr, both.output


def test_fix_guard_keeps_a_noisy_photos_tone_and_says_so(folder, tmp_path):
    noisy = folder / f"{PHOTOS[0]}-noise.png"
    result = invoke("fix", noisy, "-o", tmp_path / "noise.png", "--guard", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tone_kept"] is True and report["guarded"] is False and report["perception"]["detected"] == ["noise"]
    before, after = (to_float(read_image(path).rgb) for path in (noisy, tmp_path / "noise.png"))
    assert np.abs(after.mean(axis=(0, 1)) - before.mean(axis=(0, 1))).max() < 0.01  # its colour, as it was
    assert after.std() < before.std()  # and its noise removed
    result = invoke("fix", noisy, "-o", tmp_path / "noise2.png", "--guard")
    assert "tone and colour are kept" in result.output


def test_fix_guard_leaves_a_blurred_photo_as_it_was_and_says_why(folder, tmp_path):
    blurred = folder / f"{PHOTOS[0]}-blur.png"  # the default model does not undo blur: it is not touched
    result = invoke("fix", blurred, "-o", tmp_path / "blur.png", "--guard", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["guarded"] is True and report["reason"] == "blur only"
    assert report["perception"]["detected"] == ["blur"]
    assert same_pixels(tmp_path / "blur.png", blurred)
    result = invoke("fix", blurred, "-o", tmp_path / "blur2.png", "--guard")
    assert "finds blur only, which the model does not undo" in result.output


def test_guard_and_skip_clean_exclude_each_other(folder, tmp_path):
    result = invoke("batch", folder, "-o", tmp_path / "out", "--guard", "--skip-clean")
    assert result.exit_code == 2 and "choose one" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_guard_is_on_by_default_only_for_the_bundled_model():
    from uhdrestore.cli.engine import guard_wanted

    assert guard_wanted(None, "default") and not guard_wanted(None, "default", skip_clean=True)
    assert not guard_wanted(None, "models/my-deblurrer") and guard_wanted(True, "models/my-deblurrer")
    assert not guard_wanted(False, "default")


def test_inspect_bad_input_is_one_line(tmp_path):
    result = invoke("inspect", tmp_path / "missing.png")
    assert result.exit_code == 3 and len(result.stderr.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    result = invoke("inspect", tmp_path / "empty")
    assert result.exit_code == 3 and "no images" in result.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_text("not a png")
    save(broken / "b.png", np.full((40, 40, 3), 0.5))
    result = invoke("inspect", broken, "--json")
    assert result.exit_code == 1
    assert [item["status"] for item in json.loads(result.stdout)["items"]] == ["ok", "failed"]


def test_inspect_refuses_non_finite_and_oversized_photos_and_skips_partial_files(tmp_path):
    """Issue 17: a NaN pixel gave a report of bare NaN (not JSON); a killed run's temporary file
    was read as a photo; --max-pixels guards inspect as it does fix."""
    import cv2

    nan = np.full((32, 32, 3), 0.5, np.float32)
    nan[0, 0, 0] = np.nan
    assert cv2.imwrite(str(tmp_path / "nan.tif"), nan)
    result = invoke("inspect", tmp_path / "nan.tif", "--json")
    assert result.exit_code == 3 and "NaN or infinite" in result.stderr and result.stdout == ""
    folder = tmp_path / "photos"
    folder.mkdir()
    save(folder / "a.png", np.full((40, 40, 3), 0.5))
    (folder / ".a.png.4194303-0123abcd.uhdrestore-partial.png").write_bytes(b"\x89PNG\r\n\x1a\n half")
    result = invoke("inspect", folder, "--json")
    assert result.exit_code == 0, result.output
    assert [item["input"] for item in json.loads(result.stdout)["items"]] == [str(folder / "a.png")]
    result = invoke("inspect", folder / "a.png", "--max-pixels", "1000")
    assert result.exit_code == 3 and "too large" in result.stderr


def test_train_order_perceived_starts_with_the_mildest_stage(tmp_path):
    from tests.train.test_data import write_photos

    clean = write_photos(tmp_path / "clean", count=3, size=(96, 128))
    result = invoke("train", "--stages", "lowlight,jpeg", "--order", "perceived", "--clean", clean, "--smoke",
                    "--run-dir", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["matrix"]["rows"]
    assert [row["after_stage"] for row in rows] == ["jpeg", "lowlight"]
