"""Train the perceiver on generated examples; resumable exactly, with validation on held-out photos.

The examples are generated once up front (a few minutes: degrading is the slow part) and
then revisited with flips for many epochs; the network is small enough that this, not the
optimisation, sets the budget on a 2-core CPU. The machinery is the restorer's (train/shared.py,
train/checkpoint.py): the same warm-up cosine schedule, checkpoint packing and run-folder guard.
Each step's batch and flips are a pure function of (seed, step), so a resumed run continues
exactly as an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from ..atomic import atomic_path
from ..cards import front_matter, licence_section, perceiver_card_data
from ..errors import WeightsError
from ..hub import save_model
from ..perceive.inspect import load_perceiver
from ..perceive.model import TIERS, Perceiver, PerceiverConfig
from ..pipeline import Restorer
from ..restore import TileConfig
from .checkpoint import load_checkpoint, optimizer_from_tensors, optimizer_to_tensors, pack, save_checkpoint, unpack
from .data import CleanPhotos
from .perceiver_examples import EXAMPLE_FIELDS, ExampleSet, draw_example, stack_examples
from .perceiver_calibration import Calibration, calibrate_thresholds
from .perceiver_hard import flagged_photos
from .perceiver_scores import Scores, predict, score_examples
from .scenes import scenes as procedural_scenes
from .shared import (
    CALIBRATION,
    CHECKPOINT_NAME,
    HARD_CLEAN,
    TRAIN,
    VALIDATION,
    ResumeMismatchError,
    make_run_dir,
    warmup_cosine,
)

__all__ = ["PerceiverTraining", "perceiver_loss", "train_perceiver"]

log = logging.getLogger(__name__)

SEVERITY_WEIGHT = 2.0  # severity errors are ~0.1 while the cross-entropies are ~0.3: keep them comparable
WARMUP_STEPS = 100
FLOOR_RATIO = 0.02  # the cosine ends at 2% of the peak learning rate
LOG_EVERY = 100  # steps between loss lines
EXAMPLES_VERSION = 6  # bump when samples.py changes what an example looks like: cached examples are redone
HARD_CLEAN_SHARE = 0.6  # of the hard clean photos' examples left clean; the rest degraded as usual


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
    jpeg_downscale: float = 1.0  # JPEG photos shrunk by this on load (CleanPhotos)
    restorer: str | None = "default"  # model whose outputs are the "medium" tier; None: no restored examples
    checkpoint_every: int = 500
    calibration_share: float = 0.1  # training photos kept aside to calibrate the detection thresholds on; 0: none
    calibration_examples: int = 1000
    clean_false_alarms: float = 0.03  # calibration's target: share of clean examples flagged
    width: int = PerceiverConfig.width  # the network's first-layer channels (PerceiverConfig.width)
    sparse_cues: bool = PerceiverConfig.sparse_cues  # full-resolution first layer + spatial max (PerceiverConfig)
    init: str | None = None  # a perceiver to start from (fine-tuning): "default", a folder or a cached Hub id
    hard_clean_examples: int = 0  # extra examples of the training photos `init` flags when clean (perceiver_hard)

    def __post_init__(self) -> None:
        for name in ("examples", "validation_examples", "steps", "batch_size", "checkpoint_every", "width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1. Got {getattr(self, name)}")
        if self.scenes < 0:
            raise ValueError(f"scenes must be 0 or more. Got {self.scenes}")
        if not 0 <= self.scene_grass <= 1:
            raise ValueError(f"scene grass must be in [0, 1]. Got {self.scene_grass}")
        if not 0 <= self.calibration_share < 1 or not 0 <= self.clean_false_alarms < 1:
            raise ValueError("calibration share and clean false alarms must be in [0, 1). "
                             f"Got {self.calibration_share}, {self.clean_false_alarms}")
        if self.calibration_examples < 1:
            raise ValueError(f"calibration_examples must be at least 1. Got {self.calibration_examples}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive. Got {self.learning_rate}")
        if self.hard_clean_examples < 0:
            raise ValueError(f"hard_clean_examples must be 0 or more. Got {self.hard_clean_examples}")
        if self.hard_clean_examples and self.init is None:
            raise ValueError("hard clean examples need a perceiver to find them with: pass --init")


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


def _step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of one step's batch and flips: a pure function of (seed, step)."""
    return torch.Generator().manual_seed(int(np.random.default_rng([seed, 4, step]).integers(2**63)))


