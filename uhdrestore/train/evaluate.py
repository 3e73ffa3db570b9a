"""Validation of a restorer: PSNR and SSIM on each task's fixed crops; stage order by severity."""

from __future__ import annotations

import torch
from torch import nn

from ..metrics import psnr, ssim
from ..runtime import Runtime

__all__ = ["ValidationSets", "evaluate", "input_scores", "perceived_severity"]

ValidationSets = dict[str, tuple[torch.Tensor, torch.Tensor]]  # task -> (degraded, clean), (N, 3, V, V)


def input_scores(sets: ValidationSets) -> dict[str, tuple[float, float]]:
    """Task -> (PSNR, SSIM) of the degraded validation crops themselves: what restoring starts from."""
    return {name: (float(psnr(lq, gt).mean()), float(ssim(lq, gt).mean())) for name, (lq, gt) in sets.items()}


def evaluate(model: nn.Module, sets: ValidationSets, runtime: Runtime) -> tuple[dict[str, float], dict[str, float]]:
    """Mean PSNR and SSIM of the model on each validation set."""
    model.eval()
    psnrs, ssims = {}, {}
    for name, (degraded, clean) in sets.items():
        outputs = []
        for start in range(0, len(degraded), 4):
            chunk = degraded[start:start + 4].to(runtime.device, memory_format=torch.channels_last)
            with runtime.autocast():
                outputs.append(model(chunk).float().clamp(0, 1).cpu())
        restored = torch.cat(outputs)
        psnrs[name] = float(psnr(restored, clean).mean())
        ssims[name] = float(ssim(restored, clean).mean())
    return psnrs, ssims


@torch.no_grad()
def perceived_severity(perceiver_spec: str, sets: ValidationSets) -> dict[str, float]:
    """Each task's mean perceived severity over its degraded validation crops."""
    from ..perceive.inspect import load_perceiver

    perceiver = load_perceiver(perceiver_spec, local_files_only=True).module
    with torch.inference_mode():
        return {name: float(perceiver.perceive(degraded.float().cpu()).severity.mean())
                for name, (degraded, _clean) in sets.items()}
