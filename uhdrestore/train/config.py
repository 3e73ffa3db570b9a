"""Training settings: nested frozen dataclasses, each default defined once (the CLI reads them here).

A `TrainConfig` is everything that decides what a run computes (not where it writes):
the stages, the network, and four sections: `data` (what a sample looks like), `review`
(the schedule and review learning), `optim` (steps, batch, learning rate, EMA) and
`losses` (the reconstruction loss and the auxiliary terms). It round-trips through JSON
(`to_dict` / `from_dict`) next to the weights in every checkpoint; `from_dict` also reads
the flat 40-field layout that checkpoints written before the sections existed carry.

Words used throughout `train/`: a *step* is one optimizer update, counted over the whole
run; a *stage step* counts within the current stage (0 .. steps_per_stage). Files keep
their older key: "iteration" in metrics.jsonl and matrix.json is the (global) step.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # imported late: the CLI reads the defaults here without loading torch
    import numpy as np

    from ..models import ModelConfig

    SMOKE_MODEL: ModelConfig  # served by the module's __getattr__, built on first use

__all__ = ["DataConfig", "LossConfig", "OptimConfig", "ReviewConfig", "SMOKE_MODEL", "StageConfig", "TrainConfig",
           "FLAT_FIELDS"]

Schedule = Literal["review", "sequential", "joint"]
Order = Literal["given", "auto", "perceived"]

LOSS_KINDS = ("charbonnier", "psnr")  # the keys of train/losses.py's LOSSES
# The smallest network worth training (--smoke, which must finish in well under a minute): ModelConfig(**SMOKE).
SMOKE: dict[str, Any] = dict(detail_width=8, body_width=16, body_blocks=1, body_iterations=1, context_width=8)


def _default_model() -> ModelConfig:
    from ..models.config import ModelConfig

    return ModelConfig()


def __getattr__(name: str) -> Any:
    if name == "SMOKE_MODEL":
        from ..models.config import ModelConfig

        return ModelConfig(**SMOKE)
    raise AttributeError(name)


@dataclass(frozen=True)
class StageConfig:
    """One stage: a degradation synthesised from clean photos, or a paired dataset.

    Paired data (`train/pairs.py`): `path` is a folder with lq/ + gt/ (or input/target,
    degraded/clean, low/high) sub-folders, a pairs CSV, or "LQ:GT", two folders or two
    file-name templates with `{id}` (checked here, so a bad template is a usage error).
    """

    name: str  # the task name shown in reports: "rain", "rain+haze", or the NAME of NAME=PATH
    kind: str  # degradation spec for synthesis ("rain", "rain+haze"); the task name for paired data
    path: str | None = None  # paired data (see above); None: synthesise from clean photos
    weight: int = 1  # its share of a joint batch, relative to the other stages ("snow:crisp*3": three times)

    def __post_init__(self) -> None:
        _at_least_one(self, "weight")
        if self.path is not None:
            from .pairs import parse_pairs_spec

            parse_pairs_spec(self.path)  # raises ValueError for a malformed LQ:GT or template

    @classmethod
    def parse(cls, spec: str) -> StageConfig:
        """"rain" -> synthetic rain; "rain=data/UHD-Rain" -> the paired dataset there; a trailing "*3"
        (either form) weighs the stage three times in a joint batch."""
        spec, weight = _weighted(spec.strip())
        if not spec:
            raise ValueError("empty stage in --stages")
        if "=" in spec:
            name, path = (part.strip() for part in spec.split("=", 1))
            if not name or not path:
                raise ValueError(f"a paired stage is NAME=PATH. Got {spec!r}")
            return cls(name=name, kind=name, path=path, weight=weight)
        from ..degrade import parse_kind

        parse_kind(spec)  # raises ValueError naming the known kinds
        return cls(name=spec, kind=spec, weight=weight)


def _weighted(spec: str) -> tuple[str, int]:
    """"snow:crisp*3" -> ("snow:crisp", 3); a spec without a "*N" suffix weighs 1."""
    match = re.fullmatch(r"(.*?)\s*\*\s*(\d+)", spec)
    if match is not None:
        return match.group(1), int(match.group(2))
    if "*" in spec and "=" not in spec:  # a paired stage's path may hold a "*" of its own
        raise ValueError(f"a stage's weight is a whole number after '*', as in snow:crisp*3. Got {spec!r}")
    return spec, 1


def _at_least_one(section: object, *names: str) -> None:
    for name in names:
        if getattr(section, name) < 1:
            raise ValueError(f"{name} must be at least 1. Got {getattr(section, name)}")


def _within(name: str, value: float, low: float, high: float, *, open_high: bool = False) -> None:
    if not (low <= value < high if open_high else low <= value <= high):
        raise ValueError(f"{name.replace('_', ' ')} must be in [{low:g}, {high:g}{')' if open_high else ']'}. "
                         f"Got {value}")


@dataclass(frozen=True)
class DataConfig:
    """What one training sample looks like (train/data.py makes them)."""

    patch_size: int = 96  # training crops are patch_size x patch_size
    view_size: int = 0  # patches are cut from the centre of a degraded view this big; the network's
    # whole-image context is read from the view, as at inference it is read from the whole photo (0: patch_size)
    view_max: int = 0  # views are drawn log-uniformly between view_size and this (0: always view_size), so the
    # context learns crops of 256 or 512 pixels as well as small ones; the patch keeps its scale
    pool_size: int = 0  # training samples per stage, revisited each epoch so loss fluctuation is measurable
    # (0: steps_per_stage x batch_size / 4, so each is seen about 4 times)
    val_size: int = 16  # fixed validation crops per stage
    val_patch_size: int = 192
    severity: tuple[float, float] = (0.1, 1.0)  # synthetic severities are drawn from this range
    clean_fraction: float = 0.05  # share of synthetic samples left undegraded: clean photos must stay clean
    min_scale: float = 0.5  # training crops show the photo at a log-uniform scale in [min_scale, 1]
    scenes: int = 0  # procedural clean scenes (train/scenes.py) degraded beside the photos; 0: photos only
    scene_grass: float = 0.0  # share of those scenes that are dense, pale grass
    jpeg_after: float = 0.0  # share of degraded synthetic samples JPEG-compressed afterwards (q ~95-60)
    keep_changes: float = 0.0  # share of the clean samples first given a harmless change (JPEG, colour grade,
    # sharpening; data.harmless_change) that the target keeps too: do no harm to what is not damage
    jpeg_downscale: float = 1.0  # JPEG clean photos are shrunk by this factor as they load (data.CleanPhotos)
    holdout: tuple[str, ...] = ()  # clean photos kept for validation (names); empty: chosen by seed
    hard_clean: tuple[str, ...] = ()  # training photos a model damaged when clean (names): shown whole, clean,
    # as clean_fraction x HARD_CLEAN_SHARE of the samples, beside the usual clean ones (data.SyntheticStage)

    def __post_init__(self) -> None:
        _at_least_one(self, "patch_size", "val_size", "val_patch_size")
        if self.pool_size < 0:
            raise ValueError(f"pool_size must be 0 (automatic) or more. Got {self.pool_size}")
        if self.patch_size % 8 or self.val_patch_size % 8 or self.view_size % 8 or self.view_max % 8:
            raise ValueError("patch and view sizes must be multiples of 8")
        if self.view_size and self.view_size < self.patch_size:
            raise ValueError(f"view size must be 0 or at least the patch size. Got {self.view_size}")
        if self.view_max and self.view_max < self.train_view:
            raise ValueError(f"view max must be 0 or at least the view size. Got {self.view_max}")
        _within("clean_fraction", self.clean_fraction, 0, 1, open_high=True)
        if not 0 < self.min_scale <= 1:
            raise ValueError(f"min scale must be in (0, 1]. Got {self.min_scale}")
        if self.scenes < 0:
            raise ValueError(f"scenes must be 0 or more. Got {self.scenes}")
        for name in ("scene_grass", "jpeg_after", "keep_changes"):
            _within(name, getattr(self, name), 0, 1)
        _within("jpeg_downscale", self.jpeg_downscale, 1, 8)
        low, high = self.severity
        if not 0 <= low <= high <= 1:
            raise ValueError(f"severity range must satisfy 0 <= low <= high <= 1. Got {self.severity}")

    @property
    def train_view(self) -> int:
        """Side of the degraded view each training patch is cut from (the smallest, with view_max)."""
        return self.view_size or self.patch_size

    @property
    def with_views(self) -> bool:
        """Whether patches are cut from larger views (whose thumbnails the context then reads)."""
        return max(self.train_view, self.view_max) > self.patch_size

    def view_side(self, rng: np.random.Generator) -> int:
        """A training view's side: train_view, or log-uniform in [train_view, view_max], a multiple of 8."""
        import numpy as np

        if self.view_max <= self.train_view:
            return self.train_view
        side = np.exp(rng.uniform(np.log(self.train_view), np.log(self.view_max)))
        return int(round(side / 8)) * 8


