"""Restoration quality on held-out photos: the degraded input, a classical tool and uhdrestore, by PSNR.

    python benchmarks/quality.py [--model default] [--foreign] [--limit N] [--views crops,whole]
           [--photos ../shared/data/photos] [--photos-list benchmarks/validation_photos.tsv]
           [--kinds ...] [--severities 0.5] [--crops 1] [--crop-size 512] [--whole-side 1024]
           [--json out.json] [--per-image out.tsv] [--figure-dir DIR] [--figure montage.png]
    python benchmarks/quality.py --holdout GreenMeadow.jpg,Dune.jpg [--photos ../shared/data/train-photos]
           [--crops 4] [--severities 0.3,0.5,0.8] [--figure examples/before_after.png]   # the old benchmark

By default it runs on the validation list of issue 15 (benchmarks/validation.py: 98 held-out
photos, 14 per content group), as 512-px crops and as whole photos downscaled to a long side
of at most 1024 px, and reports per content group: mean gain over the input, the share of
images made worse (gain < 0) and the worst image by name; clean photos go through the model too.
--limit N takes the first N photos of each group (a quick run sees the same pairs as a full one).
Each image is degraded with `uhdrestore.degrade.degrade`, or with --foreign by
benchmarks/foreign.py's textbook recipes (written independently of ours, two per kind), with a
generator seeded by (SEED, recipe, severity in hundredths, list index, crop), then scored against
its clean image as it is, after the classical baseline for its kind (benchmarks/classical.py:
NLM for noise, the dark channel prior for haze, ...) and after the model (untiled, on CPU).

With --holdout the old benchmark runs instead: fixed crops of a few named photos, a table per
kind and severity with SSIM, and the older targets. Kinds may be chains ("rain+haze").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classical import classical_for
from common import benchmark_model, machine
from foreign import FOREIGN, RECIPE_KIND, foreign_degrade
from validation import (GROUPS, VALIDATION_LIST, VALIDATION_PHOTOS, label, print_clean, print_gain_tables,
                        read_photo_list, recipe_key, target_checks, validation_samples, write_per_image)

from uhdrestore.degrade import KINDS, degrade, parse_kind
from uhdrestore.guard import guarded_restore
from uhdrestore.io import Image, read_image, to_float, write_image
from uhdrestore.metrics import psnr, ssim
from uhdrestore.perceive.inspect import load_perceiver
from uhdrestore.restore import TileConfig, restore_image
from uhdrestore.runtime import resolve_runtime

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "train-photos"  # for --holdout
SEED = 2024  # degradation seeds: [SEED, kind index(es), severity in hundredths, photo index, crop index]
CROP_SEED = 7  # crop positions: [CROP_SEED, photo index]
SUMMARY_SEVERITY = 0.5
FIGURE_SIDE = 256
METHODS = ("input", "classical", "model")


def held_out_crops(folder: Path, names: list[str], count: int, side: int) -> tuple[list[np.ndarray], list[dict]]:
    """`count` (side, side, 3) float32 crops per photo at seeded positions, and where each came from."""
    crops, origins = [], []
    for photo_index, name in enumerate(names):
        rgb = to_float(read_image(folder / name).rgb)
        rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb
        height, width = rgb.shape[:2]
        if min(height, width) < side:
            raise SystemExit(f"error: {name} is {width}x{height}, smaller than --crop-size {side}")
        rng = np.random.default_rng([CROP_SEED, photo_index])
        for index in range(count):
            top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
            crops.append(np.ascontiguousarray(rgb[top:top + side, left:left + side], dtype=np.float32))
            origins.append({"photo": name, "photo_index": photo_index, "index": index, "top": top, "left": left})
    return crops, origins


def degradation_rng(spec: str, severity: float, origin: dict) -> np.random.Generator:
    """The same generator for a crop whatever else runs: keyed by kind(s), severity and (photo, crop) index."""
    kind_indices = [KINDS.index(kind) if kind in KINDS else recipe_key(kind) for kind in spec.split("+")]
    return np.random.default_rng([SEED, *kind_indices, round(severity * 100), origin["photo_index"], origin["index"]])


def scores(outputs: list[np.ndarray], clean: list[np.ndarray]) -> dict[str, list[float]]:
    """Per-crop PSNR (dB) and SSIM of (H, W, 3) float32 outputs against the clean crops."""
    def batch(images: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)

    output, target = batch(outputs), batch(clean)
    return {"psnr": psnr(output, target).tolist(), "ssim": ssim(output, target).tolist()}


def evaluate(spec: str, severity: float, crops: list[np.ndarray], origins: list[dict],
             restore: Callable[[np.ndarray], np.ndarray], make_degraded: Callable = degrade) -> tuple[dict, dict]:
    """Scores of input, classical and model for one kind and severity, plus crop 0's images for the figure."""
    name, baseline = classical_for(RECIPE_KIND.get(spec.split("+")[0], spec))
    outputs: dict[str, list[np.ndarray]] = {method: [] for method in METHODS}
    for clean, origin in zip(crops, origins, strict=True):
        degraded = make_degraded(clean, spec, degradation_rng(spec, severity, origin), severity)
        outputs["input"].append(degraded)
        outputs["classical"].append(baseline(degraded))
        outputs["model"].append(restore(degraded))
    row = {"kind": spec, "severity": severity, "classical_name": name}
    row.update({method: scores(outputs[method], crops) for method in METHODS})
    return row, {"input": outputs["input"][0], "model": outputs["model"][0], "clean": crops[0]}


