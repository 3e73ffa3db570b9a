"""The validation list and the benchmark helpers a user relies on: list parsing, crops, foreign recipes."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from foreign import FOREIGN, RECIPE_KIND, cbsd68_sigma, foreign_degrade  # noqa: E402
from validation import GROUPS, VALIDATION_LIST, VALIDATION_PHOTOS, read_photo_list, validation_samples  # noqa: E402


def test_validation_list_has_every_group_and_folder() -> None:
    rows = read_photo_list(VALIDATION_LIST)
    paths = [path for _, (path, _) in rows]
    assert len(paths) == len(set(paths)) >= 80
    assert Counter(group for _, (_, group) in rows) == {group: 14 for group in GROUPS}
    assert {path.split("/")[0] for path in paths} == {"imagenet-samples", "wikipedia", "sun-hays", "plasma"}


def test_validation_list_files_exist() -> None:
    if not VALIDATION_PHOTOS.is_dir():
        pytest.skip(f"{VALIDATION_PHOTOS} is not here")
    missing = [path for _, (path, _) in read_photo_list(VALIDATION_LIST) if not (VALIDATION_PHOTOS / path).is_file()]
    assert missing == []


def test_read_photo_list_skips_comments_and_header_and_limits_per_group(tmp_path: Path) -> None:
    listing = tmp_path / "list.tsv"
    listing.write_text("# how it was chosen\npath\tgroup\na.png\tnature\nb.png\tnature\nc.png\tnight\n")
    assert read_photo_list(listing) == [(0, ("a.png", "nature")), (1, ("b.png", "nature")), (2, ("c.png", "night"))]
    assert read_photo_list(listing, limit=1) == [(0, ("a.png", "nature")), (2, ("c.png", "night"))]


def test_read_photo_list_rejects_an_unknown_group(tmp_path: Path) -> None:
    listing = tmp_path / "list.tsv"
    listing.write_text("path\tgroup\na.png\tcastles\n")
    with pytest.raises(SystemExit, match="castles"):
        read_photo_list(listing)


def test_small_photos_are_used_whole_in_both_views(tmp_path: Path) -> None:
    import cv2

    gradient = np.linspace(0, 255, 600 * 800, dtype=np.float32).reshape(600, 800)
    cv2.imwrite(str(tmp_path / "big.png"), np.dstack([gradient] * 3).astype(np.uint8))
    cv2.imwrite(str(tmp_path / "small.png"), np.full((300, 400, 3), 128, np.uint8))
    entries = [(0, ("big.png", "nature")), (1, ("small.png", "studio"))]
    samples = validation_samples(tmp_path, entries, crops=2, crop_size=512, whole_side=400)
    shapes = [(sample.photo, sorted(sample.views), sample.image.shape) for sample in samples]
    assert shapes == [("big.png", ["crops"], (512, 512, 3)), ("big.png", ["crops"], (512, 512, 3)),
                      ("big.png", ["whole"], (300, 400, 3)), ("small.png", ["crops", "whole"], (300, 400, 3))]


@pytest.mark.parametrize("name", list(FOREIGN))
def test_foreign_recipes_are_seeded_8_bit_and_change_the_image(name: str) -> None:
    rng = np.random.default_rng(0)
    clean = rng.uniform(0.1, 0.5, (96, 128, 3)).astype(np.float32)
    first = foreign_degrade(clean, name, np.random.default_rng(1), 0.5)
    again = foreign_degrade(clean, name, np.random.default_rng(1), 0.5)
    assert first.shape == clean.shape and first.dtype == np.float32
    assert np.array_equal(first, again)
    assert np.allclose(first * 255, np.rint(first * 255), atol=1e-4)
    assert float(np.abs(first - clean).mean()) > 0.002
    assert RECIPE_KIND[name] in {"rain", "haze", "noise", "blur", "snow", "lowlight"}


def test_cbsd68_sigmas() -> None:
    assert [cbsd68_sigma(severity) for severity in (0.3, 0.5, 0.8)] == [15, 25, 50]


def test_correlated_noise_keeps_its_std_and_comes_in_blotches() -> None:
    from noise_cbsd68 import correlated_noise

    flat = np.full((256, 256, 3), 0.5, np.float32)
    for grain in (0.0, 1.0):
        noise = correlated_noise(flat, np.random.default_rng(0), 25, grain) - flat
        assert abs(noise.std() * 255 - 25) < 1.0
        neighbours = np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1]
        assert (neighbours < 0.05) if grain == 0 else (neighbours > 0.5)


def test_context_swap_reads_each_half_of_the_thumbnail_from_the_photo_it_names() -> None:
    import torch
    from context_swap import swap_scores

    from uhdrestore.models import thumbnail

    class Recorder(torch.nn.Module):
        """Brightens by its thumbnail's mean, and keeps the thumbnails it was given."""

        def __init__(self) -> None:
            super().__init__()
            self.seen: list[torch.Tensor] = []

        def thumbnail(self, x: torch.Tensor) -> torch.Tensor:
            return thumbnail(x, 8)

        def forward(self, x: torch.Tensor, thumb: torch.Tensor) -> torch.Tensor:
            self.seen.append(thumb)
            return x + 0.1 * thumb.mean()

    rng = np.random.default_rng(0)
    image = rng.random((32, 48, 3), dtype=np.float32)
    donor = (0.3 * rng.random((40, 40, 3))).astype(np.float32)  # darker and smoother
    model = Recorder()
    scores = swap_scores(model, image, donor)
    own, theirs = (thumbnail(torch.from_numpy(a).permute(2, 0, 1)[None], 8) for a in (image, donor))
    seen = dict(zip(scores, model.seen))
    assert list(scores) == ["own", "donor", "own colour", "own detail"]
    assert torch.equal(seen["own"], own) and torch.equal(seen["donor"], theirs)
    assert torch.equal(seen["own colour"][:, :3], own[:, :3]) and torch.equal(seen["own colour"][:, 3:], theirs[:, 3:])
    assert torch.equal(seen["own detail"][:, :3], theirs[:, :3]) and torch.equal(seen["own detail"][:, 3:], own[:, 3:])
    assert scores["donor"] > scores["own"]  # a darker context brightens less: closer to the photo


