"""How much of the model's error is a global tone shift: PSNR with the output's mean shift removed.

    python benchmarks/tone_shift.py [--model DIR] [--kinds clean,rain,snow,blur,haze,noise,lowlight]

On the quality benchmark's crops (`benchmarks/quality.py`: 8 fixed 512-px crops of the held-out
photos, the same degradation seeds, severity 0.5) it reports, per kind, the PSNR of the input and of
the model's output, and the output's PSNR after subtracting its per-channel mean error, i.e. if
its global exposure and colour were right. A large difference says the local restoration works and the
whole-image estimate (the context) is what costs dB.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common import image_psnr
from quality import DEFAULT_PHOTOS, SUMMARY_SEVERITY, degradation_rng, held_out_crops
from uhdrestore import Restorer, TileConfig
from uhdrestore.degrade import degrade



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--holdout", default="GreenMeadow.jpg,Dune.jpg")
    parser.add_argument("--kinds", default="clean,rain,snow,blur,haze,noise,lowlight")
    args = parser.parse_args()
    restorer = Restorer.from_pretrained(args.model, device="cpu", tiles=TileConfig(tile=0))
    crops, origins = held_out_crops(args.photos, args.holdout.split(","), 4, 512)
    print(f"# model: {args.model}; {len(crops)} crops of {args.holdout}, 512 px, severity {SUMMARY_SEVERITY}")
    print("# mean PSNR (dB) over the crops; 'tone fixed': the output minus its mean error per channel")
    print(f"{'kind':9s} {'input':>7s} {'model':>7s} {'tone fixed':>11s} {'|shift|':>8s}   model per crop")
    for kind in args.kinds.split(","):
        rows = []
        for clean, origin in zip(crops, origins, strict=True):
            degraded = clean if kind == "clean" else degrade(
                clean, kind, degradation_rng(kind, SUMMARY_SEVERITY, origin), SUMMARY_SEVERITY)
            output = restorer(degraded)
            shift = (output - clean).mean(axis=(0, 1))
            rows.append((image_psnr(degraded, clean) if kind != "clean" else np.inf, image_psnr(output, clean),
                         image_psnr(output - shift, clean), float(np.abs(shift).mean())))
        table = np.array(rows)
        print(f"{kind:9s} {table[:, 0].mean():7.2f} {table[:, 1].mean():7.2f} {table[:, 2].mean():11.2f} "
              f"{table[:, 3].mean():8.3f}   {' '.join(f'{value:.1f}' for value in table[:, 1])}")


if __name__ == "__main__":
    main()
