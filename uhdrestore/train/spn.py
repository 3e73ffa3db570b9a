"""Learning from history: MCLIR's SPN loss (Wu et al., AAAI 2024), optional via `--spn-weight`.

Lagged copies of the network (`LaggedModels`) show where the model was a few hundred steps
ago; `SPNLoss` pushes today's output away from theirs in a perceptual feature space, so
training keeps moving instead of settling on yesterday's mistakes. Unlike MCLIR we clamp
each distance, so the subtracted term is bounded and cannot run away. The feature space
is VGG16 when weights are given, else a fixed filter bank (nothing is downloaded for it).
"""

from __future__ import annotations

import copy
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from uhdrestore.errors import WeightsError
from uhdrestore.hub import check_tensors, download_file

__all__ = ["FeatureSpace", "LaggedModels", "SPNLoss", "feature_distance", "fixed_features", "load_feature_space",
           "vgg16_features"]

logger = logging.getLogger(__name__)

LEVEL_WEIGHTS = (0.2, 0.3, 0.5)  # MCLIR's weights for relu1_2, relu2_2, relu3_3
_VGG_CONVS = {0: (3, 64), 2: (64, 64), 5: (64, 128), 7: (128, 128), 10: (128, 256),
              12: (256, 256), 14: (256, 256)}  # torchvision's `features` index -> (in, out)
_VGG_TAPS = (3, 8, 15)  # the ReLUs after features.2 (relu1_2), .7 (relu2_2), .14 (relu3_3)
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_HUB_SPEC = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)(?::(?P<file>[^/:]+\.safetensors))?$")
_HUB_DEFAULT_FILE = "model.safetensors"  # timm's layout, e.g. timm/vgg16.tv_in1k


class FeatureSpace(nn.Module):
    """Maps (B, 3, H, W) images in [0, 1] to a list of feature maps for perceptual distances."""

    def __init__(self, name: str, weights: tuple[float, ...]) -> None:
        super().__init__()
        self.name = name  # says in logs and reports which feature space ran
        self.weights = weights  # one per level returned by forward

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError


class _VGG16(FeatureSpace):
    mean: torch.Tensor  # buffers, declared for the type checker (Module.__getattr__ returns Tensor | Module)
    std: torch.Tensor

    def __init__(self, name: str) -> None:
        super().__init__(name, LEVEL_WEIGHTS)
        self.features = nn.Sequential(*(  # indices match torchvision, so state-dict keys do too
            nn.Conv2d(*_VGG_CONVS[index], 3, padding=1) if index in _VGG_CONVS
            else nn.MaxPool2d(2) if index in (4, 9) else nn.ReLU() for index in range(_VGG_TAPS[-1] + 1)))
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        levels = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in _VGG_TAPS:
                levels.append(x)
        return levels  # (B, 64, H, W), (B, 128, H/2, W/2), (B, 256, H/4, W/4)


def vgg16_features(state_dict: dict[str, torch.Tensor], *, source: str = "a state dict") -> FeatureSpace:
    """VGG16 up to relu3_3 from torchvision-layout weights, with or without a "features." prefix.

    Other keys (classifier, deeper layers) are ignored. Raises `WeightsError` naming the
    missing, misshapen or non-finite tensors.
    """
    prefixed = any(key.startswith("features.") for key in state_dict)
    tensors = {key.removeprefix("features."): value for key, value in state_dict.items()
               if key.startswith("features.") or not prefixed}
    space = _VGG16(f"vgg16 (relu1_2, relu2_2, relu3_3) from {source}")
    expected = space.features.state_dict()
    check_tensors({key: tensors[key] for key in expected if key in tensors}, expected,
                  f"VGG16 weights from {source}", against="VGG16 up to relu3_3")
    space.features.load_state_dict({key: tensors[key].float() for key in expected}, strict=True)
    return space.requires_grad_(False).eval()


