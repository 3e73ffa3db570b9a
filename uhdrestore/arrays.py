"""Pixels as callers hold them (NumPy, torch, PIL) to the engine's `Image` and back, same type and dtype.

The engine restores (H, W, 3 | 1) uint8, uint16 or float32 colour plus an optional alpha
plane. Everything else is a view of that: (H, W) gray, (H, W, 2) gray + alpha, (H, W, 4)
RGBA; float64 runs as float32 and comes back float64; a torch tensor (C, H, W) or
(B, C, H, W) runs image by image on the host and comes back on its own device in its own
dtype; a PIL image comes back in its own mode with its `info` (ICC profile, EXIF) kept.
Pillow is never imported here: a PIL image can only reach us if the caller imported it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .errors import InputImageError
from .io import Image

__all__ = ["restore_any"]

T = TypeVar("T")
Restore = Callable[[Image], Image]  # the engine on one image: alpha and metadata carried through

_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64))
_PIL_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "F")


def restore_any(image: T, restore: Restore) -> T:
    """Run `restore` on an ndarray, torch tensor, PIL image or `Image`, returning the same kind.

    Raises `InputImageError` (a ValueError) for shapes, dtypes or modes it cannot restore,
    NaN/Inf pixels or empty images, and TypeError for anything that is not an image.
    """
    if isinstance(image, Image):
        return restore(image)  # type: ignore[return-value]
    if isinstance(image, np.ndarray):
        return _restore_array(image, restore, "array")  # type: ignore[return-value]
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(image, torch.Tensor):
        return _restore_tensor(image, restore)
    pil = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(image, pil.Image):
        return _restore_pil(image, restore)  # type: ignore[return-value]
    raise TypeError(f"expected a NumPy array, a torch tensor or a PIL image. Got {type(image).__name__}")


def _restore_array(array: np.ndarray, restore: Restore, what: str) -> np.ndarray:
    """(H, W) or (H, W, 1 | 2 | 3 | 4) uint8/uint16/float32/float64 -> the same, restored."""
    if array.dtype not in _DTYPES:
        raise InputImageError(f"unsupported {what} dtype {array.dtype}: expected uint8, uint16, float32 or float64")
    pixels = array[..., None] if array.ndim == 2 else array
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise InputImageError(f"unsupported {what} shape {tuple(array.shape)}: expected (H, W) or (H, W, C) "
                              "with C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA)")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise InputImageError(f"empty {what}: shape {tuple(array.shape)}")
    if pixels.dtype.kind == "f" and not bool(np.isfinite(pixels).all()):
        raise InputImageError(f"the {what} holds NaN or infinite values: nothing to restore")
    work = pixels.astype(np.float32) if pixels.dtype == np.float64 else pixels
    channels = work.shape[2]
    colour = work[..., :1] if channels <= 2 else work[..., :3]
    alpha = np.ascontiguousarray(work[..., -1]) if channels in (2, 4) else None
    restored = restore(Image(rgb=np.ascontiguousarray(colour), alpha=alpha))
    out = restored.rgb if alpha is None else np.concatenate([restored.rgb, alpha[..., None]], axis=2)
    if array.ndim == 2:
        out = out[..., 0]
    return out.astype(array.dtype, copy=False)


def _restore_tensor(tensor: Any, restore: Restore) -> Any:
    """(C, H, W) or (B, C, H, W) float in [0, 1] or uint8 -> the same dtype and device, restored."""
    import torch

    if tensor.ndim not in (3, 4) or tensor.shape[-3] not in (1, 2, 3, 4):
        raise InputImageError(f"unsupported tensor shape {tuple(tensor.shape)}: expected (C, H, W) or "
                              "(B, C, H, W) with C = 1, 2, 3 or 4")
    if not (tensor.is_floating_point() or tensor.dtype == torch.uint8):
        raise InputImageError(f"unsupported tensor dtype {tensor.dtype}: expected a float dtype or uint8")
    batch = tensor.detach().to("cpu")
    if batch.dtype in (torch.float16, torch.bfloat16):
        batch = batch.float()
    batch = batch if batch.ndim == 4 else batch[None]
    outputs = [torch.from_numpy(_restore_array(np.ascontiguousarray(item.permute(1, 2, 0).numpy()), restore,
                                               "tensor")).permute(2, 0, 1) for item in batch]
    out = torch.stack(outputs) if tensor.ndim == 4 else outputs[0]
    return out.to(device=tensor.device, dtype=tensor.dtype).contiguous()


def _restore_pil(image: Any, restore: Restore) -> Any:
    """A PIL image in mode L, LA, RGB, RGBA, I;16 or F -> a new one in the same mode, info kept."""
    import PIL.Image  # already imported: the caller's image came from it

    if image.mode not in _PIL_MODES:
        raise InputImageError(f"unsupported PIL mode {image.mode!r}: expected one of {', '.join(_PIL_MODES)} "
                              "(convert first, e.g. image.convert('RGB'))")
    pixels = np.asarray(image)
    if image.mode == "I;16":
        pixels = pixels.astype(np.uint16)  # native byte order
    restored = PIL.Image.fromarray(_restore_array(pixels, restore, "image"))
    if image.mode == "I;16" and restored.mode != "I;16":
        restored = restored.convert("I;16")
    restored.info.update(image.info)
    return restored
