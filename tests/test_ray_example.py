"""examples/ray_batch.py on a local Ray (ray.init(num_cpus=2)); skipped where Ray is not installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import perturbed_model, synthetic_photo
from uhdrestore.hub import save_model
from uhdrestore.io import Image, ImageMetadata, from_float, read_image, write_image

pytest.importorskip("ray", reason="Ray is optional: pip install 'ray[data]' to run this test")
REPO = Path(__file__).resolve().parents[1]


def test_ray_recipe_restores_like_batch_and_keeps_16_bit(tmp_path):
    network = perturbed_model()
    model = save_model(network, network.config, tmp_path / "model")
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    write_image(folder / "a.png", Image(rgb=from_float(synthetic_photo(48, 64, 1), np.uint8), alpha=None,
                                        metadata=ImageMetadata()))
    write_image(folder / "sub" / "b.png", Image(rgb=from_float(synthetic_photo(48, 64, 2), np.uint16), alpha=None,
                                                metadata=ImageMetadata()))
    environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "examples/ray_batch.py", str(folder), "-o", str(tmp_path / "ray"),
                           "--model", str(model), "--num-cpus", "2", "--actors", "2"],
                          cwd=REPO, env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 restored, 0 skipped (output exists), 0 failed" in done.stdout
    batch = subprocess.run([sys.executable, "-m", "uhdrestore", "batch", str(folder), "-o", str(tmp_path / "cli"),
                            "-r", "--model", str(model), "--device", "cpu"],
                           cwd=REPO, env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert batch.returncode == 0, batch.stderr
    for name in ("a.png", "sub/b.png"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    assert read_image(tmp_path / "ray" / "sub" / "b.png").rgb.dtype == np.uint16
