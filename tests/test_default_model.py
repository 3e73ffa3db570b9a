"""The bundled default model: what a user meets first must load offline and visibly restore.

The photos are two real crops shipped in tests/data (held out of the model's training),
degraded with our generators at a fixed seed and restored through the CLI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import psnr
from tests.test_cli import invoke
from uhdrestore.degrade import degrade
from uhdrestore.hub import bundled_weights_dir, load_model
from uhdrestore.io import Image, read_image, to_float, write_image

PHOTOS = sorted((Path(__file__).parent / "data").glob("*_crop.png"))
# Minimum PSNR gains (dB) over the degraded input, mean over the two photos, at severity 0.5.
# The shipped model (v21) measures rain +3.7, haze +4.4 (the pale dune is left hazy: +0.0), noise +3.6,
# blur +0.0, snow +2.6, lowlight +15.5 and 51.3 / 59.6 dB on the clean photos, on these two crops
# (`python benchmarks/test_crops.py`); the floors sit under that, so a broken export, a
# mismatched architecture or a model that does nothing fails. Blur is only checked for harm:
# the model does not deblur.
MIN_GAIN = {"noise": 2.5, "rain": 2.8, "haze": 3.5, "lowlight": 13.0, "snow": 1.8, "blur": -0.5}
MIN_CLEAN_PSNR = 50.0  # mean over the photos: a clean photo comes back nearly unchanged


def photos() -> list[np.ndarray]:
    return [to_float(read_image(path).rgb) for path in PHOTOS]


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
    gains = []
    for index, clean in enumerate(photos()):
        degraded = degrade(clean, kind, np.random.default_rng(index), 0.5)
        degraded = np.rint(degraded * 255).astype(np.float32) / 255  # as saved to PNG
        restored = restore_with_cli(tmp_path, degraded, f"{kind}{index}")
        gains.append(psnr(restored, clean) - psnr(degraded, clean))
    assert np.mean(gains) >= MIN_GAIN[kind]


def test_fix_with_the_default_model_leaves_a_clean_photo_alone(tmp_path):
    scores = [psnr(restore_with_cli(tmp_path, clean, f"clean{index}"), clean)
              for index, clean in enumerate(photos())]
    assert np.mean(scores) >= MIN_CLEAN_PSNR