def mean(row: dict, method: str, metric: str) -> float:
    return float(np.mean(row[method][metric]))


def print_table(rows: list[dict]) -> None:
    print(f"{'kind':<14} {'sev':>4} {'classical':<19} {'PSNR in':>8} {'classic':>8} {'ours':>7} "
          f"{'vs in':>7} {'vs cls':>7} | {'SSIM in':>7} {'classic':>7} {'ours':>6}")
    for row in rows:
        values = {method: mean(row, method, "psnr") for method in METHODS}
        similarity = " ".join(f"{mean(row, method, 'ssim'):>{width}.3f}"
                              for method, width in zip(METHODS, (7, 7, 6), strict=True))
        print(f"{row['kind']:<14} {row['severity']:>4.2f} {row['classical_name']:<19} {values['input']:>8.2f} "
              f"{values['classical']:>8.2f} {values['model']:>7.2f} {values['model'] - values['input']:>+7.2f} "
              f"{values['model'] - values['classical']:>+7.2f} | {similarity}")


def summarise(rows: list[dict], clean: dict) -> tuple[dict, list[dict]]:
    """Gains at severity 0.5 and the target checks (PASS/FAIL, or n/a when a kind or 0.5 was not run)."""
    at_summary = {row["kind"]: row for row in rows if abs(row["severity"] - SUMMARY_SEVERITY) < 1e-9}
    gains = {kind: mean(row, "model", "psnr") - mean(row, "input", "psnr") for kind, row in at_summary.items()}
    over_classical = {kind: mean(row, "model", "psnr") - mean(row, "classical", "psnr")
                      for kind, row in at_summary.items()}
    average = float(np.mean(list(gains.values()))) if gains else None
    clean_psnr = float(np.mean(clean["psnr"]))

    def check(target: str, value: float | None, passed: bool | None) -> dict:
        return {"target": target, "value": value, "passed": passed}

    worst = min(gains.values()) if gains else None
    checks = [
        check("every kind gains >= 2 dB over the input at severity 0.5", worst, None if worst is None else worst >= 2),
        check("average gain >= 5 dB", average, None if average is None else average >= 5),
        check("above NLM on noise", over_classical.get("noise"),
              None if "noise" not in over_classical else over_classical["noise"] > 0),
        check("above dark channel prior on haze", over_classical.get("haze"),
              None if "haze" not in over_classical else over_classical["haze"] > 0),
        check("clean photos >= 38 dB", clean_psnr, clean_psnr >= 38),
    ]
    summary = {"severity": SUMMARY_SEVERITY, "gain_over_input_db": gains, "gain_over_classical_db": over_classical,
               "average_gain_db": average, "clean_psnr_db": clean_psnr}
    return summary, checks


