"""Network architectures by name, and the config that rebuilds them."""

from __future__ import annotations

from torch import nn

from .config import PRESETS, ModelConfig
from .descriptor import ModelDescriptor, RestorationNetwork, SizeRequirements
from .simpleir import SimpleIR, thumbnail

__all__ = ["ARCHITECTURES", "PRESETS", "ModelConfig", "ModelDescriptor", "RestorationNetwork", "SimpleIR",
           "SizeRequirements", "build_model", "thumbnail"]

ARCHITECTURES: dict[str, type[nn.Module]] = {"simpleir": SimpleIR}


def build_model(config: ModelConfig) -> nn.Module:
    """A freshly initialised network for `config` (an untrained one is the identity)."""
    return ARCHITECTURES[config.arch](config)
