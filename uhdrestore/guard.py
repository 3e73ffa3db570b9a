"""Do no harm (`--guard`): what the perceiver's reading of a photo lets the restorer change.

A photo the perceiver calls clean is left as it was. A photo in which it finds none of the kinds
whose removal changes a whole photo's tone and colour (haze and low light, and the veils and streak
energy of rain and snow) keeps its own tone and colour: the restorer's fine detail is kept, its
low-frequency change undone. The default model's worst losses (v5's, when the rules were made; v21's
are the same kind) are such global changes where none was called for: a pale interior given a dark
cast under blur (-7 dB), a noisy night photo's shadows lifted (-4.5 dB)
(benchmarks/results/quality_foreign_validation_v5_guard_tone.txt).

A photo in which it finds nothing but kinds the restorer does not undo (blur) is left as it was too:
v5 changed a blurred photo by hundredths of a dB on average, which still made 6-9%
of blurred photos slightly worse (benchmarks/results/quality_foreign_validation_v5_guard_blur.txt
against quality_foreign_validation_v5_guard_tone_all.txt); v21 makes most blurred photos 0.5 dB worse
unguarded (benchmarks/results/quality_validation_v21.txt), 0.2-0.3 dB guarded.

`blend` is the user's own limit beside the guard's (`fix --strength`): a share of the change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import cv2
import numpy as np

from .io import Image, value_range

if TYPE_CHECKING:
    from .perceive.inspect import Perception
    from .perceive.model import Perceiver

__all__ = ["GLOBAL_KINDS", "TONE_SIDE", "UNRESTORED_KINDS", "GuardVerdict", "blend", "guarded_restore", "judge",
           "keep_tone"]

R = TypeVar("R")

GLOBAL_KINDS = ("haze", "lowlight", "rain", "snow")
# Kinds the default model does not undo (its blur gain is -0.01 to +0.01 dB): found alone, nothing is restored.
UNRESTORED_KINDS = ("blur",)
# The tone a photo keeps: its colour averaged over cells of 1/24 of its long side (about 160 px at 4K),
# coarse enough that no edge or texture the restorer sharpens or cleans lives in it.
TONE_SIDE = 24

Action = Literal["pass", "keep_tone", "restore"]


@dataclass(frozen=True)
class GuardVerdict:
    """What the guard lets happen to one photo, and the reading it is based on."""

    perception: Perception
    action: Action  # pass: written as it was; keep_tone: restored, tone kept; restore: restored as is

    @property
    def reason(self) -> str | None:
        """Why the restorer was held back: "clean", "blur only", "tone kept"; None when it was not."""
        if self.action == "pass":
            found = self.perception.detected
            return " and ".join(found) + " only" if found and not self.perception.is_clean else "clean"
        return "tone kept" if self.action == "keep_tone" else None

    def report(self) -> dict[str, Any]:
        """The JSON report's guard fields."""
        reason = self.reason
        return {"guarded": self.action == "pass", "tone_kept": self.action == "keep_tone",
                **({"reason": reason} if reason else {}), "perception": self.perception.to_dict()}


def judge(perceiver: Perceiver, image: Image) -> GuardVerdict:
    """The perceiver's reading of `image` -> what may change: nothing, the detail, or everything."""
    from .perceive.inspect import perceive  # only a guard needs the perceiver's code

    perception = perceive(perceiver, image)
    if perception.is_clean or set(perception.detected) <= set(UNRESTORED_KINDS):
        return GuardVerdict(perception, "pass")
    global_change = any(kind in perception.detected for kind in GLOBAL_KINDS)
    return GuardVerdict(perception, "restore" if global_change else "keep_tone")


def _tone(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) float32 -> its colour averaged over TONE_SIDE cells across the long side, smoothly upsampled."""
    height, width = pixels.shape[:2]
    scale = TONE_SIDE / max(height, width)
    small = cv2.resize(pixels, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).reshape(pixels.shape)


def keep_tone(before: Image, after: Image) -> Image:
    """`after` (restored from `before`) with `before`'s tone and colour: after + tone(before) - tone(after).

    In the input's bit depth and value range; alpha and metadata are `after`'s.
    """
    original, restored = before.rgb.astype(np.float32), after.rgb.astype(np.float32)
    return _as_output(restored + _tone(original) - _tone(restored), before, after)


def blend(before: Image, after: Image, strength: float) -> Image:
    """`strength` of the restorer's change (`fix --strength`): before + strength x (after - before).

    1 is `after` itself, 0 is `before`; in the input's bit depth and value range, alpha and metadata `after`'s.
    A user's dial, as GFPGAN's weight or Real-ESRGAN's denoise strength: a restoration that overshoots
    (a pale photo darkened as if dehazed) comes back part way instead of all or nothing.
    """
    if strength >= 1.0:
        return after
    original = before.rgb.astype(np.float32)
    return _as_output(original + np.float32(strength) * (after.rgb.astype(np.float32) - original), before, after)


def _as_output(pixels: np.ndarray, before: Image, after: Image) -> Image:
    """Float `pixels` computed from `before` and `after` -> `after` with them, in the input's dtype and range."""
    if np.issubdtype(after.rgb.dtype, np.integer):
        pixels = np.rint(np.clip(pixels, 0, np.iinfo(after.rgb.dtype).max))
    else:
        low, high = value_range(before.rgb) or (0.0, 1.0)
        pixels = np.clip(pixels, low, high)
    return dataclasses.replace(after, rgb=pixels.astype(after.rgb.dtype))


def guarded_restore(restore: Callable[[Image], tuple[Image, R]], perceiver: Perceiver | None, image: Image
                    ) -> tuple[Image, R | None, GuardVerdict | None]:
    """`restore(image)` as the guard allows: (output, restore's result or None if passed, the verdict).

    Without a perceiver every image is restored (verdict None). A passed image comes back as a copy,
    never a view of the caller's pixels.
    """
    verdict = None if perceiver is None else judge(perceiver, image)
    if verdict is not None and verdict.action == "pass":
        return dataclasses.replace(image, rgb=image.rgb.copy()), None, verdict
    restored, result = restore(image)
    if verdict is not None and verdict.action == "keep_tone":
        restored = keep_tone(image, restored)
    return restored, result, verdict
