"""Labelled examples for the perceiver: clean photo crops, degraded by our generators.

Each example is a pure function of (seed, split, id), like the restorer's training pairs.
It is drawn as a photo of random size and aspect (48 px patches up to 640 px frames, so
the perceiver also works on the restorer's training patches), half of them cut at the
photo's own resolution and half shrunk from a larger region, then one of: left clean,
one kind, two kinds in their physical order (scene, atmosphere, exposure, sensor), or
degraded and then run through a restorer (Perceive-IR's "medium" tier: imperfectly
restored). A share of every case is JPEG-compressed afterwards, clean ones included, so
compression alone never reads as degradation: real clean photos are JPEGs; half the clean
ones also carry a harmless change (a colour grade or light sharpening, `data.harmless_change`),
as edited photos do, so a warm grade is not read as haze nor sharpening as noise. A share of
the frames is cut from procedural scenes (`train/scenes.py`: grass, stems, petals, dew)
instead of photos, so thin bright lines and white dots are also seen clean. A share of the low
light is the mild "dim" look (`degrade.lowlight`, style dim: 85% down to 55% brightness with a
gamma of 1.15 to 1.6), which users call too dark though the restorer's generators start darker,
and a share of the snow the sparse "crisp" look (`degrade.snow`, style crisp: sharp opaque
flakes with no veil or cast), which the restorer's veiled generators never make.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ..degrade import apply_params, degrade, lowlight, snow
from ..perceive.model import PERCEIVED_KINDS, TIERS, PerceiverConfig, views
from .data import harmless_change
from .scenes import SCENE_SHARE

__all__ = [
    "EXAMPLE_FIELDS",
    "PHYSICAL_ORDER",
    "Example",
    "ExampleSet",
    "draw_example",
    "example_from_image",
    "stack_examples",
    "tier_for",
]

PHYSICAL_ORDER = ("rain", "snow", "haze", "blur", "lowlight", "noise")  # how two kinds are chained
MILD = 0.35  # severities below this are the "medium" tier, at and above it "low"
SEVERITY_RANGE = (0.15, 1.0)  # below this our generators are hard to tell from a camera's own flaws
JPEG_SHARE, JPEG_MAX_SEVERITY = 0.3, 0.4  # as the restorer's --jpeg-after: quality ~95 down to ~60
# Shares of each case among training examples (the rest: one kind).
CLEAN_SHARE, MIXED_SHARE, RESTORED_SHARE, SMALL_SHARE = 0.3, 0.2, 0.08, 0.1
KEEP_CHANGES_SHARE = 0.5  # clean examples given a harmless change (grade, sharpening, JPEG): still clean
NATIVE_SHARE = 0.5  # frames cut at the photo's own resolution; the rest are shrunk regions
DIM_SHARE = 0.4  # single-kind low light examples in the mild "dim" style
CRISP_SHARE = 0.35  # single-kind snow examples in the sparse "crisp" style
EXAMPLE_FIELDS = ("view", "crops", "kinds", "kinds_known", "severity", "tier")  # ExampleSet's tensors

Restorer = Callable[[np.ndarray], np.ndarray]


@dataclass
class Example:
    """One labelled photo, already cut into the perceiver's inputs (uint8 to keep sets small)."""

    view: np.ndarray  # (3, V, V) uint8
    crops: np.ndarray  # (K, 3, C, C) uint8
    kinds: np.ndarray  # (len(PERCEIVED_KINDS),) float32 multi-hot
    kinds_known: bool  # False for restored photos: what is left of the damage is not labelled
    severity: float
    tier: int  # index into TIERS


@dataclass
class ExampleSet:
    """A batch-ready stack of examples as tensors."""

    view: torch.Tensor
    crops: torch.Tensor
    kinds: torch.Tensor
    kinds_known: torch.Tensor
    severity: torch.Tensor
    tier: torch.Tensor

    def __len__(self) -> int:
        return len(self.tier)

    def take(self, index: torch.Tensor) -> ExampleSet:
        return ExampleSet(*(getattr(self, name)[index] for name in EXAMPLE_FIELDS))

    def join(self, other: ExampleSet) -> ExampleSet:
        """Both sets in one, this one's examples first."""
        return ExampleSet(*(torch.cat([getattr(self, name), getattr(other, name)]) for name in EXAMPLE_FIELDS))


def tier_for(severity: float, *, restored: bool = False) -> int:
    """Clean -> high, restored or mild -> medium, the rest -> low."""
    if restored:
        return TIERS.index("medium")
    if severity <= 0:
        return TIERS.index("high")
    return TIERS.index("medium" if severity < MILD else "low")


