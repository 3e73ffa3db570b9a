"""What `fix --strength` trades: gain, share made worse and worst image at several strengths, in one pass.

    python benchmarks/strength.py [--model default] [--guard default] [--strengths 1,0.85,0.7,0.5]
           [--limit N] [--whole-side 768] [--severity 0.5]

Every validation photo (benchmarks/validation.py), whole, is degraded by each foreign recipe
(benchmarks/foreign.py, seeded as quality.py seeds them) and restored once, as `fix` restores it
(with `--guard` as `fix --guard`); the output at strength S is input + S x (restored - input),
uhdrestore.guard.blend, so every strength is scored on the same restorations. Clean photos go
through too: their row is PSNR against themselves (capped at 100 dB).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import benchmark_model, machine
from foreign import FOREIGN, foreign_degrade
from quality import SEED, image_psnr  # capped at 100 dB, as quality.py reports clean photos
from validation import VALIDATION_LIST, VALIDATION_PHOTOS, read_photo_list, recipe_key, validation_samples

from uhdrestore.guard import blend, guarded_restore
from uhdrestore.io import Image
from uhdrestore.perceive.inspect import load_perceiver
from uhdrestore.restore import TileConfig, restore_image
from uhdrestore.runtime import resolve_runtime


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--guard", metavar="PERCEIVER", default=None,
                        help="restore as fix --guard does with this perceiver ('default' or a folder)")
    parser.add_argument("--strengths", default="1,0.85,0.7,0.5", help="comma-separated, each in [0, 1]")
    parser.add_argument("--limit", type=int, default=None, help="first N photos of each group")
    parser.add_argument("--whole-side", type=int, default=768)
    parser.add_argument("--severity", type=float, default=0.5)
    args = parser.parse_args()
    args.strengths = [float(value) for value in args.strengths.split(",")]
    if not all(0.0 <= value <= 1.0 for value in args.strengths):
        parser.error("--strengths: each must be in [0, 1]")
    return args


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    runtime = resolve_runtime("cpu")
    model, described = benchmark_model(args.model)
    model = model.to(runtime.device).eval()
    judge = load_perceiver(args.guard).module.eval() if args.guard else None

    def restore(image: Image) -> tuple[Image, None]:
        return Image(rgb=restore_image(image.rgb, model, runtime, TileConfig(tile=0)).image, alpha=None), None

    entries = read_photo_list(VALIDATION_LIST, limit=args.limit)
    samples = validation_samples(VALIDATION_PHOTOS, entries, whole_side=args.whole_side, views=("whole",))
    print(f"# python benchmarks/strength.py --model {args.model}" + (f" --guard {args.guard}" if args.guard else "")
          + f" --strengths {','.join(f'{value:g}' for value in args.strengths)} --severity {args.severity:g}")
    print(f"# machine: {machine()}; model: {described}; {len(samples)} validation photos, whole, long side "
          f"<= {args.whole_side} px; foreign recipes at severity {args.severity:g}")
    print("# per strength: mean gain over the input (dB), share of photos made worse, worst photo's gain; "
          "clean: mean and worst PSNR against itself (capped at 100 dB), share under 35 dB")
    print(f"{'recipe':<10}" + "".join(f" | {'S=' + format(value, 'g'):<22}" for value in args.strengths))
    for recipe in ["clean", *FOREIGN]:
        scores: dict[float, list[float]] = {value: [] for value in args.strengths}
        for sample in samples:
            degraded = sample.image
            if recipe != "clean":
                rng = np.random.default_rng([SEED, recipe_key(recipe), round(args.severity * 100),
                                             sample.list_index, sample.index])
                degraded = foreign_degrade(sample.image, recipe, rng, args.severity)
            before = Image(rgb=degraded, alpha=None)
            restored, _, _ = guarded_restore(restore, judge, before)
            baseline = 0.0 if recipe == "clean" else image_psnr(degraded, sample.image)
            for value in args.strengths:
                scores[value].append(image_psnr(blend(before, restored, value).rgb, sample.image) - baseline)
        cells = []
        for value in args.strengths:
            values = np.array(scores[value])
            if recipe == "clean":
                cells.append(f"{values.mean():6.2f} {values.min():6.2f} {np.mean(values < 35):4.0%}  ")
            else:
                cells.append(f"{values.mean():+6.2f} {np.mean(values < 0):4.0%} {values.min():+7.2f}  ")
        print(f"{recipe:<10}" + "".join(f" | {cell:<22}" for cell in cells), flush=True)
    print(f"# {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
