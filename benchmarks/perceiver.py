"""How well the perceiver reads held-out photos: per-kind F1, clean-vs-degraded confusion, tiers, speed.

    python benchmarks/perceiver.py [--perceiver default] [--photos ../shared/data/train-photos]
           [--holdout GreenMeadow.jpg,Dune.jpg] [--crops 12] [--json out.json] [--skip-speed]

Validation images: fixed crops of the held-out photos (seeded positions and sizes, 256-640
px, landscape and portrait), each kept clean and degraded by our generators with every
kind at severities 0.3, 0.5 and 0.8 and with the two natural mixtures (rain+haze,
lowlight+noise) at 0.5. A kind is detected at probability 0.5; a photo is called clean
when "high" is its most likely tier. Real clean photos: the held-out photos whole, at
three downscales, and their crops, as they are (JPEG, no degradation added): the share
flagged as degraded. Speed: the model alone on a 3840x2160 photo (median of 5), and
`uhdrestore inspect` on a 4K PNG as a whole process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine

from uhdrestore.degrade import degrade
from uhdrestore.io import Image, read_image, to_float, write_image
from uhdrestore.train.perceiver_scores import confusion, f1_score, predict
from uhdrestore.perceive.inspect import load_perceiver
from uhdrestore.perceive.model import PERCEIVED_KINDS, TIERS
from uhdrestore.train.perceiver_examples import example_from_image, stack_examples

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "train-photos"
SEED = 31
SEVERITIES = (0.3, 0.5, 0.8)
MIXTURES = ("rain+haze", "lowlight+noise")
TARGET_F1, TARGET_ACCURACY, TARGET_FLAGGED = 0.9, 0.95, 0.05


def photo(folder: Path, name: str) -> np.ndarray:
    rgb = to_float(read_image(folder / name).rgb)
    return np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb


def crops_of(rgb: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`count` crops at seeded positions, 256-640 px on the long side, a quarter of them portrait."""
    out = []
    for _ in range(count):
        long_side = int(rng.integers(256, 641))
        short_side = int(long_side * rng.uniform(0.56, 1.0))
        h, w = (short_side, long_side) if rng.random() < 0.75 else (long_side, short_side)
        h, w = min(h, rgb.shape[0]), min(w, rgb.shape[1])
        top, left = int(rng.integers(rgb.shape[0] - h + 1)), int(rng.integers(rgb.shape[1] - w + 1))
        out.append(np.ascontiguousarray(rgb[top:top + h, left:left + w]))
    return out


def validation_examples(photos: list[np.ndarray], crops: int, config) -> tuple[list, list[str]]:
    """Labelled examples and a label for each ("clean", "rain@0.3", "rain+haze@0.5", ...)."""
    examples, labels = [], []
    for photo_index, rgb in enumerate(photos):
        for crop_index, crop in enumerate(crops_of(rgb, crops, np.random.default_rng([SEED, photo_index]))):
            examples.append(example_from_image(crop, config))
            labels.append("clean")
            cases = [(kind, s) for kind in PERCEIVED_KINDS for s in SEVERITIES] + [(m, 0.5) for m in MIXTURES]
            for case_index, (spec, severity) in enumerate(cases):
                rng = np.random.default_rng([SEED, photo_index, crop_index, case_index])
                degraded = degrade(crop, spec, rng, severity)
                examples.append(example_from_image(degraded, config, kinds=tuple(spec.split("+")),
                                                   severity=severity))
                labels.append(f"{spec}@{severity}")
    return examples, labels


def real_clean_images(photos: list[np.ndarray], crops: int) -> tuple[list[np.ndarray], list[int]]:
    """The held-out photos as they are: whole, at three downscales, and crops; and which photo each is."""
    images, sources = [], []
    for index, rgb in enumerate(photos):
        found = [rgb] + [cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                         for scale in (0.5, 0.25, 0.125)]
        found += crops_of(rgb, crops, np.random.default_rng([SEED + 1, index]))
        images += found
        sources += [index] * len(found)
    return images, sources


