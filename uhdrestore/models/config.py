"""The network's hyperparameters: a frozen dataclass that round-trips through config.json."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["ModelConfig", "PRESETS", "strict_from_dict"]


def strict_from_dict(cls: Any, data: dict[str, Any]) -> Any:
    """Build dataclass `cls` from a parsed config.json; unknown keys are an error, not silently dropped."""
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown config keys: {', '.join(unknown)}")
    return cls(**data)


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters of SimpleIR (see `uhdrestore/models/simpleir.py` for the design).

    Stored next to the weights as `config.json`, so loading rebuilds the same network.
    """

    arch: str = "simpleir"  # name in the architecture table (`uhdrestore.models.ARCHITECTURES`)
    in_channels: int = 3  # RGB in and out; grayscale images are replicated to RGB
    detail_width: int = 32  # channels at 1/4 resolution (entry, LDAM, exit)
    body_width: int = 64  # channels at 1/8 resolution (the Feature Iteration Block)
    body_blocks: int = 2  # Hybrid Attention Blocks in the weight-shared FIB sub-stack
    body_iterations: int = 2  # times the FIB sub-stack is unrolled
    context_width: int = 64  # size of the whole-image context vector
    context_size: int = 64  # side of the thumbnail the context is computed from
    context_dark: bool = False  # the thumbnail also carries the dark channel (a haze cue; train --dark-channel)
    negative_slope: float = 0.1  # LeakyReLU slope: cheap on CPU, no dead units

    def __post_init__(self) -> None:
        if self.arch != "simpleir":
            raise ValueError(f"unknown architecture {self.arch!r}; known: 'simpleir'")
        for name in ("in_channels", "detail_width", "body_width", "body_blocks",
                     "body_iterations", "context_width", "context_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer. Got {value!r}")
        if not isinstance(self.context_dark, bool):
            raise ValueError(f"context_dark must be true or false. Got {self.context_dark!r}")
        if self.context_size < 8:
            raise ValueError(f"context_size must be at least 8. Got {self.context_size}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return strict_from_dict(cls, data)


PRESETS: dict[str, ModelConfig] = {
    # 0.19 M parameters, ~110 ms per megapixel on 2 CPU cores: laptops, fastest training.
    "small": ModelConfig(detail_width=16, body_width=48),
    # 0.34 M parameters, ~200 ms per megapixel on 2 CPU cores: the default.
    "base": ModelConfig(),
    # 0.83 M parameters: for GPU training runs.
    "large": ModelConfig(detail_width=48, body_width=96, body_blocks=3, body_iterations=3),
}
