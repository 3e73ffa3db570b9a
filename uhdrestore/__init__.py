"""uhdrestore: restore photos (rain, haze, noise, blur, snow, low light) with one small network.

The public API. Names are imported on first use, so `uhdrestore --help` starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.3.0"

_EXPORTS = {
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
    "OutputError": "errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'uhdrestore' has no attribute {name!r}")
