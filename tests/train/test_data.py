from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import synthetic_photo
from uhdrestore.errors import InputImageError
from uhdrestore.io import Image, from_float, write_image
from uhdrestore.train.config import DataConfig, StageConfig
from uhdrestore.train.data import TRAIN, VALIDATION, CleanPhotos, PairedStage, make_stage


def write_photos(folder: Path, count: int = 4, size: tuple[int, int] = (120, 160)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        write_image(folder / f"photo{index}.png",
                    Image(rgb=from_float(synthetic_photo(*size, seed=index), np.uint8), alpha=None))
    return folder


def config(**overrides) -> DataConfig:
    return DataConfig(patch_size=32, val_patch_size=48, **overrides)


def test_a_sample_is_replayed_bit_identically_from_its_id(tmp_path):
    folder = write_photos(tmp_path / "clean")
    first = make_stage(StageConfig.parse("rain+haze"), config(), 0, CleanPhotos(folder, holdout=(), seed=0))
    again = make_stage(StageConfig.parse("rain+haze"), config(), 0, CleanPhotos(folder, holdout=(), seed=0))
    degraded, clean = first.sample(123)
    for _ in range(2):
        replayed, replayed_clean = again.sample(123)
        assert np.array_equal(degraded, replayed) and np.array_equal(clean, replayed_clean)
    other, _ = first.sample(124)
    assert not np.array_equal(degraded, other)
    assert degraded.shape == clean.shape == (32, 32, 3) and degraded.dtype == np.float32
    assert not np.array_equal(degraded, clean)


def test_validation_photos_are_held_out_and_fixed(tmp_path):
    folder = write_photos(tmp_path / "clean", count=7)
    photos = CleanPhotos(folder, holdout=(), seed=3)
    assert photos.val_names and not set(photos.val_names) & set(photos.train_names)
    assert CleanPhotos(folder, holdout=(), seed=3).val_names == photos.val_names
    chosen = CleanPhotos(folder, holdout=("photo2.png",), seed=3)
    assert chosen.val_names == ["photo2.png"]
    stage = make_stage(StageConfig.parse("noise"), config(), 0, photos)
    assert np.array_equal(stage.sample(0, VALIDATION)[0], stage.sample(0, VALIDATION)[0])
    assert stage.sample(0, VALIDATION)[0].shape == (48, 48, 3)
    with pytest.raises(InputImageError, match="not found"):
        CleanPhotos(folder, holdout=("nope.png",), seed=0)


def test_paired_dataset_layout_is_detected_and_split(tmp_path):
    root = tmp_path / "UHD-Rain"
    write_photos(root / "gt", count=12, size=(64, 64))
    write_photos(root / "lq", count=12, size=(64, 64))
    (root / "lq" / "readme.txt").write_text("ignored")
    stage = make_stage(StageConfig.parse(f"rain={root}"), config(), 0, None)
    assert isinstance(stage, PairedStage)
    assert len(stage.train_pairs) == 11 and len(stage.val_pairs) == 1
    assert all(lq.stem == gt.stem for lq, gt in stage.train_pairs)
    degraded, clean = stage.sample(5, TRAIN)
    assert degraded.shape == (32, 32, 3) and np.array_equal(degraded, stage.sample(5, TRAIN)[0])


def test_paired_dataset_with_its_own_validation_folder(tmp_path):
    root = tmp_path / "pairs"
    for sub in ("input", "target", "val/input", "val/target"):
        write_photos(root / sub, count=3, size=(64, 64))
    stage = PairedStage(StageConfig.parse(f"haze={root}"), config(), 0)
    assert len(stage.train_pairs) == 3 and len(stage.val_pairs) == 3
    assert stage.val_pairs[0][0].parent.parent.name == "val"


@pytest.mark.parametrize("make,message", [
    (lambda root: None, "not found"),
    (lambda root: (root / "lq").mkdir(parents=True), "no matching image pairs"),
])
def test_bad_paired_dataset_is_a_clear_error(tmp_path, make, message):
    root = tmp_path / "data"
    make(root)
    with pytest.raises(InputImageError, match=message):
        make_stage(StageConfig.parse(f"rain={root}"), config(), 0, None)


def test_synthetic_stage_needs_clean_photos():
    with pytest.raises(InputImageError, match="--clean"):
        make_stage(StageConfig.parse("rain"), config(), 0, None)


@pytest.mark.parametrize("spec,message", [("fog", "known"), ("rain=", "NAME=PATH"), ("", "empty")])
def test_bad_stage_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        StageConfig.parse(spec)


def test_jpeg_after_compresses_training_samples_only(tmp_path):
    photos = CleanPhotos(write_photos(tmp_path / "clean"), holdout=(), seed=0)
    stage = StageConfig.parse("haze")
    plain = make_stage(stage, config(clean_fraction=0.0), 0, photos)
    saved = make_stage(stage, config(clean_fraction=0.0, jpeg_after=1.0), 0, photos)
    degraded, clean = plain.sample(7)
    compressed, same_clean = saved.sample(7)
    assert np.array_equal(clean, same_clean)
    assert not np.array_equal(degraded, compressed)
    assert np.allclose(compressed * 255, np.rint(compressed * 255), atol=1e-4)  # decoded 8-bit pixels
    assert np.abs(compressed - degraded).mean() < 0.03  # a mild JPEG, not another degradation
    assert np.array_equal(plain.sample(3, VALIDATION)[0], saved.sample(3, VALIDATION)[0])  # validation untouched


def test_procedural_scenes_join_the_training_crops_but_never_validation(tmp_path):
    folder = write_photos(tmp_path / "clean")
    assert len(CleanPhotos(folder, holdout=(), seed=0, scenes=2).scenes) == 2
    photos = CleanPhotos(folder, holdout=(), seed=0)
    photos.scenes = [np.full((200, 200, 3), 255, np.uint8)]  # a white scene: easy to spot in a crop
    stage = make_stage(StageConfig.parse("noise"), config(clean_fraction=0.0), 0, photos)
    white = [stage.sample(index)[1].min() == 1.0 for index in range(60)]
    assert 8 <= sum(white) <= 35
    assert not any(stage.sample(index, VALIDATION)[1].min() == 1.0 for index in range(8))
    with pytest.raises(ValueError, match="scenes"):
        config(scenes=-1)


def test_min_scale_lets_a_training_view_hold_more_of_the_photo(tmp_path):
    """A ramp photo: the spread of values in a view grows with the share of the photo it shows."""
    folder = tmp_path / "ramp"
    folder.mkdir()
    ramp = np.tile(np.linspace(0, 1, 512, dtype=np.float32), (512, 1))
    for index in range(2):
        write_image(folder / f"ramp{index}.png", Image(rgb=from_float(np.dstack([ramp] * 3), np.uint8), alpha=None))
    photos = CleanPhotos(folder, holdout=("ramp1.png",), seed=0)

    def median_spread(min_scale: float) -> float:
        stage = make_stage(StageConfig.parse("noise"), config(min_scale=min_scale, clean_fraction=0.99), 0, photos)
        return float(np.median([np.ptp(stage.sample(i)[1]) for i in range(40)]))

    native = median_spread(1.0)  # 32 px of a 512 px ramp: about 1/16 of its range
    assert native < 0.1
    assert median_spread(0.125) > 2 * native  # median scale sqrt(0.125): about 2.8 times as much
    with pytest.raises(ValueError, match="min scale"):
        config(min_scale=0)


def test_view_max_draws_views_of_several_sizes_each_replayed_identically(tmp_path):
    photos = CleanPhotos(write_photos(tmp_path / "clean", size=(200, 240)), holdout=(), seed=0)
    stage = make_stage(StageConfig.parse("rain"), config(view_size=48, view_max=128), 0, photos)
    sides = {stage.sample(i)[0].shape[0] for i in range(40)}
    assert min(sides) >= 48 and max(sides) <= 128 and len(sides) >= 4
    assert all(side % 8 == 0 for side in sides)
    assert np.array_equal(stage.sample(7)[0], stage.sample(7)[0])
    fixed = make_stage(StageConfig.parse("rain"), config(view_size=48), 0, photos)
    assert {fixed.sample(i)[0].shape[0] for i in range(10)} == {48}
    with pytest.raises(ValueError, match="view max"):
        config(view_size=48, view_max=40)


def test_clean_photos_come_from_several_folders_at_any_depth(tmp_path):
    write_photos(tmp_path / "photos" / "people", count=2)
    write_photos(tmp_path / "photos" / "streets" / "night", count=2)
    write_photos(tmp_path / "nature", count=2)
    (tmp_path / "photos" / ".cache").mkdir()
    write_photos(tmp_path / "photos" / ".cache", count=1)  # hidden: not a photo to train on
    photos = CleanPhotos([tmp_path / "photos", tmp_path / "nature"], seed=0,
                         holdout=("people/photo1.png", "streets/night/photo0.png"))
    assert photos.val_names == ["people/photo1.png", "streets/night/photo0.png"]
    assert sorted(photos.train_names) == ["people/photo0.png", "photo0.png", "photo1.png",
                                          "streets/night/photo1.png"]
    assert "validation: people/photo1.png" in photos.describe()
    with pytest.raises(InputImageError, match="not found.*photo9.png"):
        CleanPhotos([tmp_path / "photos"], seed=0, holdout=("people/photo9.png",))


def test_holdout_list_reads_the_first_column_and_skips_comments(tmp_path):
    from uhdrestore.train.data import read_holdout_list

    listing = tmp_path / "val.tsv"
    listing.write_text("# chosen by looking\npath\tgroup\npeople/a.png\tpeople\n\nnight/b.jpg\tnight\n")
    assert read_holdout_list(listing) == ("people/a.png", "night/b.jpg")
    (tmp_path / "empty.tsv").write_text("# nothing\n")
    with pytest.raises(InputImageError, match="names no photos"):
        read_holdout_list(tmp_path / "empty.tsv")
    with pytest.raises(InputImageError, match="cannot read"):
        read_holdout_list(tmp_path / "missing.tsv")


def test_jpeg_photos_are_shrunk_as_they_load_and_tiny_ones_dropped(tmp_path):
    folder = tmp_path / "clean"
    folder.mkdir()
    for name, size in (("big.jpg", (300, 400)), ("tiny.jpg", (200, 200)), ("lossless.png", (200, 200))):
        write_image(folder / name, Image(rgb=from_float(synthetic_photo(*size, seed=1), np.uint8), alpha=None))
    photos = CleanPhotos(folder, holdout=("lossless.png",), seed=0, jpeg_downscale=2.0)
    assert photos.train_names == ["big.jpg"]  # tiny.jpg would be 100 px: too small to add anything
    assert photos.train[0].shape == (150, 200, 3)
    assert photos.val[0].shape == (200, 200, 3)  # PNG photos are not shrunk
    assert CleanPhotos(folder, holdout=("lossless.png",), seed=0).train[0].shape == (300, 400, 3)


def test_a_training_view_is_never_larger_than_its_photo(tmp_path):
    photos = CleanPhotos(write_photos(tmp_path / "clean", size=(120, 160)), holdout=(), seed=0)
    stage = make_stage(StageConfig.parse("noise"), config(view_size=48, view_max=256), 0, photos)
    sides = {stage.sample(i)[0].shape[0] for i in range(30)}
    assert max(sides) <= 120 and min(sides) >= 48


def test_keep_changes_trains_harmless_changes_as_their_own_target(tmp_path):
    photos = CleanPhotos(write_photos(tmp_path / "clean"), holdout=(), seed=0)
    stage = make_stage(StageConfig.parse("noise"), config(clean_fraction=0.99, keep_changes=1.0), 0, photos)
    plain = make_stage(StageConfig.parse("noise"), config(clean_fraction=0.99), 0, photos)
    changed = 0
    for index in range(20):
        degraded, clean = stage.sample(index)
        assert np.array_equal(degraded, clean)  # the target keeps the change: nothing to undo
        changed += not np.array_equal(clean, plain.sample(index)[1])
    assert changed >= 15  # and the change is really there
    with pytest.raises(ValueError, match="keep changes"):
        config(keep_changes=1.5)


def test_hard_clean_photos_are_shown_whole_and_clean(tmp_path):
    """A 256-px ramp named hard, among flat grey photos: an ordinary 32-px view at scale >= 0.5 shows at
    most 64 px of the ramp; a hard-clean sample shows all of it, as `fix` sees a whole photo, and its
    target is the photo itself."""
    folder = tmp_path / "clean"
    folder.mkdir()
    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (256, 1))
    write_image(folder / "hard.png", Image(rgb=from_float(np.dstack([ramp] * 3), np.uint8), alpha=None))
    for name in ("grey0.png", "grey1.png", "val.png"):
        write_image(folder / name, Image(rgb=np.full((128, 128, 3), 128, np.uint8), alpha=None))
    photos = CleanPhotos(folder, holdout=("val.png",), seed=0, hard_clean=("hard.png",))
    stage = make_stage(StageConfig.parse("noise"), config(clean_fraction=0.8), 0, photos)
    samples = [stage.sample(index) for index in range(200)]
    whole = [(degraded, clean) for degraded, clean in samples if np.ptp(clean) > 0.9]
    assert 0.25 < len(whole) / len(samples) < 0.55  # 0.8 x 0.5 of all samples: half as many again as --clean-fraction
    assert all(np.array_equal(degraded, clean) for degraded, clean in whole)
    plain = CleanPhotos(folder, holdout=("val.png",), seed=0)
    ordinary = make_stage(StageConfig.parse("noise"), config(clean_fraction=0.8), 0, plain)
    assert max(np.ptp(ordinary.sample(index)[1]) for index in range(200)) < 0.3
    with pytest.raises(InputImageError, match="not training photos"):
        CleanPhotos(folder, holdout=("val.png",), seed=0, hard_clean=("val.png",))
