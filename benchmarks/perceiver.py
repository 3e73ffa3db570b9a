"""Does the perceiver read real photos right? Issue 20's "done when" targets on the validation list.

    python benchmarks/perceiver.py [--perceiver default] [--limit N] [--crops 2] [--json out.json]
           [--per-image out.tsv] [--flagged-dir DIR] [--skip-speed]
           [--photos ../shared/data/photos] [--photos-list benchmarks/validation_photos.tsv]
    python benchmarks/perceiver.py --rescore out.tsv --thresholds 0.5 [--json out.json]

Photos: the validation list (benchmarks/validation.py: 98 photos never trained on, 14 per
content group); --limit N takes the first N of each group. Each photo is seen whole (long side
at most 1024 px, as the perceiver sees whole photos) and as --crops seeded 512-px crops (a photo
with a short side under 512 px is its own crop). Every photo is judged exactly as `inspect`
judges it (`perceive`: a kind is detected at its threshold in the perceiver's config, 0.5 unless
calibrated; clean exactly when none is).

- ours: each image degraded by `uhdrestore.degrade.degrade`, every kind at 0.3, 0.5 and 0.8
  and rain+haze, lowlight+noise at 0.5; per-kind precision / recall / F1, the clean images
  counting as negatives.
- foreign: the same with benchmarks/foreign.py's textbook recipes (never trained on) at 0.5
  and 0.3, each recipe counting as its kind (RECIPE_KIND).
- mild low light: each image at 60% brightness with gamma 1.5 (x -> 0.6 x^1.5, 8-bit), a
  photo a user would call dark though our lowest severity would not make it.
- clean vs degraded: confusion and balanced accuracy (the mean of the clean and the degraded
  recall, as degraded images outnumber clean ones), for ours and for foreign.
- real clean photos flagged: whole, downscaled to long sides 512 and 256 (only photos larger
  than that), and crops; per content group, and the worst offenders with their kinds.
- speed: the model alone on a 3840x2160 photo (median of 5), and `uhdrestore inspect` on a
  4K PNG as a whole process.

--rescore reads a --per-image file back and reports it again with other detection thresholds
(--thresholds: one probability for every kind, or one per kind in PERCEIVED_KINDS order), in
seconds rather than the full run's minutes: how a calibration choice moves every figure.

Seeds are those of benchmarks/quality.py ([2024, recipe crc, severity in hundredths, list index,
crop index]), so two perceivers, and the restorer benchmark, see identical images.
The old --holdout mode (crops of two train-photos) is gone: the validation list supersedes it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine
from foreign import FOREIGN, RECIPE_KIND, foreign_degrade, quantise
from validation import GROUPS, VALIDATION_LIST, VALIDATION_PHOTOS, label, load_photo, read_photo_list, recipe_key, \
    validation_samples

from uhdrestore.degrade import degrade
from uhdrestore.io import Image, write_image
from uhdrestore.perceive.inspect import load_perceiver, perceive
from uhdrestore.perceive.model import PERCEIVED_KINDS
from uhdrestore.train.perceiver_scores import confusion, f1_score

SEED = 2024  # as benchmarks/quality.py: the same degraded images the restorer is scored on
WHOLE_SIDE, CROP_SIZE, DOWNSCALES = 1024, 512, (512, 256)
OURS = [(kind, s) for kind in PERCEIVED_KINDS for s in (0.3, 0.5, 0.8)] + [("rain+haze", 0.5), ("lowlight+noise", 0.5)]
FOREIGN_CASES = [(recipe, s) for s in (0.5, 0.3) for recipe in FOREIGN]
MILD_GAIN, MILD_GAMMA = 0.6, 1.5
VIEWS = ("whole", "down512", "down256", "crops")
TARGETS = {"flagged_whole": 0.05, "flagged_crops": 0.10, "flagged_group": 0.15, "f1_ours": 0.9, "f1_foreign": 0.8,
           "balanced_accuracy": 0.95, "model_4k_s": 1.0}


def judge(model, image: np.ndarray, **fields) -> dict:
    """One image through the perceiver as `inspect` runs it -> a record of what it found."""
    seen = perceive(model, Image(rgb=np.ascontiguousarray(image, dtype=np.float32), alpha=None))
    return {**fields, "probabilities": seen.kind_probabilities, "detected": seen.detected,
            "tier": seen.tier, "degraded": not seen.is_clean}


def downscale(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = side / max(height, width)
    return cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA)


def collect(model, samples: list, log) -> list[dict]:
    """Every record: the clean images and downscales, ours, foreign, mild low light."""
    records = []
    for number, sample in enumerate(samples):
        base = {"group": sample.group, "photo": sample.photo, "name": sample.name,
                "views": sorted(sample.views)}
        records.append(judge(model, sample.image, set="clean", recipe="clean", severity=0.0, kinds=[], **base))
        if "whole" in sample.views:
            for side in DOWNSCALES:
                if max(sample.image.shape[:2]) > side:
                    records.append(judge(model, downscale(sample.image, side), set="clean", recipe="clean",
                                         severity=0.0, kinds=[], **{**base, "views": [f"down{side}"],
                                                                    "name": f"{sample.name}@{side}"}))
        for name, cases, make in (("ours", OURS, degrade), ("foreign", FOREIGN_CASES, foreign_degrade)):
            for spec, severity in cases:
                rng = np.random.default_rng([SEED, recipe_key(spec), round(severity * 100), sample.list_index,
                                             sample.index])
                kinds = sorted({RECIPE_KIND[part] if name == "foreign" else part for part in spec.split("+")})
                records.append(judge(model, make(sample.image, spec, rng, severity), set=name, recipe=spec,
                                     severity=severity, kinds=kinds, **base))
        mild = quantise(MILD_GAIN * np.power(sample.image, MILD_GAMMA))
        records.append(judge(model, mild, set="mild", recipe="mild-lowlight", severity=0.0, kinds=["lowlight"],
                             **base))
        if number % 20 == 19:
            log(f"  {number + 1}/{len(samples)} images")
    return records


def kind_table(records: list[dict], title: str) -> dict:
    """Per-kind precision, recall, F1 over one set plus the clean images; printed, returned."""
    truth = np.array([[kind in r["kinds"] for kind in PERCEIVED_KINDS] for r in records])
    called = np.array([[kind in r["detected"] for kind in PERCEIVED_KINDS] for r in records])
    print(f"\n{title}\n{'kind':<10}{'precision':>10}{'recall':>8}{'F1':>7}{'images':>8}")
    out = {}
    for i, kind in enumerate(PERCEIVED_KINDS):
        hits = int(np.sum(truth[:, i] & called[:, i]))
        row = {"precision": hits / max(1, int(called[:, i].sum())), "recall": hits / max(1, int(truth[:, i].sum())),
               "f1": f1_score(truth[:, i], called[:, i]), "positives": int(truth[:, i].sum())}
        print(f"{kind:<10}{row['precision']:>10.3f}{row['recall']:>8.3f}{row['f1']:>7.3f}{row['positives']:>8}")
        out[kind] = row
    return out


def recipe_table(records: list[dict]) -> dict:
    """Per recipe and severity: share called degraded, share with its own kind(s), what else fires."""
    print(f"{'recipe':<16}{'sev':>5}{'degraded':>10}{'own kind':>10}  also detected (share)")
    out = {}
    for recipe, severity in dict.fromkeys((r["recipe"], r["severity"]) for r in records):
        rows = [r for r in records if r["recipe"] == recipe and r["severity"] == severity]
        own = float(np.mean([all(kind in r["detected"] for kind in r["kinds"]) for r in rows]))
        degraded = float(np.mean([r["degraded"] for r in rows]))
        others = Counter(kind for r in rows for kind in r["detected"] if kind not in r["kinds"])
        also = ", ".join(f"{kind} {count / len(rows):.0%}" for kind, count in others.most_common(3))
        print(f"{recipe:<16}{severity:>5.1f}{degraded:>10.0%}{own:>10.0%}  {also or '-'}")
        out[f"{recipe}@{severity:g}"] = {"degraded": degraded, "own_kind": own,
                                         "also": {kind: count / len(rows) for kind, count in others.items()}}
    return out


def clean_vs_degraded(clean: list[dict], degraded: list[dict], title: str) -> dict:
    truth = np.array([0] * len(clean) + [1] * len(degraded))
    called = np.array([int(r["degraded"]) for r in clean + degraded])
    table = confusion(truth, called, 2)
    balanced = (table[0][0] / max(1, sum(table[0])) + table[1][1] / max(1, sum(table[1]))) / 2
    print(f"\nclean vs degraded, {title} (rows: truth, columns: called)\n{'':<10}{'clean':>8}{'degraded':>10}\n"
          f"{'clean':<10}{table[0][0]:>8}{table[0][1]:>10}\n{'degraded':<10}{table[1][0]:>8}{table[1][1]:>10}\n"
          f"balanced accuracy {balanced:.3f} (mean of the clean and the degraded recall)")
    return {"confusion": table, "balanced_accuracy": balanced}


def share(rows: list[dict], key: str = "degraded") -> float | None:
    return float(np.mean([r[key] for r in rows])) if rows else None


def real_clean_report(clean: list[dict]) -> dict:
    """Share of clean images flagged per view and per group, the worst offenders, which kinds fire."""
    def rows_of(view: str, group: str | None = None) -> list[dict]:
        return [r for r in clean if view in r["views"] and group in (None, r["group"])]

    print("\nreal clean photos flagged as degraded (share; images in brackets)")
    print(f"{'group':<10}" + "".join(f"{view:>16}" for view in VIEWS))
    by_group = {}
    for group in [g for g in GROUPS if any(r["group"] == g for r in clean)] + [None]:
        cells = {view: share(rows_of(view, group)) for view in VIEWS}
        by_group[group or "all"] = cells
        print(f"{group or 'all':<10}" + "".join(
            f"{'':>16}" if cells[view] is None else f"{cells[view]:>10.0%} ({len(rows_of(view, group)):>3})"
            for view in VIEWS))
    flagged = sorted((r for r in clean if r["degraded"]), key=lambda r: -max(r["probabilities"].values()))
    kinds = Counter(kind for r in flagged for kind in r["detected"])
    print(f"false alarms by kind: {', '.join(f'{k} {n}' for k, n in kinds.most_common()) or 'none'} "
          f"(of {len(flagged)} flagged images)")
    print("worst offenders (most confident false alarms):")
    worst = []
    for r in flagged[:15]:
        found = ", ".join(f"{kind} {r['probabilities'][kind]:.2f}" for kind in r["detected"])
        print(f"  {r['name']:<44} {r['group']:<9} {'+'.join(r['views']):<12} {found}")
        worst.append({"image": r["name"], "group": r["group"], "views": r["views"],
                      "detected": {kind: r["probabilities"][kind] for kind in r["detected"]}})
    return {"by_group": by_group, "false_alarm_kinds": dict(kinds), "worst": worst}


def speed(model: torch.nn.Module, spec: str, rgb: np.ndarray) -> dict[str, float]:
    """Model-only time on a 4K frame, and `uhdrestore inspect` on a 4K PNG as a whole process
    (the frame: a validation photo resized to 3840x2160, so the PNG decodes like a photo)."""
    frame = np.clip(cv2.resize(rgb, (3840, 2160), interpolation=cv2.INTER_CUBIC), 0, 1)
    tensor = torch.from_numpy(frame).permute(2, 0, 1)[None]
    times = []
    with torch.inference_mode():
        for _ in range(6):
            started = time.perf_counter()
            model.perceive(tensor)
            times.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "frame.png"
        write_image(path, Image(rgb=np.rint(frame * 255).astype(np.uint8), alpha=None))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "uhdrestore", "inspect", str(path), "--perceiver", spec, "--json"],
                       check=True, capture_output=True)
        process = time.perf_counter() - started
    return {"model_4k_s": statistics.median(times[1:]), "inspect_4k_process_s": process}


def target_checks(figures: dict) -> list[tuple[str, bool, str]]:
    """Issue 20's "done when": (target, passed, the numbers behind it)."""
    groups = figures["real_clean"]["by_group"]
    overall = groups["all"]
    group_shares = [(g, view, cells[view]) for g, cells in groups.items() if g != "all"
                    for view in ("whole", "crops") if cells[view] is not None]
    top = max(group_shares, key=lambda item: item[2])
    checks = [("real clean flagged <= 5% (whole photos)", overall["whole"] <= TARGETS["flagged_whole"],
               f"{overall['whole']:.1%}"),
              ("real clean flagged <= 10% (512-px crops)", overall["crops"] <= TARGETS["flagged_crops"],
               f"{overall['crops']:.1%}"),
              ("no content group above 15% (whole, crops)", top[2] <= TARGETS["flagged_group"],
               f"highest {top[0]} {top[1]} {top[2]:.0%}")]
    for name, floor in (("ours", TARGETS["f1_ours"]), ("foreign", TARGETS["f1_foreign"])):
        f1 = {kind: row["f1"] for kind, row in figures[name]["kinds"].items()}
        low = min(f1, key=f1.get)
        checks.append((f"every kind F1 >= {floor} ({name})", f1[low] >= floor, f"lowest {low} {f1[low]:.3f}"))
    for name in ("ours", "foreign"):
        value = figures[name]["balanced_accuracy"]
        checks.append((f"clean vs degraded balanced accuracy >= 95% ({name})",
                       value >= TARGETS["balanced_accuracy"], f"{value:.1%}"))
    if "speed" in figures:
        checks.append(("model < 1 s on a 4K photo", figures["speed"]["model_4k_s"] < TARGETS["model_4k_s"],
                       f"{figures['speed']['model_4k_s'] * 1000:.0f} ms on {torch.get_num_threads()} thread(s)"))
    return checks