def speed(model: torch.nn.Module, spec: str, rgb: np.ndarray) -> dict[str, float]:
    """Model-only time on a 4K frame, and `uhdrestore inspect` on a 4K PNG as a whole process
    (the frame: a held-out photo enlarged to 3840x2160, so the PNG decodes like a photo)."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--perceiver", default="default")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--holdout", default="GreenMeadow.jpg,Dune.jpg")
    parser.add_argument("--crops", type=int, default=12, help="crops per held-out photo")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()

    model = load_perceiver(args.perceiver).module
    photos = [photo(args.photos, name) for name in args.holdout.split(",")]
    examples, labels = validation_examples(photos, args.crops, model.config)
    stacked = stack_examples(examples)
    predictions = predict(model, stacked)
    truth = stacked.kinds.numpy() > 0.5
    called = predictions.kind_probabilities >= 0.5
    truly_degraded = np.array([label != "clean" for label in labels])
    called_degraded = predictions.tier != TIERS.index("high")
    real, sources = real_clean_images(photos, args.crops)
    real_set = stack_examples([example_from_image(image, model.config) for image in real])
    real_flagged = predict(model, real_set).tier != TIERS.index("high")

    lines = [f"# perceiver validation ({machine()})",
             (f"# perceiver: {args.perceiver}; held out: {args.holdout}; {len(labels)} images ({args.crops} crops "
              f"per photo x (clean + 6 kinds x {len(SEVERITIES)} severities + {len(MIXTURES)} mixtures))"), "",
             f"{'kind':<10}{'precision':>10}{'recall':>8}{'F1':>7}  recall at {' / '.join(map(str, SEVERITIES))}"]
    kind_f1 = {}
    for i, kind in enumerate(PERCEIVED_KINDS):
        hits = int(np.sum(truth[:, i] & called[:, i]))
        precision = hits / max(1, int(called[:, i].sum()))
        recall = hits / max(1, int(truth[:, i].sum()))
        kind_f1[kind] = f1_score(truth[:, i], called[:, i])
        by_severity = [np.mean([called[j, i] for j, label in enumerate(labels) if label == f"{kind}@{s}"])
                       for s in SEVERITIES]
        lines.append(f"{kind:<10}{precision:>10.3f}{recall:>8.3f}{kind_f1[kind]:>7.3f}  "
                     + " / ".join(f"{r:.2f}" for r in by_severity))
    table = confusion(truly_degraded.astype(int), called_degraded.astype(int), 2)
    # Balanced: the mean of the clean and the degraded recall, as degraded images outnumber clean ones 20 to 1.
    accuracy = float(np.mean([np.mean(~called_degraded[~truly_degraded]), np.mean(called_degraded[truly_degraded])]))
    tiers = confusion(stacked.tier.numpy(), predictions.tier, 3)
    lines += ["", "clean vs degraded (rows: truth, columns: called)", f"{'':<10}{'clean':>8}{'degraded':>10}",
              f"{'clean':<10}{table[0][0]:>8}{table[0][1]:>10}", f"{'degraded':<10}{table[1][0]:>8}{table[1][1]:>10}",
              f"balanced accuracy {accuracy:.3f} (mean of the clean and the degraded recall)", "",
              "quality tier (rows: truth, columns: called)", f"{'':<8}" + "".join(f"{t:>8}" for t in TIERS)]
    lines += [f"{t:<8}" + "".join(f"{n:>8}" for n in row) for t, row in zip(TIERS, tiers)]
    missed_mild = [label for label, d, c in zip(labels, truly_degraded, called_degraded) if d and not c]
    lines += [f"called clean though degraded: {len(missed_mild)} ({', '.join(sorted(set(missed_mild))) or 'none'})"]
    flagged = float(np.mean(real_flagged))
    lines += ["", (f"real clean photos flagged as degraded: {int(real_flagged.sum())}/{len(real)} = {flagged:.1%} "
                   "(whole held-out photos, 3 downscales, crops)")]
    names = args.holdout.split(",")
    lines += [f"  {names[i]}: {int(real_flagged[np.array(sources) == i].sum())}/{sources.count(i)} flagged"
              for i in range(len(names))]
    figures = {"kind_f1": kind_f1, "clean_accuracy": accuracy, "clean_confusion": table, "tier_confusion": tiers,
               "real_clean_flagged": flagged, "images": len(labels), "real_clean_images": len(real)}
    if not args.skip_speed:
        figures.update(speed(model, args.perceiver, photos[0]))
        lines += [(f"4K photo: model {figures['model_4k_s'] * 1000:.0f} ms, whole `uhdrestore inspect` process "
                   f"{figures['inspect_4k_process_s']:.2f} s")]
    checks = [("every kind F1 >= 0.9", min(kind_f1.values()) >= TARGET_F1),
              ("clean vs degraded accuracy >= 95%", accuracy >= TARGET_ACCURACY),
              ("real clean photos flagged <= 5%", flagged <= TARGET_FLAGGED)]
    if not args.skip_speed:
        checks += [("model < 1 s on 4K", figures["model_4k_s"] < 1.0),
                   ("inspect process < 5 s on 4K", figures["inspect_4k_process_s"] < 5.0)]
    lines += ["", "targets:"] + [f"  {'PASS' if ok else 'FAIL'}  {name}" for name, ok in checks]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