@dataclass(frozen=True)
class ReviewConfig:
    """The schedule, and review learning's hard-sample memory (train/review.py)."""

    schedule: Schedule = "review"  # review: replay; sequential: no replay; joint: every stage in every batch
    order: Order = "given"  # auto: mildest degradation (highest input PSNR) first; perceived: by the perceiver
    ratio: float = 0.3  # share of each batch replayed from the review memory in the 2nd stage
    decay: float = 0.5  # the share is multiplied by this at every later stage
    memory_size: int = 256  # hard samples kept per finished stage

    def __post_init__(self) -> None:
        if self.schedule not in ("review", "sequential", "joint"):
            raise ValueError(f"schedule must be review, sequential or joint. Got {self.schedule!r}")
        if self.order not in ("given", "auto", "perceived"):
            raise ValueError(f"order must be given, auto or perceived. Got {self.order!r}")
        _at_least_one(self, "memory_size")
        if not 0 <= self.ratio < 1 or not 0 <= self.decay <= 1:
            raise ValueError("review ratio must be in [0, 1) and review decay in [0, 1]")

    def share(self, stage_index: int) -> float:
        """Share of a batch replayed from memory while training stage `stage_index` (0-based)."""
        if self.schedule != "review" or stage_index == 0:
            return 0.0
        return self.ratio * self.decay ** (stage_index - 1)