def write_per_image(path: Path, records: list[dict]) -> None:
    lines = ["\t".join(["set", "recipe", "severity", "views", "group", "image", "truth", "detected", "tier",
                        *PERCEIVED_KINDS])]
    for r in records:
        lines.append("\t".join([r["set"], r["recipe"], f"{r['severity']:g}", "+".join(r["views"]), r["group"],
                                r["name"], "+".join(r["kinds"]) or "-", "+".join(r["detected"]) or "-", r["tier"],
                                *(f"{r['probabilities'][kind]:.4f}" for kind in PERCEIVED_KINDS)]))
    path.write_text("\n".join(lines) + "\n")


def read_per_image(path: Path, thresholds: list[float]) -> list[dict]:
    """A --per-image file back as records, each kind detected again at `thresholds` (PERCEIVED_KINDS order)."""
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    records = []
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t")))
        probabilities = {kind: float(row[kind]) for kind in PERCEIVED_KINDS}
        detected = sorted((k for k, t in zip(PERCEIVED_KINDS, thresholds) if probabilities[k] >= t),
                          key=lambda k: -probabilities[k])
        records.append({"set": row["set"], "recipe": row["recipe"], "severity": float(row["severity"]),
                        "views": row["views"].split("+"), "group": row["group"], "name": row["image"],
                        "kinds": [] if row["truth"] == "-" else row["truth"].split("+"),
                        "probabilities": probabilities, "detected": detected, "degraded": bool(detected)})
    return records


