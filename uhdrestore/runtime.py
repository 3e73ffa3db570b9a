"""The one place that decides device, precision and autocast.

Every other module takes a `Runtime`; nothing else calls `torch.cuda.is_available()`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import torch

from .errors import DeviceError

__all__ = ["Precision", "Runtime", "rank_device", "resolve_runtime"]

Precision = Literal["fp32", "fp16", "bf16"]
_DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class Runtime:
    """Where the network runs and in which precision."""

    device: torch.device
    precision: Precision

    @property
    def dtype(self) -> torch.dtype:
        return _DTYPES[self.precision]

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self, precision: Precision | None = None) -> contextlib.AbstractContextManager:
        """Autocast context for `precision` (default: ours); a no-op for fp32."""
        precision = precision or self.precision
        if precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=_DTYPES[precision])

    def free_memory(self) -> int | None:
        """Free device memory in bytes on CUDA; None where the device shares host memory."""
        if not self.is_cuda:
            return None
        free, _total = torch.cuda.mem_get_info(self.device)
        return int(free)

    def describe(self) -> str:
        if self.is_cuda:
            return f"{self.device} ({torch.cuda.get_device_name(self.device)}), {self.precision}"
        return f"{self.device}, {self.precision}"


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise DeviceError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps") from error
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {device!r} requested but CUDA is not available here")
        index = resolved.index if resolved.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device {device!r} requested but only {torch.cuda.device_count()} "
                              "CUDA device(s) exist")
        return torch.device("cuda", index)
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("device 'mps' requested but MPS is not available here")
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"unsupported device {device!r}: use auto, cpu, cuda, cuda:N or mps")
    return resolved


def rank_device(device: str, local_rank: int | None) -> str:
    """The device a launched process (torchrun, srun) should use: cuda:LOCAL_RANK for `auto` or
    `cuda` when CUDA is here, so the processes of one machine take one GPU each; else `device`.

    A launcher that hands each task one GPU (srun --gpus-per-task=1) leaves one visible device:
    then every rank uses cuda:0. Raises DeviceError when a rank has no GPU of its own.
    """
    if local_rank is None or device not in ("auto", "cuda") or not torch.cuda.is_available():
        return device
    count = torch.cuda.device_count()
    if local_rank < count:
        return f"cuda:{local_rank}"
    if count == 1:
        return "cuda:0"
    raise DeviceError(f"local rank {local_rank} has no GPU of its own: only {count} CUDA device(s) here "
                      "(start at most that many processes per machine, or pass --device)")


def resolve_runtime(device: str = "auto", precision: str = "auto", *,
                    supports_half: bool = True, supports_bfloat16: bool = True) -> Runtime:
    """Turn the user's `--device` and `--precision` into a Runtime.

    `auto` precision is fp32 on CPU and MPS (half precision is slow or unsafe there),
    bf16 on CUDA devices that support it, else fp16, when the model supports it.
    Raises DeviceError for an unavailable device or an unusable precision.
    """
    resolved = _resolve_device(device)
    if precision == "auto":
        chosen: Precision = "fp32"
        if resolved.type == "cuda":
            if supports_bfloat16 and torch.cuda.is_bf16_supported():
                chosen = "bf16"
            elif supports_half:
                chosen = "fp16"
        return Runtime(resolved, chosen)
    if precision not in _DTYPES:
        raise DeviceError(f"unknown precision {precision!r}: use auto, fp32, fp16 or bf16")
    if precision == "fp16" and not supports_half:
        raise DeviceError("this model does not support fp16: use --precision fp32")
    if precision == "bf16" and not supports_bfloat16:
        raise DeviceError("this model does not support bf16: use --precision fp32")
    if precision != "fp32" and resolved.type == "cpu" and precision == "fp16":
        raise DeviceError("fp16 is not supported on the CPU: use --precision fp32 or bf16")
    return Runtime(resolved, precision)  # type: ignore[arg-type]
