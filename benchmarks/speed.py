"""4K inference speed and peak memory: the network untiled and tiled, on CPU (and CUDA when present).

    python benchmarks/speed.py [--repeats 3] [--model default] [--json out.json]

Each configuration runs in a fresh process so its peak memory is its own (peak RSS on
CPU, torch.cuda.max_memory_allocated on CUDA). Times are medians after one warm-up run.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import benchmark_model, machine  # noqa: E402

from uhdrestore.restore import TileConfig, restore_image  # noqa: E402
from uhdrestore.runtime import resolve_runtime  # noqa: E402

WIDTH, HEIGHT = 3840, 2160


def measure(device: str, tile: str, repeats: int, model_spec: str) -> dict[str, object]:
    """Run one configuration in this process and return its figures."""
    runtime = resolve_runtime(device)
    model, described = benchmark_model(model_spec)
    model = model.to(runtime.device, memory_format=torch.channels_last)
    image = np.random.default_rng(0).random((HEIGHT, WIDTH, 3), dtype=np.float32)
    tiles = TileConfig(tile="auto" if tile == "auto" else int(tile))
    times, result = [], None
    for _ in range(repeats + 1):  # the first run warms up and is not counted
        if runtime.is_cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        result = restore_image(image, model, runtime, tiles)
        if runtime.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    if runtime.is_cuda:
        peak = torch.cuda.max_memory_allocated() / 2**30
        peak_kind = "GPU allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        peak_kind = "process RSS"
    return {"device": runtime.describe(), "tile": tile, "tile_used": result.tiling.tile,
            "tiles": result.tiling.tiles, "median_s": statistics.median(times[1:]),
            "peak_gib": peak, "peak_kind": peak_kind, "model": described}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="default")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--worker", nargs=2, metavar=("DEVICE", "TILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(*args.worker, args.repeats, args.model)))
        return

    configs = [("cpu", "0"), ("cpu", "512"), ("cpu", "1024"), ("cpu", "auto")]
    if torch.cuda.is_available():
        configs += [("cuda", "0"), ("cuda", "1024"), ("cuda", "auto")]
    rows = []
    for device, tile in configs:
        output = subprocess.run([sys.executable, __file__, "--worker", device, tile, "--repeats",
                                 str(args.repeats), "--model", args.model],
                                check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    untiled = {row["device"]: row["median_s"] for row in rows if row["tile"] == "0"}
    print(f"# {WIDTH}x{HEIGHT}, network only (restore_image), median of {args.repeats} after warm-up")
    print(f"# machine: {machine()}")
    print(f"# model: {rows[0]['model']}")
    print(f"{'device':<28} {'--tile':>7} {'used':>6} {'tiles':>6} {'median s':>9} {'vs untiled':>10} "
          f"{'peak GiB':>9}  peak of")
    for row in rows:
        ratio = row["median_s"] / untiled[row["device"]]
        print(f"{row['device']:<28} {row['tile']:>7} {row['tile_used']:>6} {row['tiles']:>6} "
              f"{row['median_s']:>9.2f} {ratio:>9.2f}x {row['peak_gib']:>9.2f}  {row['peak_kind']}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
