"""One image through the engine: decoded file in, encodable image out.

The model restores RGB only: grayscale is replicated to RGB and averaged back,
alpha and metadata are carried through untouched, and the bit depth of the input
(uint8, uint16, float32) is the bit depth of the output. An HDR float image (values
outside [0, 1]) is restored scaled into [0, 1] and scaled back; `RestoreResult.span`
says when that happened.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from torch import nn

from .arrays import restore_any
from .hub import LoadedModel
from .io import Image, ImageMetadata
from .models.descriptor import ModelDescriptor, describe
from .restore import RestoreResult, TileConfig, restore_pixels
from .runtime import Runtime, resolve_runtime

T = TypeVar("T")

__all__ = ["Restorer", "compare_image"]


def compare_image(before: Image, after: Image) -> Image:
    """Before and after side by side, in the input's bit depth, without alpha or metadata."""
    return Image(rgb=np.concatenate([before.rgb, after.rgb], axis=1), alpha=None, metadata=ImageMetadata())


@dataclasses.dataclass
class Restorer:
    """A loaded model on its device: `Restorer.from_pretrained("default")(image)` restores `image`.

    Owns the engine assembly (weights, device, precision, tiling) that the CLI, the
    perceiver's training and the benchmarks share. Call it on a NumPy array, a torch
    tensor or a PIL image (see `uhdrestore.arrays`) to get the same kind back.
    """

    model: nn.Module  # a RestorationNetwork on `runtime.device`, in eval mode
    runtime: Runtime
    tiles: TileConfig = TileConfig()
    loaded: LoadedModel | None = None  # where the weights came from, when loaded by from_pretrained

    @classmethod
    def from_pretrained(
        cls,
        model: str | os.PathLike[str] = "default",
        *,
        revision: str | None = None,
        device: str = "auto",
        precision: str = "auto",
        tiles: TileConfig | None = None,
        local_files_only: bool = False,
        cache_dir: str | Path | None = None,
        endpoint: str | None = None,
    ) -> Restorer:
        """Load `model` ("default", a model folder or .safetensors file, or a Hub id "org/name").

        `device` is auto, cpu, cuda, cuda:N or mps; `precision` auto, fp32, fp16 or bf16 (auto:
        fp32 on CPU, bf16 or fp16 on CUDA where the model supports it). Raises `WeightsError`
        for a missing, corrupt or unreachable model and `DeviceError` for an unusable device.
        """
        import torch

        from .hub import load_model

        loaded = load_model(os.fspath(model), revision=revision, local_files_only=local_files_only,
                            cache_dir=cache_dir, endpoint=endpoint)
        descriptor = describe(loaded.module)
        runtime = resolve_runtime(str(device), precision, supports_half=descriptor.supports_half,
                                  supports_bfloat16=descriptor.supports_bfloat16)
        module = loaded.module.to(runtime.device, memory_format=torch.channels_last)
        return cls(module, runtime, tiles or TileConfig(), loaded)

    @property
    def descriptor(self) -> ModelDescriptor:
        """What the network supports: precisions, size multiple, tiling."""
        return describe(self.model)

    def __call__(self, image: T, *, on_tile: Callable[[int, int], None] | None = None) -> T:
        """Restore a NumPy array, torch tensor, PIL image or `Image`; the same type and dtype come back.

        Raises `InputImageError` for pixels it cannot restore (see `uhdrestore.arrays`),
        `DeviceMemoryError` when even the smallest tile does not fit.
        """
        return restore_any(image, lambda pixels: self.restore(pixels, on_tile=on_tile)[0])

    def restore(self, image: Image, *, on_tile: Callable[[int, int], None] | None = None
                ) -> tuple[Image, RestoreResult]:
        """A decoded `Image` -> the restored image (alpha and metadata kept) and how it was computed."""
        result = restore_pixels(image.rgb, self.model, self.runtime, self.tiles, on_tile=on_tile)
        return dataclasses.replace(image, rgb=result.image), result