def _restorer(spec: str | None) -> Callable[[np.ndarray], np.ndarray] | None:
    if spec is None:
        return None
    # The CPU, untiled: examples are small, and the same on every machine.
    return Restorer.from_pretrained(spec, local_files_only=True, device="cpu", tiles=TileConfig(tile=0))


def generate(photos: list[np.ndarray], config: PerceiverConfig, *, count: int, seed: int, split: int,
             restorer: Callable[[np.ndarray], np.ndarray] | None, scenes: list[np.ndarray] | None = None,
             **draw: Any) -> ExampleSet:
    """`count` examples from `photos` (and `scenes`), logged every 1000; `draw` goes to draw_example."""
    examples = []
    started = time.perf_counter()
    for index in range(count):
        examples.append(draw_example(photos, config, seed, split, index, restorer, scenes or (), **draw))
        if (index + 1) % 1000 == 0 or index + 1 == count:
            log.info("generated %d/%d examples (%.0f s)", index + 1, count, time.perf_counter() - started)
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


def train_perceiver(settings: PerceiverTraining, *, clean_dir: Path | Sequence[Path], run_dir: Path, output_dir: Path,
                    config: PerceiverConfig | None = None, resume: bool = False, command: str = "",
                    stop_after: int | None = None) -> Scores:
    """Generate examples, train, validate on the held-out photos and save the model to `output_dir`.

    Progress goes to the `uhdrestore.train.perceiver` logger. `stop_after` ends the run after
    that many steps, as a kill would (for tests). Returns the final validation scores (also
    written to run_dir/validation.json). Raises InputImageError for missing photos,
    WeightsError for a bad checkpoint or restorer, OutputError for an unwritable run folder.
    """
    make_run_dir(run_dir)
    start_from = _start_from(settings)
    if start_from is not None:  # its architecture, with thresholds left to this run's calibration
        config = dataclasses.replace(start_from.config, detection_thresholds=PerceiverConfig().detection_thresholds)
    config = config or PerceiverConfig(width=settings.width, sparse_cues=settings.sparse_cues)
    torch.manual_seed(settings.seed)
    photos = CleanPhotos(clean_dir, holdout=settings.holdout, seed=settings.seed,
                         jpeg_downscale=settings.jpeg_downscale)
    log.info("clean photos: %s", photos.describe())
    train_photos, calibration_photos = _calibration_split(photos, settings)
    restorer = _restorer(settings.restorer)
    train_set, val_set = _examples(settings, config, photos, train_photos, run_dir, restorer)
    if settings.hard_clean_examples and start_from is not None:
        hard_set = _hard_examples(start_from, settings, config, train_photos, run_dir, restorer)
        train_set = train_set if hard_set is None else train_set.join(hard_set)
    model = Perceiver(config)
    if start_from is not None:
        model.load_state_dict(start_from.state_dict())
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=1e-4)
    start = _resume(run_dir, settings, model, optimizer) if resume else 0
    model.train()
    started, losses = time.perf_counter(), []
    for step in range(start, settings.steps):
        for group in optimizer.param_groups:
            group["lr"] = warmup_cosine(step, settings.steps, peak=settings.learning_rate, warmup=WARMUP_STEPS,
                                        floor_ratio=FLOOR_RATIO)
        rng = _step_generator(settings.seed, step)
        index = torch.randint(len(train_set), (settings.batch_size,), generator=rng)
        loss = perceiver_loss(model, _flip(train_set.take(index), rng))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % LOG_EVERY == 0:
            log.info("step %d/%d loss %.4f (%.1f steps/s)", step + 1, settings.steps, np.mean(losses),
                     (step + 1 - start) / (time.perf_counter() - started))
            losses = []
        if (step + 1) % settings.checkpoint_every == 0 and step + 1 < settings.steps:
            tensors, groups = optimizer_to_tensors(optimizer)
            save_checkpoint(run_dir, {**tensors, **pack(model=model.state_dict())},
                            {"step": step + 1, "param_groups": groups, "settings": asdict(settings)})
        if stop_after is not None and step + 1 >= stop_after:
            raise _Stopped(step + 1)
    model.eval()
    calibration = None
    if calibration_photos[0]:
        calibration = _calibrate(model, settings, config, calibration_photos, run_dir, restorer)
        config = dataclasses.replace(config, detection_thresholds=calibration.thresholds)
        model.config = config
        log.info("%s", calibration.describe())
    scores = score_examples(model, val_set)
    record = {**scores.to_dict(), **({"calibration": asdict(calibration)} if calibration else {})}
    (run_dir / "validation.json").write_text(json.dumps(record, indent=2) + "\n")
    save_model(model, config, output_dir, model_card=_model_card(settings, photos, scores, calibration, command))
    return scores


