"""Optional extras: the packages only some features need, and the check that names the pip command.

Restoring (`fix`, `batch`, `inspect`, `Restorer`) needs none of them. Training and the
benchmarks need `[train]`: torchmetrics for SSIM, matplotlib for the validation plot.
"""

from __future__ import annotations

import importlib.util

from .errors import MissingExtraError

__all__ = ["EXTRAS", "require_extra"]

# extra -> the top-level modules it installs (pyproject.toml's [project.optional-dependencies])
EXTRAS = {"train": ("torchmetrics", "matplotlib")}


def require_extra(extra: str, feature: str, *modules: str) -> None:
    """Raise MissingExtraError, naming `feature` and the pip command, unless `modules` (default: all of
    `extra`'s) are importable.

    Cheap (nothing is imported), so a command can check before hours of work, not after.
    """
    for module in modules or EXTRAS[extra]:
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(feature, module=module, extra=extra)