def parse_thresholds(text: str) -> list[float]:
    values = [float(part) for part in text.split(",")]
    if len(values) not in (1, len(PERCEIVED_KINDS)) or not all(0 < v < 1 for v in values):
        raise SystemExit(f"error: --thresholds takes 1 or {len(PERCEIVED_KINDS)} probabilities in (0, 1)")
    return values * len(PERCEIVED_KINDS) if len(values) == 1 else values


def write_flagged(folder: Path, samples: list, records: list[dict]) -> None:
    """Each flagged clean image (whole and crops) as a labelled PNG, to look at what fires."""
    folder.mkdir(parents=True, exist_ok=True)
    images = {sample.name: sample.image for sample in samples}
    for r in records:
        if r["set"] == "clean" and r["degraded"] and r["name"] in images:
            text = f"{r['group']}: " + ", ".join(f"{k} {r['probabilities'][k]:.2f}" for k in r["detected"])
            write_image(folder / (r["name"].replace("/", "_").replace("#", "_crop") + ".png"),
                        Image(rgb=label(images[r["name"]], text, 512), alpha=None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--perceiver", default="default", help="'default', a perceiver folder or a Hub id")
    parser.add_argument("--photos", type=Path, default=VALIDATION_PHOTOS)
    parser.add_argument("--photos-list", type=Path, default=VALIDATION_LIST)
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos of each content group")
    parser.add_argument("--crops", type=int, default=2, help="512-px crops per photo")
    parser.add_argument("--json", type=Path, help="also write every number as JSON here")
    parser.add_argument("--per-image", type=Path, help="also write one TSV line per image here")
    parser.add_argument("--flagged-dir", type=Path, help="write the flagged clean images here as labelled PNGs")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--rescore", type=Path, help="report a --per-image file again (no images judged)")
    parser.add_argument("--thresholds", type=parse_thresholds, help="with --rescore: 1 or 6 thresholds")
    args = parser.parse_args()
    if args.rescore:
        rescore(args)
        return

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.perf_counter()
    model = load_perceiver(args.perceiver).module.eval()
    entries = read_photo_list(args.photos_list, limit=args.limit)
    samples = validation_samples(args.photos, entries, crops=args.crops, crop_size=CROP_SIZE, whole_side=WHOLE_SIDE)
    log(f"{len(samples)} images of {len(entries)} photos")
    records = collect(model, samples, log)

    threads = os.environ.get("OMP_NUM_THREADS")
    print(f"# command: {f'OMP_NUM_THREADS={threads} ' if threads else ''}python benchmarks/perceiver.py "
          f"{shlex.join(sys.argv[1:])}")
    print(f"# machine: {machine()}; perceiver: {args.perceiver}; detection thresholds: "
          f"{', '.join(f'{kind} {t:.2f}' for kind, t in model.config.thresholds.items())}")
    print(f"# {len(entries)} photos of {args.photos_list.name}, {len(samples)} images: whole (long side <= "
          f"{WHOLE_SIDE}) and {args.crops} crop(s) of {CROP_SIZE} px each (photos under {CROP_SIZE} px on the "
          f"short side: whole only, counted in both); {len(records)} images judged in all")
    figures: dict = {"perceiver": args.perceiver, "photos": len(entries), "images": len(samples),
                     "judged": len(records), "limit": args.limit, "crops": args.crops}
    report(records, figures)
    if not args.skip_speed:
        path, _ = entries[0][1]
        figures["speed"] = speed(model, args.perceiver, load_photo(args.photos, path))
        print(f"\n4K photo: model {figures['speed']['model_4k_s'] * 1000:.0f} ms ({torch.get_num_threads()} "
              f"thread(s)), whole `uhdrestore inspect` process {figures['speed']['inspect_4k_process_s']:.2f} s")
    finish(figures, args, started)
    if args.per_image:
        write_per_image(args.per_image, records)
    if args.flagged_dir:
        write_flagged(args.flagged_dir, samples, records)


def rescore(args: argparse.Namespace) -> None:
    """--rescore: a --per-image file reported again at --thresholds."""
    started = time.perf_counter()
    if args.thresholds is None:
        raise SystemExit("error: --rescore needs --thresholds")
    records = read_per_image(args.rescore, args.thresholds)
    print(f"# command: python benchmarks/perceiver.py {shlex.join(sys.argv[1:])}")
    print(f"# rescored {args.rescore} ({len(records)} images judged); detection thresholds: "
          f"{', '.join(f'{kind} {t:.2f}' for kind, t in zip(PERCEIVED_KINDS, args.thresholds))}")
    figures: dict = {"rescored": str(args.rescore), "thresholds": args.thresholds, "judged": len(records)}
    report(records, figures)
    finish(figures, args, started)


def report(records: list[dict], figures: dict) -> None:
    """Every table but speed, printed; the numbers go into `figures`."""
    clean = [r for r in records if r["set"] == "clean"]
    base_clean = [r for r in clean if not r["views"][0].startswith("down")]  # the images that get degraded
    sets = {name: [r for r in records if r["set"] == name] for name in ("ours", "foreign", "mild")}
    for name, title in (("ours", f"our generators ({len(OURS)} cases per image; clean images as negatives)"),
                        ("foreign", f"foreign recipes ({len(FOREIGN_CASES)} cases per image; clean images "
                                    "as negatives)")):
        figures[name] = {"kinds": kind_table(base_clean + sets[name], title), "recipes": recipe_table(sets[name])}
    for name in ("ours", "foreign"):
        figures[name].update(clean_vs_degraded(base_clean, sets[name], name))
    mild = {}
    for view in ("whole", "crops"):
        rows = [r for r in sets["mild"] if view in r["views"]]
        mild[view] = {"lowlight": float(np.mean(["lowlight" in r["detected"] for r in rows])),
                      "degraded": share(rows), "images": len(rows)}
    figures["mild_lowlight"] = mild
    print(f"\nmild low light (x -> {MILD_GAIN} x^{MILD_GAMMA}): " + "; ".join(
        f"{view} detected as lowlight {cells['lowlight']:.0%}, as degraded {cells['degraded']:.0%}"
        for view, cells in mild.items()))
    figures["real_clean"] = real_clean_report(clean)


def finish(figures: dict, args: argparse.Namespace, started: float) -> None:
    """The target checks, the time taken and the --json file."""
    checks = target_checks(figures)
    figures["targets"] = [{"target": name, "passed": ok, "detail": detail} for name, ok, detail in checks]
    print("\ntargets (issue 20):")
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
    print(f"# {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
