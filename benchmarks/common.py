"""Shared by the benchmark scripts: the model to measure and a description of the machine."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.conftest

from uhdrestore.errors import WeightsError  # noqa: E402
from uhdrestore.hub import load_model  # noqa: E402
from uhdrestore.models import PRESETS  # noqa: E402


def benchmark_model(spec: str) -> tuple[torch.nn.Module, str]:
    """The model to measure and how to describe it.

    Falls back to the base preset with random residual weights when the spec is
    'default' and no trained default is installed: speed and memory do not depend
    on the values of the weights, and every layer is active, so timings hold.
    """
    try:
        return load_model(spec).module, spec
    except WeightsError:
        if spec != "default":
            raise
    from tests.conftest import perturbed_model  # every layer active, as in the tiling tests

    model = perturbed_model(PRESETS["base"])
    return model, "base preset, random weights (no trained default installed)"


def image_psnr(image: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of two float images in [0, 1] (capped at 200 dB for identical images)."""
    return float(10 * np.log10(1.0 / max(float(np.mean((image - reference) ** 2)), 1e-20)))


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) float image -> (1, 3, H, W) contiguous tensor, as the models take it (views of crops too)."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].contiguous()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name()}"
    return text
