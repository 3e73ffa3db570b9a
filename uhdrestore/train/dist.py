"""Data-parallel training under torchrun: detection, set-up and the few collectives we need.

`torchrun --nproc_per_node N -m uhdrestore train ...` sets RANK, LOCAL_RANK and
WORLD_SIZE; without them training runs in one process. gloo on CPU, NCCL on CUDA.
Rank 0 alone writes checkpoints, logs and the exported model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as torch_dist

__all__ = ["Distributed", "setup_distributed"]


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def gather(self, values: np.ndarray) -> np.ndarray:
        """Concatenate equally sized 1-D arrays from every rank, in rank order."""
        if not self.enabled:
            return values
        tensor = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        torch_dist.all_gather(parts, tensor)
        return torch.cat(parts).numpy()

    def barrier(self) -> None:
        if self.enabled:
            torch_dist.barrier()

    def cleanup(self) -> None:
        if self.enabled and torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def setup_distributed(device: torch.device, environ: dict[str, str] | None = None) -> Distributed:
    """Join the process group when started by torchrun; a single-process Distributed otherwise."""
    environ = dict(os.environ) if environ is None else environ
    world_size = int(environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Distributed()
    rank, local_rank = int(environ["RANK"]), int(environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
    torch_dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return Distributed(rank=rank, local_rank=local_rank, world_size=world_size)
