"""Training pairs: clean photos degraded on the fly, or paired folders of degraded and clean files.

Every sample is a pure function of (seed, stage, split, sample id): the crop, the flips
and the degradation parameters come from a generator seeded with those numbers, so a
hard sample stored as an id is replayed bit-identically in a later stage, and a
resumed run sees exactly the data it would have seen.

Clean photos come from one or more folders, searched recursively; a photo's name is its path
relative to its folder ("wikipedia/001.png"), which is what `--holdout` and `--holdout-list` name.
With `jpeg_downscale` above 1, JPEG photos are shrunk by that factor (area interpolation) as they
load: small published JPEGs carry compression blocks and sensor noise that a clean target must
not teach, and shrinking averages them away.

Paired datasets (`--stages rain=PATH`): a folder with lq/ + gt/ (or input/target,
degraded/clean, low/high) sub-folders, LQ_DIR:GT_DIR, file-name templates with `{id}`
or a pairs CSV; train/pairs.py finds and splits the pairs, `PairedStage` crops them.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..degrade import degrade
from ..errors import InputImageError
from ..io import is_image_file, read_image, to_float
from .config import DataConfig, StageConfig
from .pairs import PAIRED_LAYOUTS, find_pairs
from .scenes import SCENE_SHARE
from .scenes import scenes as procedural_scenes
from .shared import TRAIN, VALIDATION

__all__ = ["CleanPhotos", "PairedStage", "SyntheticStage", "make_stage", "read_holdout_list", "PAIRED_LAYOUTS"]

HARD_CLEAN_SHARE = 0.5  # with --hard-clean, share of the clean samples drawn from its photos, whole
JPEG_AFTER_MAX_SEVERITY = 0.4  # --jpeg-after compresses at JPEG severity 0-0.4 (quality ~95 down to ~60)
JPEG_SUFFIXES = (".jpg", ".jpeg")
MIN_DOWNSCALED_SIDE = 128  # a JPEG whose short side would fall below this once downscaled adds too little: skipped


def _rgb8(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of any supported image (16-bit and gray converted)."""
    image = read_image(path)
    rgb = image.rgb if image.rgb.shape[2] == 3 else np.repeat(image.rgb, 3, axis=2)
    return rgb if rgb.dtype == np.uint8 else np.rint(to_float(rgb) * 255).astype(np.uint8)


def _images_below(folder: Path) -> list[Path]:
    """Every image under `folder`, at any depth, in a fixed order; hidden files and folders skipped."""
    return sorted(path for path in folder.rglob("*") if path.is_file() and is_image_file(path)
                  and not any(part.startswith(".") for part in path.relative_to(folder).parts))


