"""Train the perceiver on generated examples; resumable, with validation on held-out photos.

The examples are generated once up front (a few minutes: degrading is the slow part) and
then revisited with flips for many epochs; the network is small enough that this, not the
optimisation, sets the budget on a 2-core CPU.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from ..atomic import atomic_path
from ..data import CleanPhotos
from ..errors import OutputError
from ..hub import load_model, save_model
from ..restore import TileConfig, restore_image
from ..runtime import resolve_runtime
from ..scenes import scenes as procedural_scenes
from ..train.checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    optimizer_from_tensors,
    optimizer_to_tensors,
    save_checkpoint,
)
from .evaluate import Scores, score_examples
from .model import Perceiver, PerceiverConfig
from .samples import ExampleSet, draw_example, stack_examples

__all__ = ["PerceiverTraining", "perceiver_loss", "train_perceiver"]

TRAIN_SPLIT, VALIDATION_SPLIT = 0, 1
SEVERITY_WEIGHT = 2.0  # severity errors are ~0.1 while the cross-entropies are ~0.3: keep them comparable
WARMUP_STEPS = 100
EXAMPLES_VERSION = 3  # bump when samples.py changes what an example looks like: cached examples are redone
EXAMPLE_FIELDS = ("view", "crops", "kinds", "kinds_known", "severity", "tier")


@dataclass(frozen=True)
class PerceiverTraining:
    """How a perceiver is trained (stored in the run folder and the model card)."""

    examples: int = 8000
    validation_examples: int = 800
    scenes: int = 24  # procedural clean scenes drawn beside the training photos (not the validation ones)
    scene_grass: float = 0.0  # share of those scenes that are dense, pale grass
    steps: int = 3000
    batch_size: int = 64
    learning_rate: float = 2e-3
    seed: int = 0
    holdout: tuple[str, ...] = ()
    restorer: str | None = "default"  # model whose outputs are the "medium" tier; None: no restored examples
    checkpoint_every: int = 500

    def __post_init__(self) -> None:
        for name in ("examples", "validation_examples", "steps", "batch_size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1. Got {getattr(self, name)}")
        if self.scenes < 0:
            raise ValueError(f"scenes must be 0 or more. Got {self.scenes}")
        if not 0 <= self.scene_grass <= 1:
            raise ValueError(f"scene grass must be in [0, 1]. Got {self.scene_grass}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive. Got {self.learning_rate}")


def perceiver_loss(model: Perceiver, batch: ExampleSet) -> torch.Tensor:
    """Kinds (binary cross-entropy, several may be present) + tier (cross-entropy) + severity (L1).

    Restored examples carry no kind or severity label: only their tier counts.
    """
    output = model(batch.view.float() / 255, batch.crops.float() / 255)
    known = batch.kinds_known
    tier = F.cross_entropy(output.tier_logits, batch.tier)
    if not bool(known.any()):
        return tier
    kinds = F.binary_cross_entropy_with_logits(output.kind_logits[known], batch.kinds[known])
    severity = F.l1_loss(output.severity[known], batch.severity[known])
    return kinds + tier + SEVERITY_WEIGHT * severity


def _flip(batch: ExampleSet, rng: torch.Generator) -> ExampleSet:
    """Mirror a random half of the batch left-right (views and crops alike)."""
    flip = torch.rand(len(batch), generator=rng) < 0.5
    view, crops = batch.view.clone(), batch.crops.clone()
    view[flip] = view[flip].flip(-1)
    crops[flip] = crops[flip].flip(-1)
    return ExampleSet(view, crops, batch.kinds, batch.kinds_known, batch.severity, batch.tier)


def _learning_rate(settings: PerceiverTraining, step: int) -> float:
    if step < WARMUP_STEPS:
        return settings.learning_rate * (step + 1) / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / max(1, settings.steps - WARMUP_STEPS)
    return settings.learning_rate * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))


def _restorer(spec: str | None) -> Callable[[np.ndarray], np.ndarray] | None:
    if spec is None:
        return None
    loaded = load_model(spec, local_files_only=True)
    runtime = resolve_runtime("cpu")

    def restore(image: np.ndarray) -> np.ndarray:
        return restore_image(image, loaded.module, runtime, TileConfig(tile=0)).image

    return restore


def generate(photos: list[np.ndarray], config: PerceiverConfig, *, count: int, seed: int, split: int,
             restorer: Callable[[np.ndarray], np.ndarray] | None, log: Callable[[str], None],
             scenes: list[np.ndarray] | None = None) -> ExampleSet:
    """`count` examples from `photos` (and `scenes`), logged every 1000."""
    examples = []
    started = time.perf_counter()
    for index in range(count):
        examples.append(draw_example(photos, config, seed, split, index, restorer, scenes or ()))
        if (index + 1) % 1000 == 0 or index + 1 == count:
            log(f"generated {index + 1}/{count} examples ({time.perf_counter() - started:.0f} s)")
    return stack_examples(examples)


def _cached_examples(path: Path, key: dict[str, Any], make: Callable[[], ExampleSet]) -> ExampleSet:
    """Generated examples, kept in the run folder: a resumed or repeated run skips the generating.

    `key` (the settings that decide the examples) is stored beside them; a mismatch regenerates.
    """
    stamp = json.dumps(key, sort_keys=True)
    if path.is_file():
        with safe_open(path, framework="pt") as handle:
            if (handle.metadata() or {}).get("key") == stamp:
                return ExampleSet(**{name: handle.get_tensor(name) for name in EXAMPLE_FIELDS})
    examples = make()
    with atomic_path(path) as temporary:
        save_file({name: getattr(examples, name).contiguous() for name in EXAMPLE_FIELDS}, temporary,
                  metadata={"key": stamp})
    return examples


def train_perceiver(settings: PerceiverTraining, *, clean_dir: Path, run_dir: Path, output_dir: Path,
                    config: PerceiverConfig | None = None, resume: bool = False, command: str = "",
                    log: Callable[[str], None] = print) -> Scores:
    """Generate examples, train, validate on the held-out photos and save the model to `output_dir`.

    Returns the final validation scores (also written to run_dir/validation.json).
    """
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create run folder {run_dir}: {error.strerror}") from error
    config = config or PerceiverConfig()
    torch.manual_seed(settings.seed)
    photos = CleanPhotos(clean_dir, holdout=settings.holdout, seed=settings.seed)
    log(f"validation photos: {', '.join(photos.val_names)}")
    restorer = _restorer(settings.restorer)
    key = {"seed": settings.seed, "restorer": settings.restorer, "view": config.view_size, "crop": config.crop_size,
           "grid": [config.crop_rows, config.crop_cols], "version": EXAMPLES_VERSION}
    train_set = _cached_examples(
        run_dir / "examples-train.safetensors",
        {**key, "photos": photos.train_names, "count": settings.examples, "scenes": settings.scenes,
         **({"scene_grass": settings.scene_grass} if settings.scene_grass else {})},
        lambda: generate(photos.train, config, count=settings.examples, seed=settings.seed, split=TRAIN_SPLIT,
                         restorer=restorer, log=log,
                         scenes=procedural_scenes(settings.scenes, settings.seed, grass=settings.scene_grass)))
    val_set = _cached_examples(
        run_dir / "examples-validation.safetensors",
        {**key, "photos": photos.val_names, "count": settings.validation_examples},
        lambda: generate(photos.val, config, count=settings.validation_examples, seed=settings.seed,
                         split=VALIDATION_SPLIT, restorer=restorer, log=log))
    model = Perceiver(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=1e-4)
    start = 0
    if resume:
        tensors, state = load_checkpoint(run_dir / CHECKPOINT_NAME)
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        optimizer_from_tensors(optimizer, tensors, state["param_groups"])
        start = state["step"]
        log(f"resumed at step {start}")
    rng = torch.Generator().manual_seed(settings.seed + start)
    model.train()
    started, losses = time.perf_counter(), []
    for step in range(start, settings.steps):
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(settings, step)
        index = torch.randint(len(train_set), (settings.batch_size,), generator=rng)
        loss = perceiver_loss(model, _flip(train_set.take(index), rng))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % 100 == 0:
            log(f"step {step + 1}/{settings.steps} loss {np.mean(losses):.4f} "
                f"({(step + 1 - start) / (time.perf_counter() - started):.1f} steps/s)")
            losses = []
        if (step + 1) % settings.checkpoint_every == 0 and step + 1 < settings.steps:
            tensors, groups = optimizer_to_tensors(optimizer)
            tensors.update({f"model.{k}": v for k, v in model.state_dict().items()})
            save_checkpoint(run_dir, tensors, {"step": step + 1, "param_groups": groups})
    model.eval()
    scores = score_examples(model, val_set)
    (run_dir / "validation.json").write_text(json.dumps(scores.to_dict(), indent=2) + "\n")
    save_model(model, config, output_dir, model_card=_model_card(settings, photos, scores, command))
    return scores


def _model_card(settings: PerceiverTraining, photos: CleanPhotos, scores: Scores, command: str) -> str:
    f1 = ", ".join(f"{kind} {value:.3f}" for kind, value in scores.kind_f1.items())
    grass = f", {settings.scene_grass:.0%} of them dense grass" if settings.scene_grass else ""
    return "\n".join([
        "# uhdrestore degradation perceiver", "",
        "Detects rain, haze, noise, blur, snow and low light in a photo, with a severity and a quality tier",
        "(low, medium, high = clean). Use: `uhdrestore inspect PHOTO --perceiver THIS_FOLDER`.", "",
        f"- Command: `{command or 'uhdrestore train-perceiver'}`",
        (f"- Training photos: {', '.join(photos.train_names)}, and {settings.scenes} procedural scenes "
         f"(uhdrestore.scenes{grass}); validation photos: {', '.join(photos.val_names)}."),
        f"- Settings: {json.dumps(asdict(settings))}",
        (f"- Validation ({scores.examples} generated examples of the held-out photos): per-kind F1 {f1}; "
         f"clean vs degraded accuracy {scores.clean_accuracy:.3f}; tier accuracy {scores.tier_accuracy:.3f}."),
        "- Trained on synthetic degradations only; real photos can differ.", ""])




