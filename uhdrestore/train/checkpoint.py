"""Training checkpoints: every tensor in one safetensors file, the rest as JSON in its metadata.

One file, written to a temporary name in the run folder and renamed into place, so a
run killed at any moment (SIGKILL included) leaves either the previous checkpoint or
the new one, never half of one. No pickle: optimizer state is flattened to tensors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..atomic import atomic_path
from ..errors import WeightsError
from .shared import CHECKPOINT_NAME

__all__ = ["CHECKPOINT_NAME", "load_checkpoint", "optimizer_from_tensors", "optimizer_to_tensors", "pack",
           "save_checkpoint", "unpack"]


def save_checkpoint(run_dir: Path, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> Path:
    """Atomically write `tensors` and the JSON-ready `state` to run_dir/checkpoint.safetensors."""
    path = run_dir / CHECKPOINT_NAME
    contiguous = {name: tensor.detach().cpu().contiguous().clone() for name, tensor in tensors.items()}
    with atomic_path(path) as temporary:
        save_file(contiguous, temporary, metadata={"state": json.dumps(state)})
    return path


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, state) of a checkpoint. Raises WeightsError if it is missing or corrupt."""
    if not path.is_file():
        raise WeightsError(f"no checkpoint to resume from: {path}")
    try:
        tensors = load_file(path)
        from safetensors import safe_open

        with safe_open(path, framework="pt") as handle:
            metadata = handle.metadata() or {}
        state = json.loads(metadata["state"])
    except (SafetensorError, KeyError, ValueError, OSError) as error:
        raise WeightsError(f"corrupt checkpoint {path}: {error}") from error
    return tensors, state


def pack(**parts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Name every tensor by its part: pack(model=m.state_dict()) -> {"model.<key>": tensor}."""
    return {f"{part}.{key}": value for part, tensors in parts.items() for key, value in tensors.items()}


def unpack(tensors: dict[str, torch.Tensor], part: str) -> dict[str, torch.Tensor]:
    """Inverse of `pack` for one part: unpack(tensors, "model") -> that state dict."""
    prefix = part + "."
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Flatten an optimizer's state into `optim.{param}.{key}` tensors plus JSON param groups."""
    state = optimizer.state_dict()
    tensors = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            tensors[f"optim.{index}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return tensors, state["param_groups"]


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                           param_groups: list[dict]) -> None:
    """Inverse of `optimizer_to_tensors`."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": param_groups})
