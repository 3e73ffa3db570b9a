"""How the whole-image context's field of view changes what the network does to a clean photo.

    python benchmarks/context_fov.py [--model default] [--photos ../shared/data/train-photos]

The network reads its channel gates from a thumbnail: in training, the thumbnail of a 128-pixel
view; in `fix`, the thumbnail of the whole image. This prints, for clean crops of the held-out
photos at the same positions and growing sizes, and for the whole photos, the PSNR of the model's
output against its input (a clean photo should come back unchanged) with the context read three ways:
- thumbnail: one thumbnail of the whole crop, as `fix` does;
- centre: the crop's centre 128 pixels only (the field of view of one training view);
- windows: the mean of the contexts of a 4x4 grid of 128-pixel windows.
If a column falls where another does not, the damage comes from the context, not from the
network's local filters.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import benchmark_model, machine
from quality import DEFAULT_PHOTOS

from uhdrestore.io import read_image, to_float
from uhdrestore.metrics import psnr

SIZES = (64, 128, 256, 512)
POSITIONS = ((296, 596), (427, 173), (139, 221), (472, 130))  # top, left: 512-pixel crops fit both photos
TRAINING_VIEW = 128  # the training views the default model's context learned from (recipes/train_default.sh)
GRID = 4


def contexts(model: torch.nn.Module, image: torch.Tensor) -> dict[str, torch.Tensor]:
    """The three context vectors of (1, 3, H, W) `image`."""
    view = TRAINING_VIEW
    height, width = image.shape[-2:]
    top, left = max((height - view) // 2, 0), max((width - view) // 2, 0)
    centre = image[..., top:top + view, left:left + view]
    windows = torch.cat([image[..., row:row + view, column:column + view]
                         for row in np.linspace(0, max(height - view, 0), GRID).round().astype(int)
                         for column in np.linspace(0, max(width - view, 0), GRID).round().astype(int)])
    return {"thumbnail": model.encode_context(model.thumbnail(image)),
            "centre": model.encode_context(model.thumbnail(centre)),
            "windows": model.encode_context(model.thumbnail(windows)).mean(dim=0, keepdim=True)}


def scores_of(model: torch.nn.Module, crops: list[np.ndarray]) -> dict[str, list[float]]:
    """PSNR of the output against each clean input, per way of reading the context."""
    scores: dict[str, list[float]] = {"thumbnail": [], "centre": [], "windows": []}
    for crop in crops:
        image = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float()
        with torch.no_grad():
            for name, context in contexts(model, image).items():
                scores[name].append(float(psnr(model(image, context=context).clamp(0, 1), image)[0]))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--holdout", default="GreenMeadow.jpg,Dune.jpg")
    args = parser.parse_args()
    model, description = benchmark_model(args.model)
    model.eval()
    photos = {name: to_float(read_image(args.photos / name).rgb) for name in args.holdout.split(",")}
    print(f"# machine: {machine()}\n# model: {description}; clean crops at {len(POSITIONS)} positions of "
          f"{', '.join(photos)}\n# mean PSNR (dB) of the output against the clean crop, by where the context is read")
    print(f"{'crop':>6} {'thumbnail':>9} {'centre':>8} {'windows':>8}   thumbnail | windows, per crop")
    rows = [(str(side), [rgb[top:top + side, left:left + side] for rgb in photos.values()
                         for top, left in POSITIONS]) for side in SIZES]
    for label, crops in rows + [("whole", list(photos.values()))]:
        scores = scores_of(model, crops)
        each = [" ".join(f"{value:.1f}" for value in scores[name]) for name in ("thumbnail", "windows")]
        print(f"{label:>6} {np.mean(scores['thumbnail']):9.2f} {np.mean(scores['centre']):8.2f} "
              f"{np.mean(scores['windows']):8.2f}   {each[0]} | {each[1]}")


if __name__ == "__main__":
    main()