def print_summary(summary: dict, checks: list[dict]) -> None:
    print(f"\n# summary at severity {SUMMARY_SEVERITY}: gain of uhdrestore over the input / over the classical tool")
    for kind, gain in summary["gain_over_input_db"].items():
        print(f"{kind:<14} {gain:>+7.2f} dB  {summary['gain_over_classical_db'][kind]:>+7.2f} dB")
    if summary["average_gain_db"] is not None:
        print(f"{'average':<14} {summary['average_gain_db']:>+7.2f} dB")
    for item in checks:
        verdict = "n/a " if item["passed"] is None else ("PASS" if item["passed"] else "FAIL")
        value = "" if item["value"] is None else f" ({item['value']:+.2f} dB)" if "clean" not in item["target"] \
            else f" ({item['value']:.2f} dB)"
        print(f"{verdict}  {item['target']}{value}")


def write_figure(path: Path, examples: dict[str, dict]) -> None:
    """One row per kind: degraded | uhdrestore | clean, each FIGURE_SIDE px, labelled; written atomically."""
    rows = []
    for kind, images in examples.items():
        tiles = []
        for caption, key in ((f"{kind} {SUMMARY_SEVERITY}", "input"), ("uhdrestore", "model"), ("clean", "clean")):
            tile = cv2.resize(images[key], (FIGURE_SIDE, FIGURE_SIDE), interpolation=cv2.INTER_AREA)
            tile = np.rint(np.clip(tile, 0, 1) * 255).astype(np.uint8)
            (width, height), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
            cv2.rectangle(tile, (0, 0), (width + 10, height + 10), (0, 0, 0), cv2.FILLED)  # readable anywhere
            cv2.putText(tile, caption, (5, height + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(tile)
        rows.append(np.hstack(tiles))
    write_image(path, Image(rgb=np.vstack(rows), alpha=None))


# ---- the validation-list benchmark (issue 15) ----------------------------------------------------

FIGURE_WHOLE_SIDE = 320


def validation_records(args: argparse.Namespace, restore: Callable[[np.ndarray], np.ndarray]
                       ) -> tuple[list[dict], dict[str, str], dict[str, list[np.ndarray]], list]:
    """Scores of every (recipe, severity, image), the classical tool per recipe, figure rows, the samples."""
    entries = read_photo_list(args.photos_list, limit=args.limit)
    samples = validation_samples(args.photos, entries, crops=args.crops, crop_size=args.crop_size,
                                 whole_side=args.whole_side, views=tuple(args.views))
    shown = {}  # one whole photo per group in the figures: the first listed
    for sample in samples:
        if "whole" in sample.views:
            shown.setdefault(sample.group, sample)
    make_degraded = foreign_degrade if args.foreign else degrade
    records, classical_names, figures = [], {}, {}
    for spec in args.kinds:
        kind = RECIPE_KIND.get(spec.split("+")[0], spec) if args.foreign else spec
        classical_names[spec], baseline = classical_for(kind)
        for severity in args.severities:
            clock = time.perf_counter()
            recipe = spec if len(args.severities) == 1 else f"{spec}@{severity:g}"
            rows = []
            for sample in samples:
                rng = np.random.default_rng([SEED, recipe_key(spec), round(severity * 100), sample.list_index,
                                             sample.index])
                degraded = make_degraded(sample.image, spec, rng, severity)
                restored = restore(degraded)
                records.append({"recipe": recipe, "kind": kind, "severity": severity, "group": sample.group,
                                "photo": sample.photo, "name": sample.name, "views": sample.views,
                                "input": image_psnr(degraded, sample.image),
                                "classical": image_psnr(baseline(degraded), sample.image),
                                "model": image_psnr(restored, sample.image)})
                if (args.figure_dir or args.figure) and shown.get(sample.group) is sample:
                    gain = records[-1]["model"] - records[-1]["input"]
                    rows.append(np.hstack([label(degraded, f"{sample.group}: {recipe}", FIGURE_WHOLE_SIDE),
                                           label(restored, f"uhdrestore {gain:+.1f} dB", FIGURE_WHOLE_SIDE),
                                           label(sample.image, sample.name[:40], FIGURE_WHOLE_SIDE)]))
            figures[recipe] = rows
            print(f"  {recipe} at {severity}: {time.perf_counter() - clock:.0f} s", file=sys.stderr, flush=True)
    for sample in samples:
        records.append({"recipe": "clean", "kind": "clean", "severity": 0.0, "group": sample.group,
                        "photo": sample.photo, "name": sample.name, "views": sample.views,
                        "clean": image_psnr(restore(sample.image), sample.image)})
    return records, classical_names, figures, samples


def image_psnr(image: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of one (H, W, 3) image against its clean reference (uhdrestore.metrics, capped at 100 dB)."""
    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).permute(2, 0, 1)[None]

    return float(psnr(tensor(image), tensor(reference))[0])


def run_validation(args: argparse.Namespace, restore: Callable[[np.ndarray], np.ndarray],
                   header: list[str]) -> None:
    started = time.perf_counter()
    records, classical_names, figures, samples = validation_records(args, restore)
    recipes = list(dict.fromkeys(record["recipe"] for record in records if record["recipe"] != "clean"))
    photos = {sample.photo: sample.group for sample in samples}
    folders = {}
    for photo in photos:
        folders[photo.split("/")[0]] = folders.get(photo.split("/")[0], 0) + 1
    for line in header:
        print(line)
    per_group = ", ".join(f"{group} {list(photos.values()).count(group)}" for group in GROUPS
                          if group in photos.values())
    print(f"# photos: {len(photos)} from {args.photos_list.name} in {args.photos} ({per_group}; "
          f"{', '.join(f'{folder} {count}' for folder, count in folders.items())})")
    print(f"# crops: {args.crops} per photo, {args.crop_size} px at positions seeded [7, list index]; photos with a "
          f"short side under {args.crop_size} px are used whole. whole: long side downscaled (area) to <= "
          f"{args.whole_side} px")
    source = "foreign.foreign_degrade (textbook recipes, not ours)" if args.foreign else "uhdrestore.degrade.degrade"
    print(f"# degraded by {source}, rng [{SEED}, crc32(recipe), severity x 100, list index, crop (100 = whole)]")
    print("# gain = uhdrestore PSNR minus input PSNR (dB, against the clean image), mean per content group and "
          "over all;\n# 'in dB': mean input PSNR; 'vs cls': uhdrestore minus the classical tool; 'worse': share of "
          "images with gain < 0")
    summaries, clean = [], []
    for view in args.views:
        count = sum(view in sample.views for sample in samples)
        print(f"\n## {view}: {count} images")
        summaries += print_gain_tables(records, recipes, classical_names, view)
        clean.append(print_clean(records, view))
    kind_of = (lambda recipe: RECIPE_KIND.get(recipe, recipe)) if args.foreign else (lambda recipe: recipe)
    checks = target_checks(summaries, clean, kind_of)
    print("\n# issue 15 targets (severity 0.5)")
    for target, passed, detail in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {target}  ({detail})")
    print(f"# {time.perf_counter() - started:.0f} s")

    if args.per_image:
        write_per_image(args.per_image, [record for record in records if record["recipe"] != "clean"],
                        ["input", "classical", "model", "gain"])
        write_per_image(args.per_image.with_name(args.per_image.stem + "_clean.tsv"),
                        [record for record in records if record["recipe"] == "clean"], ["clean"])
    if args.json:
        for record in records:
            record["views"] = sorted(record["views"])
        args.json.write_text(json.dumps({"header": header, "summaries": summaries, "clean": clean,
                                         "checks": [{"target": target, "passed": passed, "detail": detail}
                                                    for target, passed, detail in checks],
                                         "records": records}, indent=1))
    def sheet(rows: list[np.ndarray]) -> Image:
        width = max(row.shape[1] for row in rows)
        return Image(rgb=np.vstack([np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows]),
                     alpha=None)

    if args.figure_dir:
        args.figure_dir.mkdir(parents=True, exist_ok=True)
        for recipe, rows in figures.items():
            if rows:
                write_image(args.figure_dir / f"{recipe}.png", sheet(rows))
    if args.figure:  # one row per recipe, the content groups taken in turn
        rows = [rows[index % len(rows)] for index, rows in enumerate(figures.values()) if rows]
        if rows:
            write_image(args.figure, sheet(rows))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--photos", type=Path, default=None,
                        help=f"photo folder (default {VALIDATION_PHOTOS}; with --holdout {DEFAULT_PHOTOS})")
    parser.add_argument("--photos-list", type=Path, default=VALIDATION_LIST,
                        help="TSV of path<TAB>group, paths relative to --photos ('#' lines skipped)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos of each content group")
    parser.add_argument("--views", default="crops,whole", help="crops, whole or both")
    parser.add_argument("--whole-side", type=int, default=768, help="whole photos: downscale to this long side")
    parser.add_argument("--holdout", default=None,
                        help="comma-separated photo names: the old benchmark (crops of these photos only)")
    parser.add_argument("--kinds", default=None, help="comma-separated; chains with +. Default: every kind "
                        "(with --foreign every recipe of benchmarks/foreign.py)")
    parser.add_argument("--severities", default=None, help="default 0.5 (with --holdout 0.3,0.5,0.8)")
    parser.add_argument("--crops", type=int, default=None, help="crops per photo (default 1; with --holdout 4)")
    parser.add_argument("--crop-size", type=int, default=512)
    parser.add_argument("--json", type=Path, help="also write every number as JSON here")
    parser.add_argument("--per-image", type=Path, help="validation list: also write one TSV line per image here")
    parser.add_argument("--figure-dir", type=Path,
                        help="validation list: per recipe, a PNG of one whole photo per group (input | ours | clean)")
    parser.add_argument("--figure", type=Path,
                        help="a before/after montage PNG: with the validation list one whole photo per recipe, "
                             "the content groups in turn; with --holdout one crop per kind at severity 0.5")
    parser.add_argument("--guard", metavar="PERCEIVER",
                        help="restore as fix --guard does with this perceiver ('default' or a folder): inputs it "
                             "calls clean or finds only blur in unchanged, those with no haze, low light, rain or "
                             "snow with their tone kept")
    parser.add_argument("--foreign", action="store_true",
                        help="degrade with benchmarks/foreign.py's textbook recipes instead of ours")
    args = parser.parse_args()
    legacy = args.holdout is not None
    args.photos = args.photos or (DEFAULT_PHOTOS if legacy else VALIDATION_PHOTOS)
    args.holdout = [name.strip() for name in (args.holdout or "").split(",") if name.strip()]
    default_kinds = ",".join(FOREIGN) if args.foreign and not legacy else "rain,haze,noise,blur,snow,lowlight"
    args.kinds = [kind.strip() for kind in (args.kinds or default_kinds).split(",") if kind.strip()]
    args.severities = [float(value) for value in (args.severities or ("0.3,0.5,0.8" if legacy else "0.5")).split(",")]
    args.crops = args.crops or (4 if legacy else 1)
    args.views = [view.strip() for view in args.views.split(",") if view.strip()]
    if not set(args.views) <= {"crops", "whole"} or not args.views:
        parser.error(f"--views takes crops, whole or both. Got {args.views}")
    for kind in args.kinds:
        if args.foreign:
            for name in kind.split("+"):
                if name not in FOREIGN:
                    parser.error(f"no foreign recipe {name!r}; known: {', '.join(FOREIGN)}")
        else:
            parse_kind(kind)  # ValueError names the known kinds
    if args.crops < 1 or args.crop_size < 64:
        parser.error("--crops must be >= 1 and --crop-size >= 64")
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be >= 1. Got {args.limit}")
    return args


def run_holdout(args: argparse.Namespace, restore: Callable[[np.ndarray], np.ndarray], header: list[str]) -> None:
    """The old benchmark: fixed crops of the --holdout photos, with SSIM and the older targets."""
    crops, origins = held_out_crops(args.photos, args.holdout, args.crops, args.crop_size)
    started = time.perf_counter()
    rows, examples = [], {}
    for spec in args.kinds:
        for severity in args.severities:
            print(f"  {spec} at {severity} ...", file=sys.stderr, flush=True)
            row, example = evaluate(spec, severity, crops, origins, restore,
                                    foreign_degrade if args.foreign else degrade)
            rows.append(row)
            if abs(severity - SUMMARY_SEVERITY) < 1e-9:
                examples[spec] = example
    clean = scores([restore(crop) for crop in crops], crops)
    summary, checks = summarise(rows, clean)

    for line in header:
        print(line)
    print(f"# held-out photos: {', '.join(args.holdout)} in {args.photos}")
    print(f"# crops: {args.crops} per photo, {args.crop_size}x{args.crop_size}, positions seeded [{CROP_SEED}, photo]")
    recipe = "foreign.foreign_degrade (textbook recipes, not ours)" if args.foreign else "degrade"
    print(f"# seeds: {recipe}(crop, kind, default_rng([{SEED}, kind index, severity x 100, photo, crop]), severity)")
    print(f"# means over {len(crops)} crops; PSNR in dB; 'vs in' / 'vs cls': uhdrestore minus input / classical\n")
    print_table(rows)
    print(f"{'clean':<14} {'':>4} {'':<19} {'':>8} {'':>8} {np.mean(clean['psnr']):>7.2f} "
          f"{'':>7} {'':>7} | {'':>7} {'':>7} {np.mean(clean['ssim']):>6.3f}")
    print_summary(summary, checks)
    print(f"# {time.perf_counter() - started:.0f} s")

    if args.json:
        args.json.write_text(json.dumps({
            "machine": machine(), "model": header[1], "photos": args.holdout,
            "crop_size": args.crop_size, "crops": origins, "seed": SEED, "crop_seed": CROP_SEED,
            "rows": rows, "clean": clean, "summary": summary, "checks": checks}, indent=2))
    if args.figure:
        if examples:
            write_figure(args.figure, examples)
        else:
            print(f"# no figure: severity {SUMMARY_SEVERITY} was not run", file=sys.stderr)


def main() -> None:
    args = parse_args()
    runtime = resolve_runtime("cpu")
    model, described = benchmark_model(args.model)
    model = model.to(runtime.device).eval()
    parameters = sum(parameter.numel() for parameter in model.parameters()) / 1e6

    judge = load_perceiver(args.guard).module.eval() if args.guard else None
    actions = Counter()  # what the guard did: pass, keep_tone, restore

    def restore_untiled(image: Image) -> tuple[Image, None]:
        return Image(rgb=restore_image(image.rgb, model, runtime, TileConfig(tile=0)).image, alpha=None), None

    def restore(image: np.ndarray) -> np.ndarray:
        restored, _, verdict = guarded_restore(restore_untiled, judge, Image(rgb=image, alpha=None))
        actions[verdict.action if verdict else "restore"] += 1
        return restored.rgb

    header = [f"# machine: {machine()}; model on {runtime.describe()}, untiled",
              f"# model: {described} ({parameters:.2f} M parameters)"]
    if judge is not None:
        header.append(f"# guard (uhdrestore.guard, as fix --guard): inputs the perceiver {args.guard} calls clean, "
                      "or finds only blur in, are returned unchanged; those with no haze, low light, rain or snow "
                      "keep their tone")
    if args.holdout:
        run_holdout(args, restore, header)
    else:
        run_validation(args, restore, header)
    if judge is not None:
        print(f"# guard: of {sum(actions.values())} inputs, {actions['pass']} called clean (or blur only) and left "
              f"as they were, {actions['keep_tone']} kept their tone")


if __name__ == "__main__":
    main()
