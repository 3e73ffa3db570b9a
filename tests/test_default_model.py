"""The bundled default model: what a user meets first must load offline and visibly restore.

The photos are made in code (soft-edged shapes over smooth gradients, like an out-of-focus
background), degraded with our generators at a fixed seed, restored through the CLI.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.test_cli import invoke
from uhdrestore.degrade import degrade
from uhdrestore.hub import bundled_weights_dir, load_model
from uhdrestore.io import Image, read_image, to_float, write_image
from uhdrestore.metrics import psnr

SIDE = 192
# Minimum PSNR gains (dB) over the degraded input on these small made-up photos, at severity
# 0.5: set a few dB under what the shipped model measured (see weights/README.md), so a
# broken export, a mismatched architecture or a model that does nothing fails.
MIN_GAIN = {"noise": 4.0, "rain": 2.0, "haze": 3.0, "lowlight": 5.0, "snow": 2.0}
MIN_CLEAN_PSNR = 33.0  # a clean photo must come back nearly unchanged


def soft_photo(seed: int) -> np.ndarray:
    """(SIDE, SIDE, 3) float32: smooth colour gradients and soft-edged discs, no noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32) / SIDE
    image = np.stack([0.2 + 0.6 * x, 0.3 + 0.5 * y, 0.5 + 0.2 * np.sin(6 * x + 4 * y)], axis=2)
    for _ in range(10):
        cy, cx, radius = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.03, 0.2)
        image[(y - cy) ** 2 + (x - cx) ** 2 < radius**2] = rng.uniform(0.1, 0.9, 3)
    return np.clip(cv2.GaussianBlur(image, (0, 0), 1.2), 0, 1).astype(np.float32)


def score(image: np.ndarray, clean: np.ndarray) -> float:
    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)[None]

    return float(psnr(tensor(image), tensor(clean)))


def restore_with_cli(tmp_path: Path, image: np.ndarray, name: str) -> np.ndarray:
    source = tmp_path / f"{name}.png"
    write_image(source, Image(rgb=np.rint(image * 255).astype(np.uint8), alpha=None))
    result = invoke("fix", source, "--offline")
    assert result.exit_code == 0, result.output
    return to_float(read_image(tmp_path / f"{name}_restored.png").rgb)


def test_the_default_model_ships_and_loads_offline():
    assert (bundled_weights_dir() / "model.safetensors").stat().st_size < 5 * 2**20  # a few MB at most
    loaded = load_model("default")
    assert loaded.source.kind == "bundled"
    card = (bundled_weights_dir() / "README.md").read_text()
    assert "uhdrestore train" in card and "Limitations" in card  # the card says how to reproduce it


@pytest.mark.parametrize("kind", sorted(MIN_GAIN))
def test_fix_with_the_default_model_restores_each_kind(tmp_path, kind):
    clean = soft_photo(seed=1)
    degraded = degrade(clean, kind, np.random.default_rng(5), 0.5)
    degraded = np.rint(degraded * 255).astype(np.float32) / 255  # as saved to PNG
    restored = restore_with_cli(tmp_path, degraded, kind)
    assert score(restored, clean) - score(degraded, clean) >= MIN_GAIN[kind]


def test_fix_with_the_default_model_leaves_a_clean_photo_alone(tmp_path):
    clean = np.rint(soft_photo(seed=2) * 255).astype(np.float32) / 255
    assert score(restore_with_cli(tmp_path, clean, "clean"), clean) >= MIN_CLEAN_PSNR