@dataclass(frozen=True)
class OptimConfig:
    """Steps, batch, AdamW and its learning-rate schedule, EMA."""

    steps_per_stage: int = 2000  # joint training gets the same total (CLI: --iterations)
    batch_size: int = 8  # global, split across DDP ranks
    lr: float = 2e-3  # peak learning rate of AdamW (small network: a high rate is fine)
    stage_lr_decay: float = 1.0  # stage t (0-based) peaks at lr * stage_lr_decay^t: later stages disturb less
    weight_decay: float = 1e-4
    warmup: int = 100  # steps of linear warm-up at the start of every stage
    min_lr_ratio: float = 0.05  # cosine decays to lr * min_lr_ratio by the end of each stage
    grad_clip: float = 1.0
    ema_decay: float = 0.999  # EMA weights are validated and exported

    def __post_init__(self) -> None:
        _at_least_one(self, "steps_per_stage", "batch_size")
        if not 0 < self.stage_lr_decay <= 1:
            raise ValueError(f"stage lr decay must be in (0, 1]. Got {self.stage_lr_decay}")


@dataclass(frozen=True)
class LossConfig:
    """The reconstruction loss and the auxiliary terms (train/objectives.py)."""

    kind: str = "charbonnier"  # "charbonnier" (L1-like) or "psnr" (per-sample log MSE, train/losses.py)
    fft_weight: float = 0.05  # weight of the L1 loss between FFT amplitudes (sharpens edges)
    spn_weight: float = 0.0  # MCLIR's lagged-model contrastive term; 0 = off
    spn_features: str | None = None  # VGG16 safetensors file or Hub id; None: the fixed feature space
    quality_weight: float = 0.0  # weight of the perceiver-driven quality-aware term (train/quality.py); 0 = off
    clean_weight: float = 1.0  # loss weight of samples whose target is their input (left clean): do no harm

    def __post_init__(self) -> None:
        if self.kind not in LOSS_KINDS:
            raise ValueError(f"loss must be {' or '.join(LOSS_KINDS)}. Got {self.kind!r}")
        if self.spn_weight < 0:
            raise ValueError(f"spn weight must be >= 0. Got {self.spn_weight}")
        if self.quality_weight < 0:
            raise ValueError(f"quality loss weight must be >= 0. Got {self.quality_weight}")
        if self.clean_weight <= 0:
            raise ValueError(f"clean weight must be > 0. Got {self.clean_weight}")