def test_context_views_average_the_contexts_of_the_whole_photo_and_its_quadrants() -> None:
    import torch
    from context_views import grid, restore_with_rule

    class MeanBrightener(torch.nn.Module):
        """Its context is the mean of the view it reads; it adds that context to every pixel."""

        def thumbnail(self, x: torch.Tensor) -> torch.Tensor:
            return x

        def encode_context(self, thumb: torch.Tensor) -> torch.Tensor:
            return thumb.mean(dim=(1, 2, 3))

        def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
            return x + context[:, None, None, None]

    image = np.zeros((30, 50, 3), np.float32)
    image[:15, :25] = 0.4  # only the top-left quadrant is bright: mean 0.1 over the whole photo
    tiles = grid(image, 3)
    assert sum(tile.size for tile in tiles) == image.size  # the tiles cover the photo once
    assert np.array_equal(np.concatenate([np.concatenate(tiles[r * 3:r * 3 + 3], axis=1) for r in range(3)]), image)
    own = restore_with_rule(MeanBrightener(), image, "own")
    quadrants = restore_with_rule(MeanBrightener(), image, "quadrants")
    assert np.allclose(own[20, 40], 0.1)  # the whole photo's mean
    assert np.allclose(quadrants[20, 40], (0.1 + 0.4) / 5)  # the mean of 5 contexts: whole, then 0.4, 0, 0, 0


def test_a_per_image_file_reads_back_and_is_detected_again_at_other_thresholds(tmp_path: Path) -> None:
    from perceiver import parse_thresholds, read_per_image, write_per_image

    from uhdrestore.perceive.model import PERCEIVED_KINDS

    probabilities = dict.fromkeys(PERCEIVED_KINDS, 0.1) | {"haze": 0.7}
    records = [{"set": "clean", "recipe": "clean", "severity": 0.0, "views": ["crops", "whole"], "group": "interior",
                "name": "a.jpg", "kinds": [], "probabilities": probabilities, "detected": ["haze"]},
               {"set": "ours", "recipe": "rain+haze", "severity": 0.5, "views": ["whole"], "group": "night",
                "name": "b.jpg", "kinds": ["haze", "rain"], "probabilities": probabilities, "detected": ["haze"]}]
    write_per_image(tmp_path / "p.tsv", [{**r, "tier": "medium"} for r in records])
    again = read_per_image(tmp_path / "p.tsv", parse_thresholds("0.5"))
    assert [(r["views"], r["kinds"], r["detected"], r["degraded"]) for r in again] == [
        (["crops", "whole"], [], ["haze"], True), (["whole"], ["haze", "rain"], ["haze"], True)]
    stricter = read_per_image(tmp_path / "p.tsv", parse_thresholds("0.5,0.8,0.5,0.5,0.5,0.5"))
    assert [r["degraded"] for r in stricter] == [False, False]
    with pytest.raises(SystemExit, match="thresholds"):
        parse_thresholds("0.5,0.5")
