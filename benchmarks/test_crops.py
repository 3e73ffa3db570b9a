"""The default-model test's check on any model: gain per kind on the two test crops, clean PSNR.

    python benchmarks/test_crops.py --model RUN/model

tests/test_default_model.py asserts floors on these figures for the bundled model; run this
on a candidate before it replaces weights/, so the floors can be set under what it measures.
The crops (tests/data/*_crop.png) are held out of training; degradations at a fixed seed, 0.5.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from common import image_psnr
from uhdrestore import Restorer, TileConfig
from uhdrestore.degrade import degrade
from uhdrestore.io import read_image, to_float

PHOTOS = sorted((Path(__file__).resolve().parents[1] / "tests" / "data").glob("*_crop.png"))
KINDS = ("rain", "haze", "noise", "blur", "snow", "lowlight")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    restored = Restorer.from_pretrained(args.model, device="cpu", tiles=TileConfig(tile=0))

    photos = [to_float(read_image(path).rgb) for path in PHOTOS]
    print(f"# model: {args.model}; crops: {', '.join(path.name for path in PHOTOS)}; severity 0.5, seeds 0, 1")
    for kind in KINDS:
        gains = []
        for index, clean in enumerate(photos):
            degraded = np.rint(degrade(clean, kind, np.random.default_rng(index), 0.5) * 255).astype(np.float32) / 255
            gains.append(image_psnr(restored(degraded), clean) - image_psnr(degraded, clean))
        print(f"{kind:10s} gain {np.mean(gains):+6.2f} dB  ({' '.join(f'{g:+.2f}' for g in gains)})")
    cleans = [image_psnr(restored(clean), clean) for clean in photos]
    print(f"{'clean':10s} PSNR {np.mean(cleans):6.2f} dB  ({' '.join(f'{c:.2f}' for c in cleans)})")


if __name__ == "__main__":
    main()