def _start_from(settings: PerceiverTraining) -> Perceiver | None:
    """The --init perceiver, checked against the architecture in `settings`. Raises WeightsError."""
    if settings.init is None:
        return None
    model = load_perceiver(settings.init, local_files_only=True).module
    if (model.config.width, model.config.sparse_cues) != (settings.width, settings.sparse_cues):
        cues = " --sparse-cues" if model.config.sparse_cues else ""
        raise WeightsError(f"the --init perceiver {settings.init} is --width {model.config.width}{cues}: fine-tune "
                           f"it with the same options")
    log.info("starting from the perceiver %s", settings.init)
    return model


def _hard_examples(start_from: Perceiver, settings: PerceiverTraining, config: PerceiverConfig,
                   train_photos: tuple[list[str], list[np.ndarray]], run_dir: Path,
                   restorer: Callable[[np.ndarray], np.ndarray] | None) -> ExampleSet | None:
    """Examples of the training photos `start_from` flags when clean, mostly left clean (cached in run_dir);
    None when it flags none."""
    names, images = train_photos
    hard = flagged_photos(start_from, images, settings.seed)
    hard_names = [names[i] for i in hard]
    with atomic_path(run_dir / "hard_clean.txt") as temporary:
        temporary.write_text("".join(f"{name}\n" for name in hard_names))
    log.info("hard clean photos: %d of %d training photos flagged by %s (run_dir/hard_clean.txt)",
             len(hard), len(names), settings.init)
    if not hard:
        return None
    return _cached_examples(
        run_dir / "examples-hard-clean.safetensors",
        {**_example_key(settings, config), "photos": hard_names, "count": settings.hard_clean_examples,
         "clean_share": HARD_CLEAN_SHARE},
        lambda: generate([images[i] for i in hard], config, count=settings.hard_clean_examples, seed=settings.seed,
                         split=HARD_CLEAN, restorer=restorer, clean_share=HARD_CLEAN_SHARE))


def _calibration_split(photos: CleanPhotos, settings: PerceiverTraining
                       ) -> tuple[tuple[list[str], list[np.ndarray]], tuple[list[str], list[np.ndarray]]]:
    """(names, photos) to train on and to calibrate on: a seeded calibration_share of the training photos.

    None are kept aside when that would leave no photo on either side (thresholds stay 0.5).
    """
    count = round(settings.calibration_share * len(photos.train))
    if count == 0 or count >= len(photos.train):
        if settings.calibration_share:
            log.warning("too few training photos to keep %.0f%% for calibration: thresholds stay 0.5",
                        100 * settings.calibration_share)
        return (photos.train_names, photos.train), ([], [])
    aside = set(np.random.default_rng([settings.seed, 7]).permutation(len(photos.train))[:count].tolist())

    def pick(indices: list[int]) -> tuple[list[str], list[np.ndarray]]:
        return [photos.train_names[i] for i in indices], [photos.train[i] for i in indices]
    return pick([i for i in range(len(photos.train)) if i not in aside]), pick(sorted(aside))


def _calibrate(model: Perceiver, settings: PerceiverTraining, config: PerceiverConfig,
               photos: tuple[list[str], list[np.ndarray]], run_dir: Path,
               restorer: Callable[[np.ndarray], np.ndarray] | None) -> Calibration:
    """Thresholds from the model's reading of examples of the calibration photos (cached in run_dir)."""
    names, images = photos
    examples = _cached_examples(
        run_dir / "examples-calibration.safetensors",
        {**_example_key(settings, config), "photos": names, "count": settings.calibration_examples},
        lambda: generate(images, config, count=settings.calibration_examples, seed=settings.seed, split=CALIBRATION,
                         restorer=restorer))
    known = examples.kinds_known.numpy()
    predictions = predict(model, examples)
    return calibrate_thresholds(predictions.kind_probabilities[known], examples.kinds.numpy()[known] > 0.5,
                                examples.tier.numpy()[known] == TIERS.index("high"),
                                target=settings.clean_false_alarms)


