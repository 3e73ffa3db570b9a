"""The scaling study's table: per run (a preset, with or without the dark channel), training time,
validation PSNR, foreign-recipe gains, speed.

    python benchmarks/scaling_table.py runs/scaling     # after bash benchmarks/scaling_study.sh

Reads each run folder's matrix.json (in-loop validation) and metrics.jsonl (training time), the
quality.py JSON beside it, and times the network alone on a 1024x1024 image (median of 5 after
one warm-up, on this process's threads), so sizes are compared side by side on one machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from uhdrestore.hub import load_model  # noqa: E402
from uhdrestore.models import PRESETS  # noqa: E402

VARIANTS = (*PRESETS, *(f"{preset}-dark" for preset in PRESETS))  # scaling_study.sh's run names


def megapixel_seconds(model: torch.nn.Module) -> float:
    image = torch.rand(1, 3, 1024, 1024)
    times = []
    with torch.inference_mode():
        for index in range(6):
            started = time.perf_counter()
            model(image)
            if index:
                times.append(time.perf_counter() - started)
    return statistics.median(times)


def train_minutes(run: Path) -> float:
    """Training minutes: the largest `seconds` (the loop's own running clock) in metrics.jsonl."""
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    seconds = [line["seconds"] for line in lines if "seconds" in line]
    return max(seconds) / 60 if seconds else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    rows = []
    for variant in VARIANTS:
        run = args.out / variant
        if not (run / "model" / "model.safetensors").is_file():
            continue
        loaded = load_model(str(run / "model"))
        parameters = sum(p.numel() for p in loaded.module.parameters())
        matrix = json.loads((run / "matrix.json").read_text())
        quality = json.loads((args.out / f"{variant}.json").read_text())
        gains = {s["recipe"]: s["gain_db"] for s in quality["summaries"] if s["view"] == "whole"}
        worse = max(s["share_worse"] for s in quality["summaries"] if s["view"] == "whole")
        clean = next(c for c in quality["clean"] if c["view"] == "whole")
        rows.append((variant, parameters, train_minutes(run), matrix["summary"]["final_average_psnr"],
                     statistics.mean(gains.values()), gains.get("rain100h", float("nan")),
                     min(gains.get("blur", 0.0), gains.get("gopro", 0.0)), worse, clean["mean_db"],
                     megapixel_seconds(loaded.module.eval())))
    print(f"# scaling study ({machine()}); runs in {args.out}")
    print(f"{'preset':<11}{'params':>9}{'train min':>10}{'val PSNR':>9}{'foreign':>9}{'rain100h':>9}"
          f"{'blur min':>9}{'max worse':>10}{'clean dB':>9}{'s / MP':>8}")
    for variant, parameters, minutes, val, mean, heavy, blur, worse, clean, seconds in rows:
        print(f"{variant:<11}{parameters / 1e6:>8.2f}M{minutes:>10.1f}{val:>9.2f}{mean:>+9.2f}{heavy:>+9.2f}"
              f"{blur:>+9.2f}{worse:>10.0%}{clean:>9.2f}{seconds:>8.3f}")
    print("# val PSNR: in-loop validation, mean over the 8 tasks; foreign: mean gain (dB) over the 12 foreign "
          "recipes, whole photos, 2 per group; blur min: the worse of the two blur recipes; max worse: the "
          "highest share of images made worse over recipes; -dark: the context also reads the dark channel")


if __name__ == "__main__":
    main()
