"""Which clean photos the whole-image context damages, and which half of its thumbnail misleads it.

    python benchmarks/context_swap.py [--model default] [--donor wikipedia/012.png] [--limit N]
           [--photos ../shared/data/photos] [--photos-list benchmarks/validation_photos.tsv] [--side 512]

Every clean photo of the validation list (whole, long side `--side`) goes through the model four
times, and the PSNR of the output against the photo itself (clean should come back unchanged) is
printed for each:
- own: as `fix` runs it, the context read from the photo's own thumbnail;
- donor: the context read from another clean photo (`--donor`, one the model leaves alone);
- own colour: the photo's own colour thumbnail with the donor's fine-detail thumbnail;
- own detail: the donor's colour thumbnail with the photo's own fine-detail thumbnail.
A photo damaged with its own context and unharmed with the donor's is damaged by the global
decision (how much veil or darkness to remove), not by the local filters; the last two columns say
whether its colours, its detail energy, or only both together trigger it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import benchmark_model, image_psnr, image_tensor, machine
from validation import GROUPS, VALIDATION_LIST, VALIDATION_PHOTOS, load_photo, read_photo_list

DAMAGED_DB = 35.0  # the worst-photo target: a clean photo under it counts as damaged
COLOUR, DETAIL = slice(0, 3), slice(3, 6)  # thumbnail channels (a 7th, the dark channel, stays the donor's)


def swap_scores(model: torch.nn.Module, image: np.ndarray, donor: np.ndarray) -> dict[str, float]:
    """PSNR of `image` through `model` against itself, with its context read four ways (module docstring)."""
    x, other = image_tensor(image), image_tensor(donor)
    own, theirs = model.thumbnail(x), model.thumbnail(other)
    own_colour, own_detail = theirs.clone(), theirs.clone()
    own_colour[:, COLOUR] = own[:, COLOUR]
    own_detail[:, DETAIL] = own[:, DETAIL]
    scores = {}
    with torch.no_grad():
        for name, thumb in (("own", own), ("donor", theirs), ("own colour", own_colour), ("own detail", own_detail)):
            restored = model(x, thumb=thumb).clamp(0, 1)[0].permute(1, 2, 0).numpy()
            scores[name] = image_psnr(restored, image)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--donor", default="wikipedia/012.png", help="a clean photo the model leaves alone")
    parser.add_argument("--photos", type=Path, default=VALIDATION_PHOTOS)
    parser.add_argument("--photos-list", type=Path, default=VALIDATION_LIST)
    parser.add_argument("--limit", type=int, default=None, help="first N photos of each content group")
    parser.add_argument("--side", type=int, default=512, help="long side of the whole photos")
    args = parser.parse_args()
    if not args.photos.is_dir():
        raise SystemExit(f"error: {args.photos} is not a folder of photos")
    model, described = benchmark_model(args.model)
    model.eval()
    donor = load_photo(args.photos, args.donor, long_side=args.side)
    rows = read_photo_list(args.photos_list, limit=args.limit)
    print(f"# machine: {machine()}; model: {described}; donor context: {args.donor}; "
          f"whole photos, long side <= {args.side}")
    print("# PSNR (dB) of each clean photo through the model against itself, the context read four ways")
    columns = ("own", "donor", "own colour", "own detail")
    print(f"{'photo':44s} {'group':9s} " + " ".join(f"{name:>10s}" for name in columns))
    results = []
    for _, (path, group) in rows:
        scores = swap_scores(model, load_photo(args.photos, path, long_side=args.side), donor)
        results.append((group, scores))
        if scores["own"] < DAMAGED_DB:
            print(f"{path:44s} {group:9s} " + " ".join(f"{scores[name]:10.2f}" for name in columns))
    print(f"# photos above: under {DAMAGED_DB:.0f} dB with their own context; per group, mean dB and share under it:")
    for group in (*GROUPS, "all"):
        picked = [scores for photo_group, scores in results if group in (photo_group, "all")]
        if picked:
            means = " ".join(f"{np.mean([s[name] for s in picked]):10.2f}" for name in columns)
            damaged = np.mean([s["own"] < DAMAGED_DB for s in picked])
            print(f"{'mean of ' + str(len(picked)):44s} {group:9s} {means}   {damaged:4.0%} damaged")


if __name__ == "__main__":
    main()
