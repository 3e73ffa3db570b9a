"""Paired datasets as they are published: which degraded file goes with which clean one.

A paired stage (`--stages NAME=PATH`) names its data in one of four ways:
- `DIR`: two sub-folders of files with matching stems, `lq/` + `gt/`, `input/` + `target/`,
  `degraded/` + `clean/` or `low/` + `high/` (LOL), detected in that order. `DIR/val` with the
  same two sub-folders is the validation split.
- `LQ_DIR:GT_DIR`: the degraded folder and the clean folder, files matched by stem.
- `LQ_TEMPLATE:GT_TEMPLATE`: a folder and a file-name template on each side. `{id}` stands for
  the part a degraded name shares with its clean name (the shortest that fits); in the degraded
  template `*` stands for any text the clean name lacks. Extensions are ignored, so `.jpg` may
  pair with `.png`. Rain100L: `Rain100L/rain-{id}:Rain100L/norain-{id}`; SOTS, whose hazy names
  carry the haze settings: `SOTS/outdoor/hazy/{id}_*:SOTS/outdoor/clear/{id}`.
- `FILE.csv`: one `LQ,GT` pair per line, relative to the CSV's folder; an optional third column
  `train` or `val` chooses the split; `#` comments and an `lq,gt` header are skipped.

Matching is strict, because a pair silently dropped is a dataset silently changed: every degraded
file needs its clean file and every clean file a degraded one (in a folder both sides share, files
that fit neither template are ignored). Unless `val/` or the CSV says otherwise, every 10th clean
image (sorted by name) is held out for validation with all of its degraded versions, so no clean
image is both trained and validated on. Every failure is an `InputImageError` naming the stage.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputImageError

__all__ = ["PAIRED_LAYOUTS", "Pair", "Pairs", "PairsSpec", "find_pairs", "parse_pairs_spec"]

PAIRED_LAYOUTS = (("lq", "gt"), ("input", "target"), ("degraded", "clean"), ("low", "high"))
ID = "{id}"
VAL_EVERY = 10  # without a given validation split, every 10th clean image is held out
SHOWN = 3  # file names shown in an error: enough to spot the pattern, short enough for one line

Pair = tuple[Path, Path]  # (degraded, clean)


@dataclass(frozen=True)
class PairsSpec:
    """What a paired stage's PATH says, before anything is read: its kind and its parts."""

    kind: str  # "layout" (DIR), "folders" (LQ_DIR:GT_DIR), "templates" or "csv"
    lq: Path  # DIR, the CSV file, or the degraded folder
    gt: Path | None = None  # the clean folder
    lq_name: str = ID  # file-name templates, matched against stems ("{id}": the stem itself)
    gt_name: str = ID


@dataclass(frozen=True)
class Pairs:
    """The training and validation pairs of one stage, each sorted by degraded path."""

    train: list[Pair]
    val: list[Pair]


def parse_pairs_spec(path: str) -> PairsSpec:
    """Read PATH's form from its text alone. Raises ValueError (a usage error) for a bad template."""
    if path.lower().endswith(".csv"):
        return PairsSpec("csv", Path(path))
    if ":" not in path or Path(path).exists():
        return PairsSpec("layout", Path(path))
    parts = path.split(":")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"paired data as two folders or templates is LQ:GT with one ':'. Got {path!r}")
    lq, gt = (Path(part) for part in parts)
    if lq == gt:
        raise ValueError(f"the degraded and the clean side of {path!r} are the same")
    if ID not in lq.name and ID not in gt.name:
        return PairsSpec("folders", lq, gt)
    for side, name in (("degraded", lq.name), ("clean", gt.name)):
        if name.count(ID) != 1 or "{" in name.replace(ID, "") or "}" in name.replace(ID, ""):
            raise ValueError(f"the {side} file-name template needs {ID} once (and no other braces). Got {name!r}")
    if "*" in gt.name:
        raise ValueError(f"the clean file-name template cannot hold '*': each {ID} names one clean file. "
                         f"Got {gt.name!r}")
    return PairsSpec("templates", lq.parent, gt.parent, lq.name, gt.name)