# The flat layout of checkpoints written before the sections: flat name -> (section, field).
FLAT_FIELDS: dict[str, tuple[str, str]] = {
    **{name: ("data", name) for name in (
        "patch_size", "view_size", "view_max", "pool_size", "val_size", "val_patch_size", "severity",
        "clean_fraction", "min_scale", "scenes", "scene_grass", "jpeg_after", "keep_changes", "jpeg_downscale",
        "holdout")},
    "schedule": ("review", "schedule"), "order": ("review", "order"), "review_ratio": ("review", "ratio"),
    "review_decay": ("review", "decay"), "memory_size": ("review", "memory_size"),
    "iterations": ("optim", "steps_per_stage"),
    **{name: ("optim", name) for name in (
        "batch_size", "lr", "stage_lr_decay", "weight_decay", "warmup", "min_lr_ratio", "grad_clip", "ema_decay")},
    "loss": ("losses", "kind"), "fft_weight": ("losses", "fft_weight"), "spn_weight": ("losses", "spn_weight"),
    "spn_features": ("losses", "spn_features"), "quality_loss": ("losses", "quality_weight"),
}
SECTIONS = {"data": DataConfig, "review": ReviewConfig, "optim": OptimConfig, "losses": LossConfig}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run computes and states about it (not where it writes)."""

    stages: tuple[StageConfig, ...]
    model: ModelConfig = field(default_factory=_default_model)
    data: DataConfig = field(default_factory=DataConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    losses: LossConfig = field(default_factory=LossConfig)
    perceiver: str = "default"  # the perceiver that --quality-loss and --order perceived ask (a model spec)
    init: str | None = None  # fine-tune: start from this model's weights (a model spec), not a fresh network
    # The weights' licence for the model card, an SPDX id; None: none claimed (it follows the training data's)
    license: str | None = None
    val_every: int = 250  # steps between validations
    checkpoint_every: int = 250  # steps between checkpoints (one is also written at every stage end)
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("at least one stage is needed")
        names = [stage.name for stage in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique. Got {', '.join(names)}")
        if self.schedule != "joint" and any(stage.weight != 1 for stage in self.stages):
            raise ValueError("stage weights (as in snow:crisp*3) apply to --schedule joint only")
        _at_least_one(self, "val_every", "checkpoint_every")
        if self.license is not None:  # as the Hub spells it (cc-by-4.0), so a resume compares like with like
            from ..cards import check_license

            object.__setattr__(self, "license", check_license(self.license))
        if not self.data.pool_size:  # resolved here, so the stored config holds the number used
            pool = max(self.optim.steps_per_stage * self.optim.batch_size // 4, self.optim.batch_size)
            object.__setattr__(self, "data", dataclasses.replace(self.data, pool_size=pool))

    @property
    def schedule(self) -> str:
        return self.review.schedule

    @property
    def total_steps(self) -> int:
        """Optimizer steps of the whole run: every schedule gets steps_per_stage per stage."""
        return self.optim.steps_per_stage * len(self.stages)

    def peak_lr(self, stage_index: int) -> float:
        """Peak learning rate of stage `stage_index` (joint training is one stage)."""
        optim = self.optim
        return optim.lr if self.schedule == "joint" else optim.lr * optim.stage_lr_decay ** stage_index

    def replace(self, **sections: Any) -> TrainConfig:
        """A copy with fields changed: top-level ones by name, section fields as "section.field"."""
        top = {key: value for key, value in sections.items() if "." not in key}
        for key, value in sections.items():
            if "." in key:
                section, name = key.split(".", 1)
                top[section] = dataclasses.replace(top.get(section, getattr(self, section)), **{name: value})
        return dataclasses.replace(self, **top)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (tuples become lists)."""
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of to_dict; also reads the flat layout of older checkpoints (missing fields: defaults).

        Raises ValueError for unknown keys or invalid values.
        """
        data = dict(data)
        if not any(isinstance(data.get(name), dict) for name in SECTIONS):
            data = _nest_flat(data)
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
        data["stages"] = tuple(StageConfig(**stage) for stage in data["stages"])
        if "model" in data:
            from ..models.config import ModelConfig

            data["model"] = ModelConfig.from_dict(data["model"])
        for name, section in SECTIONS.items():
            values = dict(data.get(name, {}))
            unknown = set(values) - {f.name for f in dataclasses.fields(section)}
            if unknown:
                raise ValueError(f"unknown {name} settings: {', '.join(sorted(unknown))}")
            for key in ("severity", "holdout", "hard_clean"):
                if key in values:
                    values[key] = tuple(values[key])
            data[name] = section(**values)
        return cls(**data)

    def differences(self, other: TrainConfig) -> list[str]:
        """Names ("optim.lr", "stages") of the settings that differ between two configs."""
        mine, theirs = _flatten(self.to_dict()), _flatten(other.to_dict())
        return sorted(key for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key))


def _nest_flat(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {name: {} for name in SECTIONS}
    for key, value in flat.items():
        if key in FLAT_FIELDS:
            section, name = FLAT_FIELDS[key]
            nested[section][name] = value
        else:
            nested[key] = value
    return nested


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key != "stages":
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out
