"""Is the whole-image decision steadier when the context is read from parts of the photo too?

    python benchmarks/context_views.py [--model default] [--rules own,quadrants] [--limit N]
           [--photos ../shared/data/photos] [--photos-list benchmarks/validation_photos.tsv] [--side 768]

`benchmarks/context_swap.py` shows that the clean photos v5 damages are damaged by the context vector
read from the whole photo's thumbnail, and that this decision is fragile: a crop of the same photo
often reads as clean. This benchmark restores every validation photo (whole, long side `--side`),
clean and through each foreign recipe at severity 0.5 (seeded as `quality.py --foreign` seeds its whole
photos, so the `own` rule reproduces its figures), once per context rule:
- own: the context of the whole photo, as `fix` runs it;
- quadrants: the mean of the context vectors of the whole photo and of its four quadrants;
- quadrants-only: the mean over the four quadrants;
- grid3: the mean over the whole photo, its four quadrants and its 3 x 3 grid.
Per recipe it prints the mean gain over the input, the share of photos made worse and the worst gain;
for clean photos the mean PSNR against themselves, the share under 35 dB and the worst.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import benchmark_model, image_psnr, image_tensor, machine
from foreign import FOREIGN, foreign_degrade
from quality import SEED, SUMMARY_SEVERITY
from validation import VALIDATION_LIST, VALIDATION_PHOTOS, WHOLE_INDEX, load_photo, read_photo_list, recipe_key

DAMAGED_DB = 35.0  # the worst-photo target for clean photos


def grid(image: np.ndarray, parts: int) -> list[np.ndarray]:
    """The `parts` x `parts` tiles of `image` (H, W, 3), row by row, covering it without overlap."""
    height, width = image.shape[:2]
    rows = [round(i * height / parts) for i in range(parts + 1)]
    columns = [round(j * width / parts) for j in range(parts + 1)]
    return [image[rows[i]:rows[i + 1], columns[j]:columns[j + 1]] for i in range(parts) for j in range(parts)]


RULES = {
    "own": lambda image: [image],
    "quadrants": lambda image: [image, *grid(image, 2)],
    "quadrants-only": lambda image: grid(image, 2),
    "grid3": lambda image: [image, *grid(image, 2), *grid(image, 3)],
}


@torch.no_grad()
def restore_with_rule(model: torch.nn.Module, image: np.ndarray, rule: str) -> np.ndarray:
    """`image` through `model` with the mean context of the views `RULES[rule]` cuts from it."""
    contexts = [model.encode_context(model.thumbnail(image_tensor(view))) for view in RULES[rule](image)]
    context = torch.stack(contexts).mean(dim=0)
    return model(image_tensor(image), context=context).clamp(0, 1)[0].permute(1, 2, 0).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--rules", default="own,quadrants", help=f"comma-separated, among {', '.join(RULES)}")
    parser.add_argument("--photos", type=Path, default=VALIDATION_PHOTOS)
    parser.add_argument("--photos-list", type=Path, default=VALIDATION_LIST)
    parser.add_argument("--limit", type=int, default=None, help="first N photos of each content group")
    parser.add_argument("--side", type=int, default=768, help="long side of the whole photos")
    args = parser.parse_args()
    rules = args.rules.split(",")
    if unknown := [rule for rule in rules if rule not in RULES]:
        raise SystemExit(f"error: unknown rule {unknown[0]!r}; choose among {', '.join(RULES)}")
    if not args.photos.is_dir():
        raise SystemExit(f"error: {args.photos} is not a folder of photos")
    model, described = benchmark_model(args.model)
    model.eval()
    rows = read_photo_list(args.photos_list, limit=args.limit)
    scores: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for list_index, (path, _) in rows:
        clean = load_photo(args.photos, path, long_side=args.side)
        cases = [("clean", clean)]
        for recipe in FOREIGN:
            rng = np.random.default_rng([SEED, recipe_key(recipe), round(SUMMARY_SEVERITY * 100), list_index,
                                         WHOLE_INDEX])
            cases.append((recipe, foreign_degrade(clean, recipe, rng, SUMMARY_SEVERITY)))
        for recipe, image in cases:
            before = 0.0 if recipe == "clean" else image_psnr(image, clean)
            for rule in rules:
                after = image_psnr(restore_with_rule(model, image, rule), clean)
                scores.setdefault((recipe, rule), []).append((after - before, path))
    print(f"# machine: {machine()}; model: {described}; {len(rows)} whole photos, long side <= {args.side}; "
          f"foreign recipes at severity {SUMMARY_SEVERITY}")
    print("# per rule: mean gain (dB), share made worse, worst gain; clean: mean PSNR, share under "
          f"{DAMAGED_DB:.0f} dB, worst")
    print(f"{'recipe':10s} " + " ".join(f"{rule:>22s}" for rule in rules))
    for recipe in ("clean", *FOREIGN):
        cells = []
        for rule in rules:
            values = np.array([value for value, _ in scores[(recipe, rule)]])
            bad = values < (DAMAGED_DB if recipe == "clean" else 0.0)
            cells.append(f"{values.mean():+7.2f} {bad.mean():4.0%} {values.min():+7.2f}")
        print(f"{recipe:10s} " + " ".join(f"{cell:>22s}" for cell in cells))
    averages = {rule: np.mean([np.mean([v for v, _ in scores[(recipe, rule)]]) for recipe in FOREIGN])
                for rule in rules}
    print(f"{'average':10s} " + " ".join(f"{averages[rule]:+22.2f}" for rule in rules))
    for rule in rules:
        worst = sorted((value, recipe, path) for recipe in FOREIGN for value, path in scores[(recipe, rule)])[:5]
        print(f"# {rule}: worst images " + "; ".join(f"{path} {recipe} {value:+.2f}" for value, recipe, path in worst))


if __name__ == "__main__":
    main()