def find_pairs(path: str, stage: str) -> Pairs:
    """The pairs PATH names (see the module docstring), split into training and validation."""
    spec = parse_pairs_spec(path)
    if spec.kind == "csv":
        return _from_csv(spec.lq, stage)
    if spec.kind == "layout":
        root = spec.lq
        if not root.is_dir():
            raise InputImageError(f"stage {stage}: paired dataset folder not found: {root}")
        folders = _layout(root)
        if folders is None:
            layouts = ", ".join(f"{a}/ + {b}/" for a, b in PAIRED_LAYOUTS)
            raise InputImageError(f"stage {stage}: no matching image pairs in {root}: expected sub-folders "
                                  f"{layouts} (or LQ_DIR:GT_DIR, templates or a CSV, see the README)")
        pairs = _match(*folders, ID, ID, stage)
        val_folders = _layout(root / "val")
        if val_folders is not None:
            return Pairs(pairs, _match(*val_folders, ID, ID, stage))
        return _hold_out(pairs, stage, str(root))
    assert spec.gt is not None
    return _hold_out(_match(spec.lq, spec.gt, spec.lq_name, spec.gt_name, stage), stage, path)


def _layout(root: Path) -> tuple[Path, Path] | None:
    for degraded, clean in PAIRED_LAYOUTS:
        if (root / degraded).is_dir() and (root / clean).is_dir():
            return root / degraded, root / clean
    return None


def _images(folder: Path, stage: str, side: str) -> list[Path]:
    from ..io import is_image_file

    if not folder.is_dir():
        raise InputImageError(f"stage {stage}: {side} folder not found: {folder}")
    return sorted(path for path in folder.iterdir() if path.is_file() and is_image_file(path))


def _pattern(template: str) -> re.Pattern[str]:
    """`{id}` -> the shortest non-empty text that lets the whole stem match; `*` -> any text."""
    before, after = template.split(ID)

    def glob(text: str) -> str:
        return ".*?".join(re.escape(part) for part in text.split("*"))

    return re.compile(f"{glob(before)}(?P<id>.+?){glob(after)}")


def _examples(names: list[str]) -> str:
    return ", ".join(names[:SHOWN]) + (", ..." if len(names) > SHOWN else "")


