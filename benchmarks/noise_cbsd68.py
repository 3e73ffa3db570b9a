"""Colour denoising in the CBSD68 protocol, on our validation photos: noisy input, uhdrestore, NL-means, BM3D.

    python benchmarks/noise_cbsd68.py [--model default] [--limit N] [--sigmas 15,25,50]
           [--bm3d-limit 1] [--bm3d-sigmas 25] [--crops 1] [--crop-size 512] [--grain 0]
           [--json out.json] [--per-image out.tsv]

The all-in-one restoration papers (AirNet, PromptIR) score colour denoising on CBSD68 (68 photos of
481x321) with white Gaussian noise of sigma 15, 25 and 50 added to the clean photo and the result
saved as 8 bits. We copy that protocol on the crops of the validation list (benchmarks/validation.py:
one seeded 512-px crop per photo, or the whole photo when its short side is under 512 px, so sizes
are close to CBSD68's), noise seeded by [SEED, sigma, list index, crop]. Methods:

- input: the noisy image itself (its PSNR falls as the sigma grows: about 24.6, 20.2, 14.2 dB);
- uhdrestore: the model, untiled, on CPU;
- NL-means: OpenCV's fastNlMeansDenoisingColored with h = hColor = sigma (the true one, in 8-bit
  levels), 7-px templates, 21-px search window;
- BM3D: `bm3d.bm3d_rgb` (the reference implementation of Dabov et al. / Mäkinen et al., PyPI
  `bm3d`, a benchmark-only baseline) with the true sigma. It takes 10-40 s per image on one shared
  core, so it runs on the first --bm3d-limit photos of each group only (1 by default: 7 images) and
  at --bm3d-sigmas (25 by default, the sigma of the target), and the model and NL-means are compared
  with it on that subset.

With --grain G the noise is no longer white: the field is blurred by a Gaussian of G px and scaled
back to std sigma, so it comes in blotches of a few pixels, as noise does in demosaiced, in-camera
denoised or upscaled photos (the protocol's variant for spatially correlated noise; 0: white, CBSD68's).

Reported per sigma: mean PSNR per content group and over all, the share of images the model made
worse than the noisy input, and the worst image by name.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import benchmark_model, image_psnr, machine
from foreign import awgn, quantise
from validation import GROUPS, VALIDATION_LIST, VALIDATION_PHOTOS, read_photo_list, validation_samples, write_per_image

from uhdrestore.restore import TileConfig, restore_image
from uhdrestore.runtime import resolve_runtime

SEED = 68
METHODS = ("input", "model", "nlm", "bm3d")
NAMES = {"input": "noisy input", "model": "uhdrestore", "nlm": "NL-means h=sigma", "bm3d": "BM3D true sigma"}


def correlated_noise(image: np.ndarray, rng: np.random.Generator, sigma: float, grain: float) -> np.ndarray:
    """`image` plus Gaussian noise of std sigma / 255, blurred by a Gaussian of `grain` px first (0: white)."""
    if grain <= 0:
        return awgn(image, rng, sigma)
    field = rng.standard_normal(image.shape).astype(np.float32)
    taps = cv2.getGaussianKernel(2 * int(np.ceil(3 * grain)) + 1, grain).ravel()
    field = cv2.sepFilter2D(field, -1, taps, taps, borderType=cv2.BORDER_REFLECT_101) / np.float32(np.sum(taps**2))
    return image + field * np.float32(sigma / 255)


def nlm(image: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] -> same: OpenCV colour NL-means with h = hColor = sigma (8-bit levels)."""
    bgr = cv2.cvtColor(np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
    out = cv2.fastNlMeansDenoisingColored(bgr, None, h=float(sigma), hColor=float(sigma),
                                          templateWindowSize=7, searchWindowSize=21)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(255)


def bm3d_denoiser():
    """bm3d.bm3d_rgb, or None (with a note) when the package is not installed."""
    try:
        import bm3d
    except ImportError:
        print("# BM3D skipped: `pip install bm3d` (a benchmark-only baseline) to include it", file=sys.stderr)
        return None
    return lambda image, sigma: np.clip(bm3d.bm3d_rgb(image, sigma / 255), 0, 1).astype(np.float32)


def print_sigma(records: list[dict], sigma: int) -> dict:
    """The table of one sigma; returns its summary."""
    rows = [record for record in records if record["sigma"] == sigma]
    groups = [group for group in GROUPS if any(row["group"] == group for row in rows)]
    print(f"\n## sigma {sigma}: {len(rows)} images; PSNR in dB against the clean image")
    print(f"{'method':<18}" + "".join(f"{group[:8]:>9}" for group in groups) + f" |{'all':>7}")
    summary = {"sigma": sigma, "images": len(rows), "mean_db": {}, "by_group_db": {}}
    for method in ("input", "model", "nlm"):
        by_group = {group: float(np.mean([row[method] for row in rows if row["group"] == group])) for group in groups}
        overall = float(np.mean([row[method] for row in rows]))
        summary["mean_db"][method], summary["by_group_db"][method] = overall, by_group
        print(f"{NAMES[method]:<18}" + "".join(f"{by_group[group]:>9.2f}" for group in groups) + f" |{overall:>7.2f}")
    gains = [row["model"] - row["input"] for row in rows]
    worst = min(rows, key=lambda row: row["model"] - row["input"])
    behind_nlm = float(np.mean([row["model"] < row["nlm"] for row in rows]))
    summary.update(share_worse=float(np.mean([gain < 0 for gain in gains])), gain_db=float(np.mean(gains)),
                   share_behind_nlm=behind_nlm,
                   worst={"image": worst["name"], "gain_db": worst["model"] - worst["input"]})
    print(f"uhdrestore: gain {summary['gain_db']:+.2f} dB, made worse than the noisy input: "
          f"{summary['share_worse']:.0%}, worst {worst['name']} ({summary['worst']['gain_db']:+.2f}); "
          f"behind NL-means on {behind_nlm:.0%} of images")
    subset = [row for row in rows if "bm3d" in row]
    if subset:
        means = {method: float(np.mean([row[method] for row in subset])) for method in METHODS}
        summary["bm3d_subset"] = {"images": len(subset), "mean_db": means,
                                  "photos": [row["name"] for row in subset]}
        print(f"BM3D subset ({len(subset)} images, first of each group): "
              + ", ".join(f"{NAMES[method]} {means[method]:.2f}" for method in METHODS)
              + f"; uhdrestore - BM3D {means['model'] - means['bm3d']:+.2f} dB")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default")
    parser.add_argument("--photos", type=Path, default=VALIDATION_PHOTOS)
    parser.add_argument("--photos-list", type=Path, default=VALIDATION_LIST)
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos of each content group")
    parser.add_argument("--sigmas", default="15,25,50")
    parser.add_argument("--bm3d-limit", type=int, default=1, help="photos per group that also get BM3D (0: none)")
    parser.add_argument("--bm3d-sigmas", default="25", help="sigmas at which BM3D runs (comma-separated)")
    parser.add_argument("--crops", type=int, default=1)
    parser.add_argument("--crop-size", type=int, default=512)
    parser.add_argument("--grain", type=float, default=0.0,
                        help="blur the noise field by this many px (std kept): spatially correlated noise; 0: white")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--per-image", type=Path, help="also write one TSV line per (sigma, image) here")
    args = parser.parse_args()
    sigmas = [int(value) for value in args.sigmas.split(",")]
    bm3d_sigmas = {int(value) for value in args.bm3d_sigmas.split(",") if value.strip()}

    runtime = resolve_runtime("cpu")
    model, described = benchmark_model(args.model)
    model = model.to(runtime.device).eval()
    entries = read_photo_list(args.photos_list, limit=args.limit)
    samples = validation_samples(args.photos, entries, crops=args.crops, crop_size=args.crop_size, views=("crops",))
    with_bm3d = {index for index, _ in read_photo_list(args.photos_list, limit=args.bm3d_limit)} \
        if args.bm3d_limit > 0 else set()
    bm3d = bm3d_denoiser() if with_bm3d else None

    started, records = time.perf_counter(), []
    for sigma in sigmas:
        clock = time.perf_counter()
        for sample in samples:
            rng = np.random.default_rng([SEED, sigma, sample.list_index, sample.index])
            noisy = quantise(correlated_noise(sample.image, rng, sigma, args.grain))
            restored = restore_image(noisy, model, runtime, TileConfig(tile=0)).image
            record = {"recipe": f"awgn{sigma}", "sigma": sigma, "group": sample.group, "photo": sample.photo,
                      "name": sample.name, "views": sample.views, "input": image_psnr(noisy, sample.image),
                      "model": image_psnr(restored, sample.image), "nlm": image_psnr(nlm(noisy, sigma), sample.image)}
            if bm3d is not None and sample.list_index in with_bm3d and sigma in bm3d_sigmas:
                record["bm3d"] = image_psnr(bm3d(noisy, sigma), sample.image)
            records.append(record)
        print(f"  sigma {sigma}: {time.perf_counter() - clock:.0f} s", file=sys.stderr, flush=True)

    parameters = sum(parameter.numel() for parameter in model.parameters()) / 1e6
    print(f"# machine: {machine()}; model on {runtime.describe()}, untiled")
    print(f"# model: {described} ({parameters:.2f} M parameters)")
    print(f"# photos: {len(entries)} of {args.photos_list.name} in {args.photos}, {len(samples)} images: one "
          f"{args.crop_size}-px crop each, or the whole photo when smaller")
    grain = f", blurred by a Gaussian of {args.grain:g} px (std kept)" if args.grain > 0 else ""
    print(f"# noisy = 8-bit(clean + N(0, sigma / 255){grain}), rng [{SEED}, sigma, list index, crop]; "
          f"BM3D at sigma {args.bm3d_sigmas} on the first {args.bm3d_limit} photo(s) of each group"
          + ("" if bm3d else " (not installed)"))
    summaries = [print_sigma(records, sigma) for sigma in sigmas]

    print("\n# issue 15 targets")
    for summary in summaries:
        sigma, means = summary["sigma"], summary["mean_db"]
        print(f"{'PASS' if summary['share_worse'] == 0 else 'FAIL'}  sigma {sigma}: never below the noisy input "
              f"({summary['share_worse']:.0%} of images below it)")
        print(f"{'PASS' if means['model'] > means['nlm'] else 'FAIL'}  sigma {sigma}: above NL-means "
              f"(uhdrestore {means['model']:.2f}, NL-means {means['nlm']:.2f})")
        if sigma == 25 and "bm3d_subset" in summary:
            subset = summary["bm3d_subset"]["mean_db"]
            print(f"{'PASS' if subset['model'] >= subset['bm3d'] - 1 else 'FAIL'}  sigma 25: within 1 dB of BM3D "
                  f"(uhdrestore {subset['model']:.2f}, BM3D {subset['bm3d']:.2f} on its subset)")
    print(f"# {time.perf_counter() - started:.0f} s")

    if args.per_image:
        for record in records:
            record.setdefault("bm3d", float("nan"))
        write_per_image(args.per_image, records, ["input", "model", "nlm", "bm3d"])
    if args.json:
        for record in records:
            record["views"] = sorted(record["views"])
        args.json.write_text(json.dumps({"model": described, "machine": machine(), "summaries": summaries,
                                         "records": records}, indent=1))


if __name__ == "__main__":
    main()