def _shrunk(rgb: np.ndarray, factor: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def read_holdout_list(path: Path, what: str = "holdout list") -> tuple[str, ...]:
    """Photo names from a list file: the first tab- or comma-separated column of each line; blank
    lines, `#` comments and a `path` header skipped (benchmarks/validation_photos.tsv is one).
    `what` names the list in errors (the --hard-clean file has the same format)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise InputImageError(f"cannot read the {what} {path}: {error.strerror or error}") from None
    names = []
    for line in lines:
        name = line.replace(",", "\t").split("\t")[0].strip()
        if name and not name.startswith("#") and name != "path":
            names.append(name)
    if not names:
        raise InputImageError(f"the {what} {path} names no photos")
    return tuple(names)


def _augment(patches: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random flip and 90-degree rotation for every patch of a pair."""
    turns, flip = int(rng.integers(4)), bool(rng.integers(2))
    out = [np.rot90(patch, turns) for patch in patches]
    return [np.ascontiguousarray(patch[:, ::-1] if flip else patch) for patch in out]


def _crop_box(rng: np.random.Generator, height: int, width: int, side: int) -> tuple[int, int]:
    return int(rng.integers(height - side + 1)), int(rng.integers(width - side + 1))


class CleanPhotos:
    """The clean photos synthetic stages degrade, split once into training and validation photos."""

    def __init__(self, folders: Path | Sequence[Path], *, holdout: tuple[str, ...], seed: int, scenes: int = 0,
                 scene_grass: float = 0.0, jpeg_downscale: float = 1.0, hard_clean: tuple[str, ...] = ()) -> None:
        folders = [folders] if isinstance(folders, Path) else list(folders)
        where = ", ".join(str(folder) for folder in folders)
        by_name: dict[str, Path] = {}
        for folder in folders:
            if not folder.is_dir():
                raise InputImageError(f"clean photo folder not found: {folder}")
            for path in _images_below(folder):
                by_name.setdefault(path.relative_to(folder).as_posix(), path)
        if len(by_name) < 2:
            raise InputImageError(f"need at least 2 clean photos in {where} (one is held out for validation)")
        if holdout:
            unknown = sorted(set(holdout) - set(by_name))
            if unknown:
                shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
                raise InputImageError(f"held-out photos not found in {where}: {shown}")
            held = set(holdout)
        else:
            names = list(by_name)
            count = max(1, round(0.15 * len(names)))
            held = {names[i] for i in np.random.default_rng(seed).permutation(len(names))[:count]}
        if len(held) == len(by_name):
            raise InputImageError("every clean photo is held out: keep at least one for training")
        self.folders, self.jpeg_downscale = folders, jpeg_downscale
        self.train_names, self.train = self._load([name for name in by_name if name not in held], by_name)
        self.val_names, self.val = self._load([name for name in by_name if name in held], by_name)
        if not self.train:
            raise InputImageError(f"no clean photo in {where} is large enough to train on")
        self.scenes = procedural_scenes(scenes, seed, grass=scene_grass)  # extra training content; never validated on
        not_training = sorted(set(hard_clean) - set(self.train_names))
        if not_training:
            raise InputImageError(f"--hard-clean names photos that are not training photos here (held out, "
                                  f"missing or too small): {', '.join(not_training[:5])}")
        listed = set(hard_clean)
        self.hard_clean = [photo for name, photo in zip(self.train_names, self.train) if name in listed]


    def describe(self) -> str:
        """Where the photos came from, for the model card: names when few, counts by folder when many."""
        def listing(names: list[str]) -> str:
            if len(names) <= 20:
                return ", ".join(names)
            folders: dict[str, int] = {}
            for name in names:
                top = name.split("/")[0] if "/" in name else "."
                folders[top] = folders.get(top, 0) + 1
            counts = ", ".join(f"{folder}/: {count}" for folder, count in folders.items())
            return f"{len(names)} photos ({counts})"
        return (f"clean photos from {', '.join(str(folder) for folder in self.folders)} (training: "
                f"{listing(self.train_names)}; validation: {listing(self.val_names)})")

    def _load(self, names: list[str], paths: dict[str, Path]) -> tuple[list[str], list[np.ndarray]]:
        """The photos as uint8 RGB, JPEGs shrunk by jpeg_downscale; JPEGs left too small are dropped."""
        kept, photos = [], []
        for name in names:
            rgb = _rgb8(paths[name])
            if self.jpeg_downscale > 1 and paths[name].suffix.lower() in JPEG_SUFFIXES:
                if min(rgb.shape[:2]) / self.jpeg_downscale < MIN_DOWNSCALED_SIDE:
                    continue
                rgb = _shrunk(rgb, self.jpeg_downscale)
            kept.append(name)
            photos.append(rgb)
        return kept, photos


@dataclass
class SyntheticStage:
    """Pairs made by degrading random crops of clean photos with one degradation spec."""

    stage: StageConfig
    photos: CleanPhotos
    config: DataConfig
    seed: int

    @property
    def key(self) -> int:
        return zlib.crc32(self.stage.name.encode())

    def sample(self, sample_id: int, split: int = TRAIN) -> tuple[np.ndarray, np.ndarray]:
        """(degraded, clean), each (V, V, 3) float32 in [0, 1] (V: the training view's side, see
        `DataConfig.view_side`, or the validation patch side); the same id gives the same pair."""
        rng = np.random.default_rng([self.seed, self.key, split, sample_id])
        pool = self.photos.train if split == TRAIN else self.photos.val
        if split == TRAIN and self.photos.scenes and rng.random() < SCENE_SHARE:
            pool = self.photos.scenes
        side = self.config.view_side(rng) if split == TRAIN else self.config.val_patch_size
        photo = pool[int(rng.integers(len(pool)))]
        hard = (split == TRAIN and bool(self.photos.hard_clean)
                and rng.random() < self.config.clean_fraction * HARD_CLEAN_SHARE)
        if hard:  # a photo the model damaged when clean: shown whole (its short side), as `fix` sees it
            photo = self.photos.hard_clean[int(rng.integers(len(self.photos.hard_clean)))]
        if split == TRAIN:  # a view never larger than its photo: an enlarged clean target would be soft
            side = max(self.config.patch_size, min(side, min(photo.shape[:2]) // 8 * 8))
        # Log-uniform in [min_scale, 1]: photos come in all resolutions, and a small scale shows the
        # network (and its whole-image context) as much of the scene as `fix` sees of a whole photo.
        scale = float(np.exp(rng.uniform(np.log(self.config.min_scale), 0.0)))
        if hard:
            scale = side / min(photo.shape[:2])
        source = min(int(round(side / scale)), *photo.shape[:2])
        top, left = _crop_box(rng, photo.shape[0], photo.shape[1], source)
        clean = photo[top:top + source, left:left + source]
        if source != side:
            clean = cv2.resize(clean, (side, side), interpolation=cv2.INTER_AREA)
        (clean,) = _augment([clean], rng)
        clean = clean.astype(np.float32) / 255
        if hard:
            return clean, clean
        low, high = self.config.severity
        if split == VALIDATION:  # validation spans the severity range evenly
            severity = low + (high - low) * (sample_id + 0.5) / self.config.val_size
        else:
            severity = float(rng.uniform(low, high))
            if rng.random() < self.config.clean_fraction:  # teach the model to leave clean photos alone
                if self.config.keep_changes and rng.random() < self.config.keep_changes:
                    clean = harmless_change(clean, rng)
                return clean, clean
        degraded = degrade(clean, self.stage.kind, rng, severity)
        if self.config.jpeg_after and split == TRAIN and rng.random() < self.config.jpeg_after:
            # Photos are saved as JPEG after they were rained on, hazed or shot in the dark.
            degraded = degrade(degraded, "jpeg", rng, float(rng.uniform(0.0, JPEG_AFTER_MAX_SEVERITY)))
        return degraded, clean


def harmless_change(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A change a photo may carry that is not damage to undo: JPEG compression (quality 40-95), a
    white balance or saturation grade, or light sharpening, one or two of them. Trained as input
    and target alike (`--keep-changes`), so the model learns to leave such photos as they are
    instead of taking a warm grade for haze or JPEG blocks for noise."""
    out = image
    for change in rng.choice(3, size=int(rng.integers(1, 3)), replace=False):
        if change == 0:
            quality = float(np.interp(rng.uniform(40, 95), [10, 95], [1, 0]))  # JPEG severity of that quality
            out = degrade(out, "jpeg", rng, quality)
        elif change == 1:
            gains = rng.uniform(0.88, 1.12, 3).astype(np.float32)
            grey = out.mean(axis=2, keepdims=True)
            out = (grey + (out - grey) * np.float32(rng.uniform(0.6, 1.4))) * gains
        else:
            soft = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.8, 2.0)))
            out = out + np.float32(rng.uniform(0.2, 0.8)) * (out - soft)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


class PairedStage:
    """Crops of degraded files and their clean files, as train/pairs.py pairs them."""

    def __init__(self, stage: StageConfig, config: DataConfig, seed: int) -> None:
        self.stage, self.config, self.seed = stage, config, seed
        pairs = find_pairs(stage.path or "", stage.name)
        self.train_pairs, self.val_pairs = pairs.train, pairs.val
        self._cache: dict[Path, np.ndarray] = {}

    @property
    def key(self) -> int:
        return zlib.crc32(self.stage.name.encode())

    def _load(self, path: Path) -> np.ndarray:
        if path not in self._cache:
            if len(self._cache) >= 64:  # keep memory bounded on big datasets
                self._cache.pop(next(iter(self._cache)))
            self._cache[path] = _rgb8(path)
        return self._cache[path]

    def sample(self, sample_id: int, split: int = TRAIN) -> tuple[np.ndarray, np.ndarray]:
        """(degraded, clean) crops, each (P, P, 3) float32; the same id gives the same pair."""
        rng = np.random.default_rng([self.seed, self.key, split, sample_id])
        pairs = self.train_pairs if split == TRAIN else self.val_pairs
        degraded_path, clean_path = pairs[int(rng.integers(len(pairs)))]
        degraded, clean = self._load(degraded_path), self._load(clean_path)
        if degraded.shape != clean.shape:
            raise InputImageError(f"pair sizes differ: {degraded_path} {degraded.shape[:2]} vs "
                                  f"{clean_path} {clean.shape[:2]}")
        side = min(self.config.view_side(rng) if split == TRAIN else self.config.val_patch_size, *clean.shape[:2])
        side -= side % 8
        top, left = _crop_box(rng, clean.shape[0], clean.shape[1], side)
        crops = [image[top:top + side, left:left + side] for image in (degraded, clean)]
        degraded, clean = _augment(crops, rng)
        return degraded.astype(np.float32) / 255, clean.astype(np.float32) / 255


def make_stage(stage: StageConfig, config: DataConfig, seed: int, photos: CleanPhotos | None
               ) -> SyntheticStage | PairedStage:
    """The data source of one stage. Raises InputImageError when its data is missing."""
    if stage.path is not None:
        return PairedStage(stage, config, seed)
    if photos is None:
        raise InputImageError(f"stage {stage.name!r} synthesises its data: pass --clean DIR with clean photos")
    return SyntheticStage(stage, photos, config, seed)