class _FixedBank(FeatureSpace):
    opponent: torch.Tensor  # buffers, declared as in _VGG16
    kernels: torch.Tensor
    rectify: torch.Tensor

    def __init__(self) -> None:
        super().__init__("fixed multi-scale filter bank", LEVEL_WEIGHTS)
        sqrt2, sqrt3, sqrt6 = math.sqrt(2), math.sqrt(3), math.sqrt(6)
        opponent = torch.tensor([[1 / sqrt3, 1 / sqrt3, 1 / sqrt3], [1 / sqrt2, -1 / sqrt2, 0.0],
                                 [1 / sqrt6, 1 / sqrt6, -2 / sqrt6]], dtype=torch.float64)
        y, x = torch.meshgrid(torch.arange(-3.0, 4.0, dtype=torch.float64),
                              torch.arange(-3.0, 4.0, dtype=torch.float64), indexing="ij")
        gauss = torch.exp(-(x**2 + y**2) / 2)  # sigma = 1 px on a 7x7 support
        bank = [gauss / gauss.sum()]
        for angle in (0.0, 0.25 * math.pi, 0.5 * math.pi, 0.75 * math.pi):
            bank.append(-(x * math.cos(angle) + y * math.sin(angle)) * gauss)
        bank.append((x**2 + y**2 - 2) * gauss)  # Laplacian of Gaussian
        for index in range(1, len(bank)):  # band-pass: zero mean, unit L1 norm
            kernel = bank[index] - bank[index].mean()
            bank[index] = kernel / kernel.abs().sum()
        kernels = torch.stack(bank).unsqueeze(1).repeat(3, 1, 1, 1)  # (18, 1, 7, 7), 6 per channel
        self.register_buffer("opponent", opponent.float().view(3, 3, 1, 1), persistent=False)
        self.register_buffer("kernels", kernels.float(), persistent=False)
        self.register_buffer("rectify", (torch.arange(18) % 6 != 0).view(1, 18, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.conv2d(x, self.opponent.to(x.dtype))
        levels = []
        for level in range(3):
            if level:
                x = F.avg_pool2d(x, 2)
            response = F.conv2d(F.pad(x, (3, 3, 3, 3), mode="replicate"),
                                self.kernels.to(x.dtype), groups=3)
            levels.append(torch.where(self.rectify, response.abs(), response))
        return levels  # (B, 18, H, W), (B, 18, H/2, W/2), (B, 18, H/4, W/4)


def fixed_features() -> FeatureSpace:
    """A learning-free stand-in for VGG, identical on every machine (no download needed).

    RGB goes to an orthonormal opponent space: (R+G+B)/√3, (R−G)/√2, (R+G−2B)/√6. Three
    levels like VGG's taps: full, 1/2 and 1/4 resolution (2x2 average pooling). At each
    level, each of the 3 channels meets 6 depthwise 7x7 kernels built from a Gaussian with
    σ = 1 px (replicate padding): the Gaussian itself (sum 1, kept signed, so colour and
    brightness shifts count), its first derivative at 0°, 45°, 90° and 135°, and its
    Laplacian. The five band-pass kernels are shifted to zero mean and scaled to unit L1
    norm, and their responses are rectified by magnitude (abs), a phase-free edge energy.
    Each level is (B, 18, H/2^l, W/2^l); level weights 0.2, 0.3, 0.5; no parameters.
    """
    return _FixedBank().eval()


def load_feature_space(spec: str | None, *, revision: str | None = None, endpoint: str | None = None,
                       cache_dir: str | Path | None = None, local_files_only: bool = False) -> FeatureSpace:
    """None or "fixed", a local .safetensors VGG16, or a Hub id "org/name[:file.safetensors]".

    The keyword options apply to Hub ids only (the file defaults to model.safetensors, as in
    timm/vgg16.tv_in1k). Weights are read with safetensors only, never pickle. Raises `WeightsError`.
    """
    if spec is None or spec == "fixed":
        space = fixed_features()
    else:
        path = Path(spec).expanduser()
        if path.exists() or (spec.endswith(".safetensors") and ":" not in spec):
            if revision is not None:
                raise WeightsError(f"a revision applies to Hub feature weights only, not to {spec}")
            space = vgg16_features(_read_safetensors(path), source=str(path))
        elif match := _HUB_SPEC.fullmatch(spec):
            repo, filename = match["repo"], match["file"] or _HUB_DEFAULT_FILE
            path = download_file(repo, filename, revision=revision, endpoint=endpoint, cache_dir=cache_dir,
                                 local_files_only=local_files_only, if_missing=f"{repo} has no {filename} on "
                                 "the Hub (name the file as org/name:file.safetensors)")
            space = vgg16_features(_read_safetensors(path), source=spec)
        else:
            raise WeightsError(f"no such feature space: {spec} (expected 'fixed', a VGG16 "
                               ".safetensors file, or a Hub id org/name[:file.safetensors])")
    logger.info("SPN feature space: %s", space.name)
    return space


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsError(f"no VGG16 weights file at {path}")
    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"corrupt VGG16 weights file {path}: {exc}") from exc


def _unwrap(model: nn.Module) -> nn.Module:
    """The plain network under DDP (`.module`) and torch.compile (`._orig_mod`) wrappers."""
    model = getattr(model, "_orig_mod", model)
    if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return getattr(model, "_orig_mod", model)


class LaggedModels:
    """N frozen copies of the model that trail it: copy i is refreshed every periods[i] steps by
    neg <- decay*neg + (1-decay)*model (MCLIR: N=4, periods 1000, 500, 200, 100, decay 0.1).

    MCLIR starts each copy as 0.1·(fresh init) + 0.9·model; we start from the model's own
    weights, because training from scratch already makes the early lag large. The copies
    are not an `nn.Module`, so they never reach the optimiser or the model's state dict.
    """

    def __init__(self, model: nn.Module, periods: Sequence[int] = (1000, 500, 200, 100),
                 decay: float = 0.1) -> None:
        if not periods or any(not isinstance(p, int) or isinstance(p, bool) or p < 1 for p in periods):
            raise ValueError(f"periods must be positive integers, at least one. Got {periods!r}")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1). Got {decay!r}")
        self.periods, self.decay = tuple(periods), decay
        self.copies = [copy.deepcopy(_unwrap(model)).eval().requires_grad_(False) for _ in periods]

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """After optimiser step `step` (>= 1), blend the model into the copies due now."""
        if step < 1:
            raise ValueError(f"step must be at least 1. Got {step}")
        current = _unwrap(model).state_dict()
        for period, lagged in zip(self.periods, self.copies):
            if step % period:
                continue
            for name, tensor in lagged.state_dict().items():
                if tensor.is_floating_point():  # decay*neg + (1-decay)*model
                    tensor.lerp_(current[name].to(tensor.dtype), 1.0 - self.decay)
                else:
                    tensor.copy_(current[name])

    @torch.no_grad()
    def outputs(self, *args: Any, **kwargs: Any) -> list[torch.Tensor]:
        """Each copy's forward on the same inputs (no graph: they are the negatives)."""
        return [lagged(*args, **kwargs) for lagged in self.copies]

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Flat "lagged.{i}.{name}" tensors, unshared and contiguous, for a safetensors checkpoint."""
        return {f"lagged.{index}.{name}": tensor.detach().clone(memory_format=torch.contiguous_format)
                for index, lagged in enumerate(self.copies)
                for name, tensor in lagged.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the copies strictly; raises `WeightsError` on missing, extra or misshapen tensors."""
        check_tensors(state, self.state_dict(), "lagged models in the checkpoint", against="the model")
        for index, lagged in enumerate(self.copies):
            prefix = f"lagged.{index}."
            lagged.load_state_dict({key.removeprefix(prefix): value for key, value in state.items()
                                    if key.startswith(prefix)}, strict=True)


