"""What a caller may rely on about a loaded network, said once in a typed object.

spandrel's idea: loading returns a descriptor (architecture, precisions, size and tiling
needs), so the engine never inspects a module for attributes it hopes are there. A
network the engine can run satisfies `RestorationNetwork`: it carries a `descriptor`,
builds its whole-image `thumbnail`, encodes it into a context, and restores a tile
given that context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import torch

__all__ = ["ModelDescriptor", "RestorationNetwork", "SizeRequirements", "Tiling", "describe"]

# "supported": tiled output equals untiled output once tiles overlap by `tile_overlap`;
# "discouraged": tiles change the result; "internal": the network tiles by itself.
Tiling = Literal["supported", "discouraged", "internal"]


@dataclass(frozen=True)
class SizeRequirements:
    """Input sizes the network handles without help."""

    multiple_of: int = 1  # it pads inputs to a multiple of this itself; tiles are aligned to it
    minimum: int = 0  # sides shorter than this are mirrored out by the engine (0: any size)

    def __post_init__(self) -> None:
        if self.multiple_of < 1 or self.minimum < 0:
            raise ValueError(f"multiple_of must be >= 1 and minimum >= 0. Got {self.multiple_of}, {self.minimum}")


@dataclass(frozen=True)
class ModelDescriptor:
    """A network's contract with the engine: which precisions, sizes and tiling it supports."""

    architecture: str  # the name config.json gives it (`ModelConfig.arch`)
    supports_half: bool  # fp16 autocast keeps its output finite (fp32 is retried if not)
    supports_bfloat16: bool
    size: SizeRequirements
    tiling: Tiling
    whole_image_context: bool  # tiles must share one context computed from the whole image's thumbnail
    tile_overlap: int  # overlap in pixels that covers the receptive field (tiled == untiled)
    activation_bytes_fp32: int  # peak activation memory per input pixel in fp32 (plans --tile auto)
    activation_bytes_half: int  # the same in fp16/bf16

    def bytes_per_pixel(self, element_size: int) -> int:
        """Peak activation bytes per input pixel for floats of `element_size` bytes (4, or 2 for half)."""
        return self.activation_bytes_fp32 if element_size >= 4 else self.activation_bytes_half


@runtime_checkable
class RestorationNetwork(Protocol):
    """What the engine calls: (B, 3, H, W) float in [0, 1] in, the same shape out."""

    @property
    def descriptor(self) -> ModelDescriptor: ...

    def thumbnail(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) whole image -> the fixed-size view its context encoder reads."""
        ...

    def encode_context(self, thumb: torch.Tensor) -> torch.Tensor: ...

    def __call__(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor: ...


def describe(module: object) -> ModelDescriptor:
    """The descriptor `module` carries; TypeError for a module the engine cannot run."""
    descriptor = getattr(module, "descriptor", None)
    if not isinstance(descriptor, ModelDescriptor):
        raise TypeError(f"{type(module).__name__} has no ModelDescriptor: the engine runs RestorationNetworks only")
    return descriptor