def _match(lq_dir: Path, gt_dir: Path, lq_name: str, gt_name: str, stage: str) -> list[Pair]:
    """Each degraded file with its clean file, by the id the two templates read from their stems."""
    lq_files, gt_files = _images(lq_dir, stage, "degraded"), _images(gt_dir, stage, "clean")
    held = {"degraded": [path.name for path in lq_files], "clean": [path.name for path in gt_files]}
    lq_pattern, gt_pattern = _pattern(lq_name), _pattern(gt_name)
    shared = lq_dir.resolve() == gt_dir.resolve()  # Rain100L: rain-001.png beside norain-001.png
    if shared:  # a name both templates fit belongs to the more specific one (more literal text)
        gt_first = len(gt_name.replace(ID, "").replace("*", "")) > len(lq_name.replace(ID, "").replace("*", ""))
        gt_files = [path for path in gt_files if gt_pattern.fullmatch(path.stem)
                    and (gt_first or not lq_pattern.fullmatch(path.stem))]
        claimed = set(gt_files)
        lq_files = [path for path in lq_files if path not in claimed]
    clean: dict[str, Path] = {}
    for path in gt_files:
        if match := gt_pattern.fullmatch(path.stem):
            if match["id"] in clean:
                raise InputImageError(f"stage {stage}: two clean files for one degraded name in {gt_dir}: "
                                      f"{clean[match['id']].name} and {path.name}")
            clean[match["id"]] = path
    degraded: list[tuple[str, Path]] = []
    misfits: list[str] = []
    for path in lq_files:
        match = lq_pattern.fullmatch(path.stem)
        if match:
            degraded.append((match["id"], path))
        else:
            misfits.append(path.name)
    where = f"{lq_dir / lq_name}:{gt_dir / gt_name}" if (lq_name, gt_name) != (ID, ID) else f"{lq_dir} and {gt_dir}"
    if not degraded or not clean:
        empty, folder, template = ("degraded", lq_dir, lq_name) if not degraded else ("clean", gt_dir, gt_name)
        seen = f" (it holds {_examples(held[empty])})" if held[empty] else " (it holds no images)"
        raise InputImageError(f"stage {stage}: no matching image pairs in {where}: no {empty} file in {folder} "
                              f"fits {template}{seen}")
    problems = []
    if misfits and not shared:
        problems.append(f"{len(misfits)} of {len(lq_files)} files in {lq_dir} do not fit {lq_name} "
                        f"({_examples(misfits)})")
    orphans = [path.name for key, path in degraded if key not in clean]
    if orphans:
        problems.append(f"{len(orphans)} of {len(degraded)} degraded files have no clean file in {gt_dir} "
                        f"({_examples(orphans)})")
    used = {key for key, _ in degraded}
    unused = [path.name for key, path in clean.items() if key not in used]
    if unused:
        problems.append(f"{len(unused)} of {len(clean)} clean files have no degraded file in {lq_dir} "
                        f"({_examples(unused)})")
    if problems:
        prefix = "no matching image pairs" if len(orphans) == len(degraded) else "unmatched files"
        raise InputImageError(f"stage {stage}: {prefix} in {where}: {'; '.join(problems)}. Every file needs its "
                              "partner (to train on a subset, list the pairs in a CSV)")
    return [(path, clean[key]) for key, path in degraded]


def _hold_out(pairs: list[Pair], stage: str, where: str) -> Pairs:
    """Every 10th clean image (or the last, when fewer) with all its degraded versions validates."""
    cleans = sorted({gt for _, gt in pairs})
    if len(cleans) < 2:
        raise InputImageError(f"stage {stage}: need at least 2 clean images in {where} to hold one out for "
                              "validation")
    held = set(cleans[VAL_EVERY - 1::VAL_EVERY]) or {cleans[-1]}
    return Pairs([pair for pair in pairs if pair[1] not in held], [pair for pair in pairs if pair[1] in held])


def _from_csv(path: Path, stage: str) -> Pairs:
    """LQ,GT[,train|val] lines, relative to the CSV's folder; every listed file must exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputImageError(f"stage {stage}: cannot read the pairs file {path}: {error.strerror or error}"
                              ) from None
    split: dict[str, list[Pair]] = {"train": [], "val": []}
    missing: list[str] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#") or [cell.lower() for cell in cells[:2]] == ["lq", "gt"]:
            continue
        if len(cells) not in (2, 3) or not all(cells[:2]) or (len(cells) == 3 and cells[2] not in ("", *split)):
            raise InputImageError(f"stage {stage}: {path} line {number}: expected LQ,GT or LQ,GT,train|val. "
                                  f"Got {','.join(row)!r}")
        lq, gt = (path.parent / cell for cell in cells[:2])
        missing += [f"line {number}: {cell}" for cell, file in zip(cells, (lq, gt)) if not file.is_file()]
        split[cells[2] if len(cells) == 3 and cells[2] else "train"].append((lq, gt))
    if missing:
        raise InputImageError(f"stage {stage}: {len(missing)} files listed in {path} are missing "
                              f"({_examples(missing)})")
    if not split["train"]:
        raise InputImageError(f"stage {stage}: the pairs file {path} lists no training pairs")
    if split["val"]:
        return Pairs(split["train"], split["val"])
    return _hold_out(split["train"], stage, str(path))