def feature_distance(features: FeatureSpace, output_levels: list[torch.Tensor], other: torch.Tensor
                     ) -> torch.Tensor:
    """(B,) weighted feature L1 between precomputed output levels and a detached image, per sample."""
    with torch.no_grad():
        other_levels = features(other.detach())
    total = output_levels[0].new_zeros(output_levels[0].shape[0], dtype=torch.float32)
    for weight, out, ref in zip(features.weights, output_levels, other_levels, strict=True):
        total = total + weight * (out.float() - ref.float()).abs().flatten(1).mean(dim=1)
    return total


class SPNLoss(nn.Module):
    """-λ · mean_i min(d(output, negative_i), bound): push the output away from where the model was.

    d = Σ_l w_l · mean|φ_l(output) − φ_l(negative)| over the feature levels. The clamp
    bounds the term below by −λ·bound (MCLIR subtracts the raw distance), and stops the
    push once an output is far enough from a negative.
    """

    def __init__(self, features: FeatureSpace, weight: float, bound: float = 1.0) -> None:
        super().__init__()
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"weight must be a finite number >= 0. Got {weight!r}")
        if not (math.isfinite(bound) and bound > 0):
            raise ValueError(f"bound must be a finite number > 0. Got {bound!r}")
        self.features, self.weight, self.bound = features, weight, bound

    def distance(self, output_levels: list[torch.Tensor], negative: torch.Tensor) -> torch.Tensor:
        """The weighted feature L1 between precomputed output levels and one (detached) negative."""
        return feature_distance(self.features, output_levels, negative).mean()

    def forward(self, output: torch.Tensor, negatives: list[torch.Tensor]) -> torch.Tensor:
        """The (non-positive) term to ADD to the training loss; exactly 0 when weight is 0."""
        if self.weight == 0:
            return output.new_zeros(())
        if not negatives:
            raise ValueError("SPNLoss needs at least one negative output")
        if any(negative.shape != output.shape for negative in negatives):
            raise ValueError(f"negatives must have the output's shape {tuple(output.shape)}")
        output_levels = self.features(output)
        distances = torch.stack([self.distance(output_levels, negative) for negative in negatives])
        return -self.weight * distances.clamp(max=self.bound).mean()
