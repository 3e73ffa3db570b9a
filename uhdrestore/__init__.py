"""uhdrestore: restore photos (rain, haze, noise, blur, snow, low light) with one small network.

    from uhdrestore import Restorer
    restorer = Restorer.from_pretrained("default")  # or a model folder, or a Hub id "org/name"
    restored = restorer(image)  # NumPy, torch or PIL in; the same type and dtype out

The public API is `__all__`; everything else may change. Names are imported on first
use, so `uhdrestore --help` starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.3.0"

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports each on first use
    from .errors import (DeviceError, DeviceMemoryError, InputImageError, MissingExtraError, NonFiniteOutputError,
                         OutputError, UhdRestoreError, WeightsError)
    from .hub import LoadedModel, load_model, save_model
    from .io import Image, read_image, write_image
    from .models import ModelConfig, ModelDescriptor, SizeRequirements, build_model
    from .pipeline import Restorer
    from .restore import RestoreResult, TileConfig, restore_image
    from .runtime import Runtime, resolve_runtime

_EXPORTS = {
    "Restorer": "pipeline",
    "ModelDescriptor": "models",
    "SizeRequirements": "models",
    "restore_image": "restore",
    "RestoreResult": "restore",
    "TileConfig": "restore",
    "load_model": "hub",
    "save_model": "hub",
    "LoadedModel": "hub",
    "resolve_runtime": "runtime",
    "Runtime": "runtime",
    "read_image": "io",
    "write_image": "io",
    "Image": "io",
    "ModelConfig": "models",
    "build_model": "models",
    "UhdRestoreError": "errors",
    "InputImageError": "errors",
    "WeightsError": "errors",
    "DeviceError": "errors",
    "DeviceMemoryError": "errors",
    "NonFiniteOutputError": "errors",
    "OutputError": "errors",
    "MissingExtraError": "errors",
}

__all__ = [
    "__version__",
    "Restorer", "ModelDescriptor", "SizeRequirements",
    "restore_image", "RestoreResult", "TileConfig",
    "load_model", "save_model", "LoadedModel",
    "resolve_runtime", "Runtime",
    "read_image", "write_image", "Image",
    "ModelConfig", "build_model",
    "UhdRestoreError", "InputImageError", "WeightsError", "DeviceError", "DeviceMemoryError",
    "NonFiniteOutputError", "OutputError", "MissingExtraError",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'uhdrestore' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
