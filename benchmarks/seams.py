"""Seams: tiled vs untiled output of the same model on a real 2048x2048 photo, as PSNR.

    python benchmarks/seams.py [PHOTO] [--model default] [--tile 512]

PHOTO defaults to ../shared/data/train-photos/Wood.jpg, scaled so its short side is
2048 and centre-cropped to 2048x2048. Prints one row per overlap; the default overlap
must give >= 50 dB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import benchmark_model, image_psnr, machine  # noqa: E402

from uhdrestore.io import read_image, to_float  # noqa: E402
from uhdrestore.restore import TileConfig, restore_image  # noqa: E402
from uhdrestore.runtime import resolve_runtime  # noqa: E402

DEFAULT_PHOTO = Path(__file__).resolve().parents[2] / "shared" / "data" / "train-photos" / "Wood.jpg"
SIDE = 2048


def square_photo(path: Path) -> np.ndarray:
    rgb = to_float(read_image(path).rgb)
    scale = SIDE / min(rgb.shape[:2])
    if scale != 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (rgb.shape[0] - SIDE) // 2, (rgb.shape[1] - SIDE) // 2
    return np.ascontiguousarray(np.clip(rgb[top:top + SIDE, left:left + SIDE], 0, 1), dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", nargs="?", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--model", default="default")
    parser.add_argument("--tile", type=int, default=512)
    args = parser.parse_args()

    runtime = resolve_runtime("cpu")
    model, described = benchmark_model(args.model)
    model = model.to(memory_format=torch.channels_last)
    image = square_photo(args.photo)
    whole = restore_image(image, model, runtime, TileConfig(tile=0)).image
    default_overlap = TileConfig().overlap
    print(f"# {args.photo.name} at {SIDE}x{SIDE}, --tile {args.tile}; model: {described}")
    print(f"# machine: {machine()}")
    print(f"# untiled output vs input: {image_psnr(whole, image):.2f} dB (how much the model changes the photo)")
    print(f"{'overlap':>8} {'tiles':>6} {'PSNR tiled vs untiled':>22} {'max abs diff (8-bit)':>21}")
    for overlap in sorted({0, 8, 16, default_overlap, 64}):
        result = restore_image(image, model, runtime, TileConfig(tile=args.tile, overlap=overlap))
        mark = "  <- default" if overlap == default_overlap else ""
        print(f"{overlap:>8} {result.tiling.tiles:>6} {image_psnr(result.image, whole):>19.2f} dB "
              f"{np.abs(result.image - whole).max() * 255:>21.2f}{mark}")


if __name__ == "__main__":
    main()
