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
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from torch import nn

from .arrays import restore_any
from .guard import guarded_restore
from .hub import LoadedModel
from .io import Image, ImageMetadata
from .models.descriptor import ModelDescriptor, describe
from .restore import RestoreResult, TileConfig, restore_pixels
from .runtime import Runtime, resolve_runtime

if TYPE_CHECKING:
    from .perceive.inspect import Perception
    from .perceive.model import Perceiver

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
    loaded: LoadedModel[nn.Module] | None = None  # where the weights came from, when loaded by from_pretrained
    # A perceiver (on the CPU: it is small) that looks at each image first, as `fix --guard` does
    # (uhdrestore.guard): one it calls clean, or finds only blur in, comes back unchanged instead of
    # restored, one with no haze, low light, rain or snow keeps its tone and colour. None: every image is
    # restored as it comes.
    guard: Perceiver | None = None

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
        guard: bool = False,
        perceiver: str | os.PathLike[str] = "default",
    ) -> Restorer:
        """Load `model` ("default", a model folder or .safetensors file, or a Hub id "org/name").

        `device` is auto, cpu, cuda, cuda:N or mps; `precision` auto, fp32, fp16 or bf16 (auto:
        fp32 on CPU, bf16 or fp16 on CUDA where the model supports it). With `guard`, images the
        `perceiver` ("default": the bundled one, a folder or a Hub id) calls clean, or finds only
        blur in, come back unchanged and those it finds no global degradation in keep their tone (`fix --guard`).
        Raises `WeightsError` for a missing, corrupt or unreachable model or perceiver and
        `DeviceError` for an unusable device.
        """
        import torch

        from .hub import load_model

        loaded = load_model(os.fspath(model), revision=revision, local_files_only=local_files_only,
                            cache_dir=cache_dir, endpoint=endpoint)
        descriptor = describe(loaded.module)
        runtime = resolve_runtime(str(device), precision, supports_half=descriptor.supports_half,
                                  supports_bfloat16=descriptor.supports_bfloat16)
        # Module.to takes memory_format (torch._C._nn._parse_to), but its typed overloads omit it
        module = loaded.module.to(runtime.device, memory_format=torch.channels_last)  # pyright: ignore[reportCallIssue]
        judge = None
        if guard:  # `revision` names a revision of `model`, not of the perceiver
            from .perceive.inspect import load_perceiver

            judge = load_perceiver(os.fspath(perceiver), local_files_only=local_files_only, cache_dir=cache_dir,
                                   endpoint=endpoint).module
        return cls(module, runtime, tiles or TileConfig(), loaded, judge)

    @property
    def descriptor(self) -> ModelDescriptor:
        """What the network supports: precisions, size multiple, tiling."""
        return describe(self.model)

    def __call__(self, image: T, *, on_tile: Callable[[int, int], None] | None = None) -> T:
        """Restore a NumPy array, torch tensor, PIL image or `Image`; the same type and dtype come back.

        With a `guard`, an image (each image of a batch tensor) the perceiver calls clean, or finds
        only blur in, comes back with its pixels as they were (float64 through float32, as every
        image goes), and one with no haze, low light, rain or snow keeps its tone and colour
        (uhdrestore.guard).
        Raises `InputImageError` for pixels it cannot restore (see `uhdrestore.arrays`),
        `DeviceMemoryError` when even the smallest tile does not fit.
        """
        def restore_as_guarded(pixels: Image) -> Image:
            return guarded_restore(lambda part: self.restore(part, on_tile=on_tile), self.guard, pixels)[0]

        return restore_any(image, restore_as_guarded)

    def clean_perception(self, image: Image) -> Perception | None:
        """With a `guard`, the perceiver's reading of `image` when it calls it clean; else None (always None
        without a guard). `__call__` returns such an image unchanged; `restore` restores every image."""
        if self.guard is None:
            return None
        from .perceive.inspect import clean_perception  # only a guard needs the perceiver's code

        return clean_perception(self.guard, image)

    def restore(self, image: Image, *, on_tile: Callable[[int, int], None] | None = None
                ) -> tuple[Image, RestoreResult]:
        """A decoded `Image` -> the restored image (alpha and metadata kept) and how it was computed.

        Restores even an image the guard calls clean: ask `clean_perception` first to leave it alone."""
        result = restore_pixels(image.rgb, self.model, self.runtime, self.tiles, on_tile=on_tile)
        return dataclasses.replace(image, rgb=result.image), result
