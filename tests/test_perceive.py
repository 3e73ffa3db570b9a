"""The perceiver's parts, with untrained networks: inputs, outputs, examples, the tree, sorting, loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.conftest import TINY, perturbed_model, synthetic_photo
from uhdrestore.errors import WeightsError
from uhdrestore.hub import save_model
from uhdrestore.io import Image
from uhdrestore.perceive import (
    PERCEIVED_KINDS,
    TIERS,
    Perceiver,
    PerceiverConfig,
    views,
)
from uhdrestore.perceive.inspect import load_perceiver, perceive
from uhdrestore.perceive.sorting import branch_name, sort_into
from uhdrestore.perceive.tree import build_tree, dominant_kinds
from uhdrestore.train.perceiver_examples import draw_example, stack_examples
from uhdrestore.train.perceiver_scores import f1_score, score_examples

CONFIG = PerceiverConfig()


def test_views_are_a_whole_frame_view_and_full_resolution_crops():
    image = torch.rand(1, 3, 300, 500)
    view, crops = views(image, CONFIG)
    assert view.shape == (1, 3, CONFIG.view_size, CONFIG.view_size)
    assert crops.shape == (1, CONFIG.crop_rows * CONFIG.crop_cols, 3, CONFIG.crop_size, CONFIG.crop_size)
    # Full resolution: each crop is the image itself around a grid cell's centre, not a resampled copy.
    side = CONFIG.crop_size
    top, left = round(300 / CONFIG.crop_rows / 2 - side / 2), round(500 / CONFIG.crop_cols / 2 - side / 2)
    assert torch.equal(crops[0, 0], image[0, :, top:top + side, left:left + side])


def test_views_work_for_portrait_and_tiny_images():
    for height, width in [(500, 300), (40, 30), (64, 64)]:
        view, crops = views(torch.rand(2, 3, height, width), CONFIG)
        assert view.shape[-1] == CONFIG.view_size and crops.shape[-1] == CONFIG.crop_size
        assert torch.isfinite(crops).all()


def test_the_perceiver_outputs_probabilities_a_severity_and_a_unit_embedding():
    model = Perceiver(CONFIG).eval()
    out = model.perceive(torch.rand(3, 3, 200, 260))
    assert out.kind_probabilities.shape == (3, len(PERCEIVED_KINDS))
    assert out.tier_probabilities.shape == (3, len(TIERS))
    assert torch.allclose(out.tier_probabilities.sum(1), torch.ones(3))
    assert ((out.severity >= 0) & (out.severity <= 1)).all()
    assert torch.allclose(out.embedding.norm(dim=1), torch.ones(3), atol=1e-5)


def test_the_perceiver_is_differentiable_for_the_quality_loss():
    image = torch.rand(2, 3, 64, 64, requires_grad=True)
    Perceiver(CONFIG).perceive(image).tier_probabilities[:, 2].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_examples_are_reproducible_and_labelled_consistently():
    photos = [np.rint(synthetic_photo(300, 400, seed) * 255).astype(np.uint8) for seed in range(2)]
    first = [draw_example(photos, CONFIG, 0, 0, index) for index in range(40)]
    again = draw_example(photos, CONFIG, 0, 0, 7)
    assert np.array_equal(first[7].view, again.view) and np.array_equal(first[7].kinds, again.kinds)
    for example in first:
        if example.kinds.sum() == 0:
            assert example.tier == TIERS.index("high") and example.severity == 0
        else:
            assert example.tier in (TIERS.index("low"), TIERS.index("medium")) and example.severity > 0
    assert any(e.kinds.sum() == 0 for e in first) and any(e.kinds.sum() == 2 for e in first)


def test_restored_examples_are_medium_quality_with_no_kind_label():
    photos = [np.rint(synthetic_photo(300, 400) * 255).astype(np.uint8)]
    examples = [draw_example(photos, CONFIG, 0, 0, index, restorer=lambda image: image * 0.5 + 0.25)
                for index in range(80)]
    restored = [e for e in examples if not e.kinds_known]
    assert restored and all(e.tier == TIERS.index("medium") for e in restored)


def test_scores_are_computed_per_kind():
    photos = [np.rint(synthetic_photo(200, 260) * 255).astype(np.uint8)]
    scores = score_examples(Perceiver(CONFIG).eval(), stack_examples(
        [draw_example(photos, CONFIG, 0, 1, index) for index in range(12)]))
    assert set(scores.kind_f1) == set(PERCEIVED_KINDS) and scores.examples == 12
    assert sum(map(sum, scores.clean_confusion)) == 12
    assert f1_score(np.array([True, False]), np.array([True, False])) == 1.0
    assert f1_score(np.array([True, True]), np.array([False, False])) == 0.0


def blobs(count: int = 3, per: int = 5, spread: float = 0.02, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(count, 8)
    points = np.concatenate([centre + rng.normal(0, spread, (per, 8)) for centre in centres])
    return points.astype(np.float32), np.repeat(np.arange(count), per)


def test_the_tree_separates_distinct_groups_into_pure_leaves():
    points, truth = blobs()
    tree = build_tree(points, depth=3)
    leaves = tree.leaves()
    assert len(leaves) == 3  # the blobs are split apart, and no blob is split further
    for leaf in leaves:
        assert len(set(truth[leaf.members])) == 1
    assert sorted(i for leaf in leaves for i in leaf.members) == list(range(len(points)))
    assert tree.walk()[0][1].path == "root" and len(tree.walk()) == 5


def test_the_tree_stops_at_its_depth_and_minimum_size():
    points, _ = blobs(count=4, per=4)
    assert len(build_tree(points, depth=1).leaves()) == 2
    assert build_tree(points, depth=3, min_size=9).is_leaf
    assert build_tree(points[:1], depth=3).is_leaf


def test_dominant_kinds_and_branch_names():
    probabilities = np.array([[0.9, 0.1], [0.8, 0.7], [0.1, 0.2]])
    assert dominant_kinds(probabilities, [0, 1], ["rain", "haze"]) == [("rain", 1.0), ("haze", 0.5)]
    tree = build_tree(blobs()[0])
    assert branch_name(tree.leaves()[0], [("rain", 1.0)]).endswith("-rain")
    assert branch_name(tree.leaves()[0], []).endswith("-clean")


def test_sort_into_copies_or_links_and_leaves_existing_files(tmp_path):
    sources = []
    for name in ("a.png", "b.png"):
        path = tmp_path / name
        path.write_bytes(name.encode())
        sources.append(path)
    out = tmp_path / "sorted"
    assert sort_into(out, {"0-rain": [sources[0]], "1-clean": [sources[1]]}, link=False) == (2, 0)
    assert (out / "0-rain" / "a.png").read_bytes() == b"a.png"
    assert sort_into(out, {"0-rain": [sources[0]]}, link=False) == (0, 1)
    assert sort_into(tmp_path / "linked", {"x": sources}, link=True) == (2, 0)
    assert (tmp_path / "linked" / "x" / "b.png").is_symlink()


def test_a_saved_perceiver_loads_and_reads_a_photo(tmp_path):
    folder = save_model(Perceiver(CONFIG), CONFIG, tmp_path / "p")
    model = load_perceiver(str(folder)).module
    rgb = np.rint(synthetic_photo(120, 90) * 255).astype(np.uint8)
    perception = perceive(model, Image(rgb=rgb, alpha=None))
    assert perception.tier in TIERS and set(perception.kind_probabilities) == set(PERCEIVED_KINDS)
    gray = perceive(model, Image(rgb=rgb[:, :, :1], alpha=None))
    assert gray.embedding.shape == (CONFIG.embedding,)


def test_a_restorer_is_not_a_perceiver(tmp_path):
    folder = save_model(perturbed_model(), TINY, tmp_path / "restorer")
    with pytest.raises(WeightsError, match="bad model config"):
        load_perceiver(str(folder))


def test_train_perceiver_writes_a_perceiver_that_inspect_uses(tmp_path):
    from tests.test_cli import invoke
    from tests.train.test_data import write_photos

    clean = write_photos(tmp_path / "clean", count=3, size=(120, 160))
    run = tmp_path / "run"
    args = ("train-perceiver", "--clean", clean, "--examples", 24, "--validation-examples", 8, "--steps", 3,
            "--batch-size", 8, "--restorer", "none", "--scenes", 2, "--width", 8, "--run-dir", run)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert json.loads((run / "model" / "config.json").read_text())["width"] == 8
    assert "validation F1" in result.stderr and "README.md" in {p.name for p in (run / "model").iterdir()}
    card = (run / "model" / "README.md").read_text()
    assert "license: other" in card and "## Licence" in card  # no licence claimed for the user's weights
    assert (run / "examples-train.safetensors").is_file()
    again = invoke(*args)  # the examples come from the run folder's cache this time
    assert again.exit_code == 0 and "generated" not in again.stderr
    inspected = invoke("inspect", next(clean.iterdir()), "--perceiver", run / "model", "--json")
    assert inspected.exit_code == 0, inspected.output
    bad = invoke("train-perceiver", "--clean", tmp_path / "nowhere")
    assert bad.exit_code == 3 and "not found" in bad.stderr


def test_train_perceiver_never_silently_restarts_a_run(tmp_path):
    from tests.test_cli import invoke

    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.safetensors").write_bytes(b"")
    result = invoke("train-perceiver", "--clean", tmp_path, "--run-dir", run)
    assert result.exit_code == 6 and "--resume" in result.stderr


def test_a_resumed_perceiver_run_matches_an_uninterrupted_one(tmp_path):
    from safetensors.torch import load_file

    from tests.train.test_data import write_photos
    from uhdrestore.train.perceiver import PerceiverTraining, _Stopped, train_perceiver
    from uhdrestore.train.shared import ResumeMismatchError

    clean = write_photos(tmp_path / "clean", count=3, size=(120, 160))
    settings = PerceiverTraining(examples=16, validation_examples=4, scenes=0, steps=5, batch_size=4, restorer=None,
                                 checkpoint_every=2)

    def train(run_dir, **kwargs):
        return train_perceiver(settings, clean_dir=clean, run_dir=run_dir, output_dir=run_dir / "model",
                               config=CONFIG, **kwargs)

    train(tmp_path / "straight")
    with pytest.raises(_Stopped):
        train(tmp_path / "killed", stop_after=3)  # after the step-2 checkpoint
    train(tmp_path / "killed", resume=True)
    a, b = (load_file(tmp_path / name / "model" / "model.safetensors") for name in ("straight", "killed"))
    assert all(torch.equal(a[key], b[key]) for key in a)
    with pytest.raises(ResumeMismatchError, match="batch_size"):
        train_perceiver(PerceiverTraining(**{**settings.__dict__, "batch_size": 2}), clean_dir=clean,
                        run_dir=tmp_path / "killed", output_dir=tmp_path / "x", config=CONFIG, resume=True)


def test_tier_detected_kinds_and_the_clean_flag_agree_by_construction():
    from uhdrestore.perceive.inspect import decide_tiers
    rain = PERCEIVED_KINDS.index("rain")
    kinds = np.full((3, len(PERCEIVED_KINDS)), 0.1)
    kinds[0, rain] = 0.56  # detected, though the tier head says clean
    heads = np.array([[0.1, 0.2, 0.7],  # TIERS order: low, medium, high
                      [0.1, 0.8, 0.1],  # nothing detected, though the tier head says medium
                      [0.6, 0.3, 0.1]])
    tiers = [TIERS[index] for index in decide_tiers(kinds, heads)]
    assert tiers == ["medium", "high", "high"]


def test_per_kind_thresholds_decide_what_is_detected_and_what_is_clean():
    from uhdrestore.perceive.inspect import decide_tiers, detect
    rain, haze = PERCEIVED_KINDS.index("rain"), PERCEIVED_KINDS.index("haze")
    kinds = np.full((2, len(PERCEIVED_KINDS)), 0.1)
    kinds[0, haze] = 0.7  # below haze's calibrated 0.8: clean
    kinds[1, rain] = 0.4  # above rain's calibrated 0.35: rain
    thresholds = [0.5] * len(PERCEIVED_KINDS)
    thresholds[haze], thresholds[rain] = 0.8, 0.35
    assert detect(kinds, thresholds).tolist() == [[False] * 6, [kind == "rain" for kind in PERCEIVED_KINDS]]
    heads = np.array([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1]])
    assert [TIERS[i] for i in decide_tiers(kinds, heads, thresholds)] == ["high", "medium"]
    assert [TIERS[i] for i in decide_tiers(kinds, heads)] == ["medium", "high"]  # 0.5 for every kind


def test_a_perceivers_thresholds_travel_in_its_config_and_old_configs_read_one_half(tmp_path):
    import json
    calibrated = PerceiverConfig(detection_thresholds=(0.6, 0.8, 0.5, 0.55, 0.7, 0.9))
    folder = save_model(Perceiver(calibrated), calibrated, tmp_path / "p")
    loaded = load_perceiver(str(folder)).module
    assert loaded.config.detection_thresholds == calibrated.detection_thresholds
    rgb = np.rint(synthetic_photo(120, 90) * 255).astype(np.uint8)
    assert perceive(loaded, Image(rgb=rgb, alpha=None)).thresholds["lowlight"] == 0.9
    old = {key: value for key, value in CONFIG.to_dict().items() if key != "detection_thresholds"}
    assert PerceiverConfig.from_dict(json.loads(json.dumps(old))).detection_thresholds == (0.5,) * 6
    with pytest.raises(ValueError, match="one per kind"):
        PerceiverConfig(detection_thresholds=(0.5, 0.5))
    with pytest.raises(ValueError, match="one per kind"):
        PerceiverConfig(detection_thresholds=(0.5, 0.5, 0.5, 0.5, 0.5, 1.0))


def test_train_perceiver_calibrates_thresholds_on_photos_it_did_not_train_on(tmp_path):
    import json

    from tests.train.test_data import write_photos
    from uhdrestore.train.perceiver import PerceiverTraining, train_perceiver

    clean = write_photos(tmp_path / "clean", count=8, size=(96, 128))
    settings = PerceiverTraining(examples=16, validation_examples=4, scenes=0, steps=2, batch_size=4, restorer=None,
                                 calibration_share=0.3, calibration_examples=12)
    run = tmp_path / "run"
    train_perceiver(settings, clean_dir=clean, run_dir=run, output_dir=run / "model", config=CONFIG)
    record = json.loads((run / "validation.json").read_text())["calibration"]
    saved = json.loads((run / "model" / "config.json").read_text())["detection_thresholds"]
    assert saved == record["thresholds"] and len(saved) == len(PERCEIVED_KINDS) and record["examples"] <= 12
    assert "calibrated on" in (run / "model" / "README.md").read_text()
    assert (run / "examples-calibration.safetensors").is_file()


def test_a_sparse_cue_perceiver_saves_loads_and_reads_a_photo_and_old_configs_lack_it(tmp_path):
    sparse = PerceiverConfig(sparse_cues=True)
    model = Perceiver(sparse)
    # The full-resolution first layer keeps the crops' size; the plain network halves it at once.
    assert model.crop_net[0].stride == (1, 1) and Perceiver(CONFIG).crop_net[0].stride == (2, 2)
    folder = save_model(model, sparse, tmp_path / "p")
    loaded = load_perceiver(str(folder)).module
    assert loaded.config.sparse_cues
    rgb = np.rint(synthetic_photo(120, 90) * 255).astype(np.uint8)
    assert perceive(loaded, Image(rgb=rgb, alpha=None)).tier in TIERS
    old = {key: value for key, value in CONFIG.to_dict().items() if key != "sparse_cues"}
    assert PerceiverConfig.from_dict(json.loads(json.dumps(old))).sparse_cues is False
    with pytest.raises(ValueError, match="sparse_cues"):
        PerceiverConfig(sparse_cues="yes")  # type: ignore[arg-type]


def _perceiver_that_flags(flag: bool, config: PerceiverConfig = CONFIG) -> Perceiver:
    """A perceiver that calls every photo rainy (flag) or clean (not flag), whatever it sees."""
    model = Perceiver(config).eval()
    with torch.no_grad():
        model.kinds.weight.zero_()
        model.kinds.bias.fill_(-10.0)
        model.kinds.bias[PERCEIVED_KINDS.index("rain")] = 10.0 if flag else -10.0
    return model


def test_hard_clean_photos_are_judged_whole_and_as_crops_like_the_benchmark():
    from uhdrestore.train.perceiver_hard import flagged_photos, judged_views

    rng = np.random.default_rng(0)
    large = np.zeros((1200, 2048, 3), np.uint8)
    assert [view.shape[:2] for view in judged_views(large, rng)] == [(600, 1024), (512, 512), (512, 512)]
    assert [view.shape[:2] for view in judged_views(np.zeros((300, 400, 3), np.uint8), rng)] == [(300, 400)]
    photos = [np.rint(synthetic_photo(96, 128, seed=i) * 255).astype(np.uint8) for i in range(3)]
    assert flagged_photos(_perceiver_that_flags(True), photos, seed=0) == [0, 1, 2]
    assert flagged_photos(_perceiver_that_flags(False), photos, seed=0) == []


def test_fine_tuning_starts_from_init_and_replays_only_training_photos_it_flags(tmp_path):
    from tests.test_cli import invoke
    from tests.train.test_data import write_photos
    from uhdrestore.train.perceiver import PerceiverTraining, train_perceiver

    clean = write_photos(tmp_path / "clean", count=8, size=(96, 128))
    init = save_model(_perceiver_that_flags(True), CONFIG, tmp_path / "init")
    settings = PerceiverTraining(examples=8, validation_examples=4, scenes=0, steps=1, batch_size=4, restorer=None,
                                 learning_rate=1e-12, holdout=("photo0.png",), calibration_share=0.3,
                                 calibration_examples=8, init=str(init), hard_clean_examples=6)
    run = tmp_path / "run"
    train_perceiver(settings, clean_dir=clean, run_dir=run, output_dir=run / "model")
    hard = (run / "hard_clean.txt").read_text().split()
    assert len(hard) == 5 and "photo0.png" not in hard  # 7 training photos, 2 of them kept to calibrate on
    assert (run / "examples-hard-clean.safetensors").is_file()
    tuned = load_perceiver(str(run / "model")).module
    assert torch.allclose(tuned.kinds.bias, _perceiver_that_flags(True).kinds.bias, atol=1e-6)  # init's weights

    no_init = invoke("train-perceiver", "--clean", clean, "--hard-clean", 4, "--run-dir", tmp_path / "a")
    assert no_init.exit_code == 2 and "--init" in no_init.stderr
    other_width = invoke("train-perceiver", "--clean", clean, "--init", init, "--width", 8, "--steps", 1,
                         "--examples", 4, "--validation-examples", 2, "--restorer", "none", "--run-dir", tmp_path / "b")
    assert other_width.exit_code == 4 and "--width 16" in other_width.stderr
    assert len(other_width.stderr.strip().splitlines()) == 1
