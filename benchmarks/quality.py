"""Restoration quality on held-out photos: the degraded input, a classical tool and uhdrestore, by PSNR and SSIM.

    python benchmarks/quality.py [--model default] [--photos ../shared/data/train-photos]
           [--holdout GreenMeadow.jpg,Dune.jpg] [--kinds rain,haze,noise,blur,snow,lowlight]
           [--severities 0.3,0.5,0.8] [--crops 4] [--crop-size 512] [--json out.json]
           [--figure examples/before_after.png] [--foreign]

Fixed crops of the held-out photos (positions from a seeded generator) are degraded with
`uhdrestore.degrade.degrade` and a generator seeded by (SEED, kind, severity in hundredths,
photo, crop), so every run and every subset of kinds or severities sees the same pairs. Each pair is
scored against its clean crop as it is, after the classical baseline for its kind
(benchmarks/classical.py) and after the model (untiled, on CPU). Clean crops also go through
the model. The summary checks the targets at severity 0.5. Kinds may be chains ("rain+haze").
With --foreign the pairs come from benchmarks/foreign.py instead: textbook degradations
written independently of ours, to check that the model generalises past its generators.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classical import classical_for
from common import benchmark_model, machine
from foreign import foreign_degrade

from uhdrestore.degrade import KINDS, degrade, parse_kind
from uhdrestore.io import Image, read_image, to_float, write_image
from uhdrestore.metrics import psnr, ssim
from uhdrestore.restore import TileConfig, restore_image
from uhdrestore.runtime import resolve_runtime

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "train-photos"
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
    kind_indices = [KINDS.index(kind) for kind in parse_kind(spec)]
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
    name, baseline = classical_for(spec)
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
        for label, key in ((f"{kind} {SUMMARY_SEVERITY}", "input"), ("uhdrestore", "model"), ("clean", "clean")):
            tile = cv2.resize(images[key], (FIGURE_SIDE, FIGURE_SIDE), interpolation=cv2.INTER_AREA)
            tile = np.rint(np.clip(tile, 0, 1) * 255).astype(np.uint8)
            (width, height), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
            cv2.rectangle(tile, (0, 0), (width + 10, height + 10), (0, 0, 0), cv2.FILLED)  # readable anywhere
            cv2.putText(tile, label, (5, height + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
            tiles.append(tile)
        rows.append(np.hstack(tiles))
    write_image(path, Image(rgb=np.vstack(rows), alpha=None))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--holdout", default="GreenMeadow.jpg,Dune.jpg", help="comma-separated photo names")
    parser.add_argument("--kinds", default="rain,haze,noise,blur,snow,lowlight", help="comma-separated; chains with +")
    parser.add_argument("--severities", default="0.3,0.5,0.8")
    parser.add_argument("--crops", type=int, default=4, help="crops per photo")
    parser.add_argument("--crop-size", type=int, default=512)
    parser.add_argument("--json", type=Path, help="also write every number as JSON here")
    parser.add_argument("--figure", type=Path, help="also write a before/after montage PNG here (severity 0.5)")
    parser.add_argument("--foreign", action="store_true",
                        help="degrade with benchmarks/foreign.py's textbook recipes instead of ours")
    args = parser.parse_args()
    args.holdout = [name.strip() for name in args.holdout.split(",") if name.strip()]
    args.kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    args.severities = [float(value) for value in args.severities.split(",")]
    for kind in args.kinds:
        parse_kind(kind)  # ValueError names the known kinds
    if args.crops < 1 or args.crop_size < 64:
        parser.error("--crops must be >= 1 and --crop-size >= 64")
    return args


def main() -> None:
    args = parse_args()
    runtime = resolve_runtime("cpu")
    model, described = benchmark_model(args.model)
    model = model.to(runtime.device).eval()
    parameters = sum(parameter.numel() for parameter in model.parameters()) / 1e6
    crops, origins = held_out_crops(args.photos, args.holdout, args.crops, args.crop_size)

    def restore(image: np.ndarray) -> np.ndarray:
        return restore_image(image, model, runtime, TileConfig(tile=0)).image

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

    print(f"# machine: {machine()}; model on {runtime.describe()}, untiled")
    print(f"# model: {described} ({parameters:.2f} M parameters)")
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
            "machine": machine(), "model": described, "parameters_millions": parameters, "photos": args.holdout,
            "crop_size": args.crop_size, "crops": origins, "seed": SEED, "crop_seed": CROP_SEED,
            "rows": rows, "clean": clean, "summary": summary, "checks": checks}, indent=2))
    if args.figure:
        if examples:
            write_figure(args.figure, examples)
        else:
            print(f"# no figure: severity {SUMMARY_SEVERITY} was not run", file=sys.stderr)


if __name__ == "__main__":
    main()