def _example_key(settings: PerceiverTraining, config: PerceiverConfig) -> dict[str, Any]:
    """The settings every cached example set depends on."""
    return {"seed": settings.seed, "restorer": settings.restorer, "view": config.view_size, "crop": config.crop_size,
            "grid": [config.crop_rows, config.crop_cols], "version": EXAMPLES_VERSION}


def _examples(settings: PerceiverTraining, config: PerceiverConfig, photos: CleanPhotos,
              train_photos: tuple[list[str], list[np.ndarray]], run_dir: Path,
              restorer: Callable[[np.ndarray], np.ndarray] | None) -> tuple[ExampleSet, ExampleSet]:
    """The training and validation examples, generated once and kept in the run folder."""
    key = _example_key(settings, config)
    train_set = _cached_examples(
        run_dir / "examples-train.safetensors",
        {**key, "photos": train_photos[0], "count": settings.examples, "scenes": settings.scenes,
         **({"scene_grass": settings.scene_grass} if settings.scene_grass else {})},
        lambda: generate(train_photos[1], config, count=settings.examples, seed=settings.seed, split=TRAIN,
                         restorer=restorer,
                         scenes=procedural_scenes(settings.scenes, settings.seed, grass=settings.scene_grass)))
    val_set = _cached_examples(
        run_dir / "examples-validation.safetensors",
        {**key, "photos": photos.val_names, "count": settings.validation_examples},
        lambda: generate(photos.val, config, count=settings.validation_examples, seed=settings.seed,
                         split=VALIDATION, restorer=restorer))
    return train_set, val_set


def _resume(run_dir: Path, settings: PerceiverTraining, model: Perceiver, optimizer: torch.optim.Optimizer) -> int:
    """Load the run folder's checkpoint; returns the step it was written at.

    Raises ResumeMismatchError when it was made with other settings (checkpoints older than
    the settings record are taken as they are).
    """
    tensors, state = load_checkpoint(run_dir / CHECKPOINT_NAME)
    saved = state.get("settings")
    current = json.loads(json.dumps(asdict(settings)))
    defaults = json.loads(json.dumps(asdict(PerceiverTraining())))
    saved = None if saved is None else {**defaults, **saved}  # a field added later: its default then
    if saved is not None and saved != current:
        changed = sorted(key for key in current if saved.get(key) != current[key])
        raise ResumeMismatchError(f"cannot resume {run_dir / CHECKPOINT_NAME}: it was made with other settings "
                                  f"({', '.join(changed)}); run the same command with --resume")
    model.load_state_dict(unpack(tensors, "model"))
    optimizer_from_tensors(optimizer, tensors, state["param_groups"])
    log.info("resumed at step %d", state["step"])
    return state["step"]


class _Stopped(Exception):
    """Raised by `stop_after`: the run ends as if killed right after that step."""


def _model_card(settings: PerceiverTraining, photos: CleanPhotos, scores: Scores, calibration: Calibration | None,
                command: str) -> str:
    f1 = ", ".join(f"{kind} {value:.3f}" for kind, value in scores.kind_f1.items())
    grass = f", {settings.scene_grass:.0%} of them dense grass" if settings.scene_grass else ""
    data = perceiver_card_data(f1={f"validation, {scores.examples} generated examples of held-out photos":
                                   dict(scores.kind_f1)})
    return front_matter(data) + "\n".join([
        "# uhdrestore degradation perceiver", "",
        "Detects rain, haze, noise, blur, snow and low light in a photo, with a severity and a quality tier",
        "(low, medium, high = clean). Use: `uhdrestore inspect PHOTO --perceiver THIS_FOLDER`.", "",
        f"- Command: `{command or 'uhdrestore train-perceiver'}`",
        (f"- Clean photos: {photos.describe()}; beside the training photos, {settings.scenes} procedural "
         f"scenes (train/scenes.py{grass})."),
        f"- Settings: {json.dumps(asdict(settings))}",
        (f"- Validation ({scores.examples} generated examples of the held-out photos): per-kind F1 {f1}; "
         f"clean vs degraded accuracy {scores.clean_accuracy:.3f}; tier accuracy {scores.tier_accuracy:.3f}."),
        (f"- Calibration: {calibration.describe()}." if calibration else
         "- Calibration: none (detection threshold 0.5 for every kind)."),
        "- Trained on synthetic degradations only; real photos can differ.", "",
        *licence_section(how_to_set="set `license:` in this card's front matter before sharing it"), ""])
