"""List the training photos a model damages when they are clean: the `uhdrestore train --hard-clean` file.

    .venv/bin/python recipes/hard_clean.py OUT.tsv [--model default] [--clean DIR ...]
           [--holdout-list benchmarks/validation_photos.tsv] [--jpeg-downscale 2] [--under 35] [--side 768]

Each training photo (held-out ones skipped, JPEGs shrunk as training shrinks them) goes through the
model whole, long side at most `--side`, and is listed when it comes back under `--under` dB against
itself. Training on them whole as clean samples (`--hard-clean OUT.tsv`) is review learning's replay
of hard samples, applied to photos the model should leave alone. Only training photos are listed, so
the validation list stays unseen.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from uhdrestore.hub import load_model
from uhdrestore.metrics import psnr
from uhdrestore.train.data import CleanPhotos, read_holdout_list

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="default")
    parser.add_argument("--clean", type=Path, action="append",
                        default=None, help="clean photo folder (repeat); default: the shared photos")
    parser.add_argument("--holdout-list", type=Path, default=ROOT / "benchmarks" / "validation_photos.tsv")
    parser.add_argument("--jpeg-downscale", type=float, default=2.0)
    parser.add_argument("--under", type=float, default=35.0, help="listed when the photo comes back under this")
    parser.add_argument("--side", type=int, default=768)
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "data"
    folders = args.clean or [shared / "photos", shared / "train-photos"]
    photos = CleanPhotos(folders, holdout=read_holdout_list(args.holdout_list), seed=0,
                         jpeg_downscale=args.jpeg_downscale)
    model = load_model(args.model, local_files_only=True).module.eval()
    damaged = []
    for name, rgb in zip(photos.train_names, photos.train):
        scale = min(1.0, args.side / max(rgb.shape[:2]))
        if scale < 1:
            rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                             interpolation=cv2.INTER_AREA)
        image = torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)[None].contiguous()
        with torch.no_grad():
            score = float(psnr(model(image).clamp(0, 1), image))
        if score < args.under:
            damaged.append((name, score))
    damaged.sort(key=lambda item: item[1])
    lines = [f"# {len(damaged)} of {len(photos.train_names)} training photos under {args.under:g} dB through "
             f"{args.model} (whole, long side <= {args.side})",
             f"# command: python recipes/hard_clean.py {shlex.join(sys.argv[1:])}", "path\tpsnr"]
    lines += [f"{name}\t{score:.2f}" for name, score in damaged]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"{len(damaged)} of {len(photos.train_names)} training photos under {args.under:g} dB: {args.out}")


if __name__ == "__main__":
    main()
