"""`uhdrestore env`: what a bug report needs: versions, devices, the Hub cache and the bundled models' hashes."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import typer

from .. import __version__
from .common import JsonOpt, errors, print_json, stderr_console


def _sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    from ..hub import file_sha256

    return file_sha256(path)


def environment() -> dict[str, Any]:
    """The facts `env` prints, as one JSON-ready dict."""
    import cv2
    import huggingface_hub
    import huggingface_hub.constants
    import numpy
    import torch

    from ..hub import bundled_weights_dir
    from ..perceive.inspect import PERCEIVER_FOLDER

    weights = bundled_weights_dir()
    cuda = [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    return {
        "uhdrestore": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {"torch": torch.__version__, "numpy": numpy.__version__, "opencv": cv2.__version__,
                     "huggingface_hub": huggingface_hub.__version__, "typer": _version_of("typer")},
        "devices": {"cpu_threads": torch.get_num_threads(), "cpu_cores": os.cpu_count(), "cuda": cuda,
                    "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())},
        "hub": {"cache": str(huggingface_hub.constants.HF_HUB_CACHE),
                "offline": bool(huggingface_hub.constants.HF_HUB_OFFLINE),
                "endpoint": huggingface_hub.constants.ENDPOINT},
        "bundled": {"folder": str(weights), "default_sha256": _sha256(weights / "model.safetensors"),
                    "perceiver_sha256": _sha256(weights / PERCEIVER_FOLDER / "model.safetensors")},
    }


def _version_of(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def env(json_output: JsonOpt = False) -> None:
    """Print versions, devices, the Hub cache and offline state, and the bundled models' hashes (for bug reports)."""
    with errors(stderr_console(json_output)):
        facts = environment()
        if json_output:
            print_json(facts)
            return
        for section, value in facts.items():
            if isinstance(value, dict):
                for key, item in value.items():
                    typer.echo(f"{section}.{key}: {item if item not in (None, []) else '-'}")
            else:
                typer.echo(f"{section}: {value}")