def example_from_image(image: np.ndarray, config: PerceiverConfig, *, kinds: tuple[str, ...] = (),
                       severity: float = 0.0, restored: bool = False) -> Example:
    """(H, W, 3) float32 RGB in [0, 1] plus its labels -> an Example."""
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    with torch.no_grad():
        view, crops = views(tensor, config)
    hot = np.array([kind in kinds for kind in PERCEIVED_KINDS], np.float32)
    return Example(view=_to_uint8(view[0]), crops=_to_uint8(crops[0]), kinds=hot, kinds_known=not restored,
                   severity=0.0 if restored else float(severity), tier=tier_for(severity, restored=restored))


def _to_uint8(tensor: torch.Tensor) -> np.ndarray:
    return np.rint(tensor.clamp(0, 1).numpy() * 255).astype(np.uint8)


def _random_frame(photo: np.ndarray, rng: np.random.Generator, small: bool) -> np.ndarray:
    """A random region of `photo`, resized to a random frame size, as float32 in [0, 1]."""
    if small:  # a restorer training patch
        height = width = int(rng.integers(48, 129))
    else:
        long_side = int(rng.integers(192, 641))
        short_side = round(long_side * rng.uniform(0.56, 1.0))
        height, width = (short_side, long_side) if rng.random() < 0.75 else (long_side, short_side)
    if rng.random() < NATIVE_SHARE:  # pixels as the camera saved them: its own noise, softness and JPEG
        region_h, region_w = min(height, photo.shape[0]), min(width, photo.shape[1])
    else:  # a region shrunk to the frame: a whole scene at a glance, its pixel-level flaws averaged away
        tallest = min(photo.shape[0], photo.shape[1] * height / width)  # the largest region of this aspect
        region_h = round(rng.uniform(min(height, tallest), tallest))
        region_w = min(photo.shape[1], round(region_h * width / height))
    top = int(rng.integers(photo.shape[0] - region_h + 1))
    left = int(rng.integers(photo.shape[1] - region_w + 1))
    frame = cv2.resize(photo[top:top + region_h, left:left + region_w], (width, height),
                       interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        frame = frame[:, ::-1]
    return np.ascontiguousarray(frame).astype(np.float32) / 255


def draw_example(photos: list[np.ndarray], config: PerceiverConfig, seed: int, split: int, index: int,
                 restorer: Restorer | None = None, scenes: Sequence[np.ndarray] = (),
                 clean_share: float = CLEAN_SHARE) -> Example:
    """The training example `index` (uint8 RGB photos in, an Example out); same numbers, same example.

    With `scenes`, a SCENE_SHARE of the frames come from them instead of the photos; `clean_share`
    of the examples are left clean (more for the hard clean photos: train/perceiver_hard.py).
    """
    rng = np.random.default_rng([seed, split, index])
    pool = scenes if len(scenes) and rng.random() < SCENE_SHARE else photos
    photo = pool[int(rng.integers(len(pool)))]
    frame = _random_frame(photo, rng, small=rng.random() < SMALL_SHARE)
    case = rng.random()
    severity = float(rng.uniform(*SEVERITY_RANGE))
    if case < clean_share:
        kinds: tuple[str, ...] = ()
        severity = 0.0
    elif case < clean_share + MIXED_SHARE:
        pair = rng.choice(len(PHYSICAL_ORDER), size=2, replace=False)
        kinds = tuple(PHYSICAL_ORDER[i] for i in sorted(pair))
    else:
        kinds = (PERCEIVED_KINDS[int(rng.integers(len(PERCEIVED_KINDS)))],)
    restored = bool(kinds) and restorer is not None and case > 1 - RESTORED_SHARE
    if kinds == ("lowlight",) and rng.random() < DIM_SHARE:
        image = apply_params("lowlight", frame, lowlight.sample(rng, severity, style="dim"))
    elif kinds == ("snow",) and rng.random() < CRISP_SHARE:
        image = apply_params("snow", frame, snow.sample(rng, severity, style="crisp"))
    else:
        image = degrade(frame, "+".join(kinds), rng, severity) if kinds else frame
    if not kinds and rng.random() < KEEP_CHANGES_SHARE:
        image = harmless_change(image, rng)
    if rng.random() < JPEG_SHARE:
        image = degrade(image, "jpeg", rng, float(rng.uniform(0.0, JPEG_MAX_SEVERITY)))
    if restored and restorer is not None:
        image = restorer(image)
    return example_from_image(image, config, kinds=kinds, severity=severity, restored=restored)


def stack_examples(examples: list[Example]) -> ExampleSet:
    """Examples -> one ExampleSet of tensors (views and crops stay uint8 until a batch is used)."""
    return ExampleSet(
        view=torch.from_numpy(np.stack([e.view for e in examples])),
        crops=torch.from_numpy(np.stack([e.crops for e in examples])),
        kinds=torch.from_numpy(np.stack([e.kinds for e in examples])),
        kinds_known=torch.tensor([e.kinds_known for e in examples]),
        severity=torch.tensor([e.severity for e in examples], dtype=torch.float32),
        tier=torch.tensor([e.tier for e in examples], dtype=torch.long),
    )
