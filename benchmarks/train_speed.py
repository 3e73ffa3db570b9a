"""Training throughput in one table: the network alone, sample synthesis alone, and the loop as `train` runs it.

    python benchmarks/train_speed.py [--threads 1,2] [--steps 400] [--repeats 2] [--kinds blur,noise,rain,...]
                                     [--cache-gb 4] [--visits 20] [--json out.json]

Why these rows: every hour of a CPU training run should go to the network. The loop is
compared with what forward + backward + AdamW of the same network reach on the same
batch shape; synthesis per kind says which degradations make the loop wait; the peak row
(a large float32 matmul) says how close the network itself gets to the machine.

- Shapes are the default recipe's (recipes/train_default.sh): base preset, batch 8, patch 64
  cut from a view of 128-384 px whose thumbnail the context reads, JPEG after 30%.
- The loop rows run `uhdrestore.train.loop.train` itself for --steps steps of one stage
  (the synthesis-heaviest mix, rain+haze, unless --loop-kind says otherwise), with the
  sample cache off and on; the first 20 steps are not timed (start-up, first batch). The
  stage's pool is sized so that each sample is drawn --visits times over the row, as in the
  v5 recipe (15000 steps x batch 8 over a pool of 6000: 20 visits); with the cache on, only a
  sample's first visit synthesises it, so this ratio decides the cache's gain. Each
  row runs --repeats times, interleaved with the other rows, and reports the median, so a
  neighbour's burst of load hits all rows alike.
- Validation and checkpoint cost are timed directly (one of each).
Photos: ../shared/data/train-photos when present, else generated ones.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402

from tests.conftest import synthetic_photo  # noqa: E402
from uhdrestore.io import Image, from_float, write_image  # noqa: E402
from uhdrestore.models import build_model  # noqa: E402
from uhdrestore.runtime import resolve_runtime  # noqa: E402
from uhdrestore.train import events, loop  # noqa: E402
from uhdrestore.train.config import StageConfig, TrainConfig  # noqa: E402
from uhdrestore.train.data import CleanPhotos, SyntheticStage  # noqa: E402
from uhdrestore.train.dist import Distributed  # noqa: E402
from uhdrestore.train.evaluate import evaluate  # noqa: E402
from uhdrestore.train.losses import reconstruction_loss  # noqa: E402
from uhdrestore.train.samples import Samples  # noqa: E402

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "train-photos"
UNTIMED_STEPS = 20
RECIPE = {"data.patch_size": 64, "data.view_size": 128, "data.view_max": 384, "data.jpeg_after": 0.3,
          "optim.batch_size": 8, "data.clean_fraction": 0.35, "data.severity": (0.1, 1.0),
          "optim.steps_per_stage": 5000, "data.pool_size": 10000}


def _photos_folder(scratch: Path) -> Path:
    if PHOTOS.is_dir():
        return PHOTOS
    folder = scratch / "photos"
    folder.mkdir()
    for index in range(4):
        write_image(folder / f"photo{index}.png",
                    Image(rgb=from_float(synthetic_photo(768, 1024, seed=index), np.uint8), alpha=None))
    return folder


def _config(kind: str, **overrides: Any) -> TrainConfig:
    return TrainConfig(stages=(StageConfig.parse(kind),)).replace(**{**RECIPE, **overrides})


def peak_gflops(seconds: float = 2.0) -> float:
    """float32 GFLOP/s of a 2048x2048 matmul: the machine's practical peak at this thread count."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        count += 1
    return 2 * 2048**3 * count / (time.perf_counter() - start) / 1e9


def network_rate(config: TrainConfig, steps: int) -> dict[str, float]:
    """Forward + backward + AdamW on random batches of the recipe's shape: steps/s and GFLOP/s."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = build_model(config.model).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    side, batch = config.data.patch_size, config.optim.batch_size
    patch = torch.rand(batch, 3, side, side).to(memory_format=torch.channels_last)
    clean = torch.rand_like(patch)
    thumb = torch.rand(batch, 6, config.model.context_size, config.model.context_size)

    def step() -> None:
        loss = reconstruction_loss(model(patch, None, thumb), clean, fft_weight=config.losses.fft_weight).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
        optimizer.step()

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    rate = steps / (time.perf_counter() - start)
    return {"steps_per_s": rate, "pixels_per_s": rate * batch * side * side, "gflops": rate * flops / 1e9}


def synthesis_rate(photos: CleanPhotos, kind: str, samples: int) -> float:
    """Samples/s of one kind's synthesis plus its thumbnail, as the data thread makes them."""
    config = _config(kind)
    stage = SyntheticStage(StageConfig.parse(kind), photos, config.data, config.seed)
    batches = Samples(config.data, config.model, [stage], torch.device("cpu"))
    start = time.perf_counter()
    for sample_id in range(samples):
        batches.tensors([(0, sample_id)])
    return samples / (time.perf_counter() - start)


def loop_rate(photos_dir: Path, kind: str, steps: int, cache_bytes: int, scratch: Path, visits: float) -> float:
    """Steps/s of `train` itself over steps UNTIMED_STEPS..steps of one stage, each sample drawn ~`visits` times."""
    config = _config(kind, val_every=10**6, checkpoint_every=10**6,
                     **{"data.pool_size": max(1, round(steps * RECIPE["optim.batch_size"] / visits))})
    times: dict[int, float] = {}

    def on_event(event: events.Event) -> None:
        if isinstance(event, events.Stepped):
            times[event.step] = time.perf_counter()

    run_dir = Path(tempfile.mkdtemp(dir=scratch))
    try:
        loop.train(config, clean_dir=photos_dir, run_dir=run_dir, output_dir=run_dir / "model",
                   runtime=resolve_runtime("cpu", "fp32"), dist=Distributed(), on_event=on_event,
                   stop_after=steps, cache_bytes=cache_bytes)
    except loop._Stopped:
        pass
    return (steps - UNTIMED_STEPS) / (times[steps] - times[UNTIMED_STEPS])


def validation_and_checkpoint_seconds(config: TrainConfig, photos: CleanPhotos, scratch: Path) -> dict[str, float]:
    from uhdrestore.train.checkpoint import save_checkpoint

    stage = SyntheticStage(config.stages[0], photos, config.data, config.seed)
    samples = Samples(config.data, config.model, [stage], torch.device("cpu"))
    model = build_model(config.model)
    start = time.perf_counter()
    sets = {config.stages[0].name: samples.validation(0)}
    evaluate(model, sets, resolve_runtime("cpu", "fp32"))
    validation = time.perf_counter() - start
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v.clone() for k, v in model.state_dict().items()})
    start = time.perf_counter()
    save_checkpoint(scratch, tensors, {"config": config.to_dict()})
    return {"validation_s": validation, "checkpoint_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--steps", type=int, default=400, help="steps per loop row (the first 20 untimed)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--kinds", default="blur,noise,rain,snow,haze,lowlight,rain+haze,lowlight+noise")
    parser.add_argument("--loop-kind", default="rain+haze")
    parser.add_argument("--synthesis-samples", type=int, default=40)
    parser.add_argument("--cache-gb", type=float, default=4.0)
    parser.add_argument("--visits", type=float, default=20.0,
                        help="times each pool sample is drawn over a loop row (the v5 recipe: 20)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    threads = [int(part) for part in args.threads.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        photos_dir = _photos_folder(scratch)
        photos = CleanPhotos(photos_dir, holdout=(), seed=0)
        config = _config(args.loop_kind)
        for count in threads:
            torch.set_num_threads(count)
            peak = peak_gflops()
            network = [network_rate(config, 40) for _ in range(args.repeats)]
            net = {key: statistics.median(run[key] for run in network) for key in network[0]}
            loops: dict[str, list[float]] = {"cache off": [], "cache on": []}
            for _ in range(args.repeats):  # interleaved, so load bursts hit both alike
                loops["cache off"].append(loop_rate(photos_dir, args.loop_kind, args.steps, 0, scratch, args.visits))
                loops["cache on"].append(loop_rate(photos_dir, args.loop_kind, args.steps,
                                                   int(args.cache_gb * (1 << 30)), scratch, args.visits))
            row = {"threads": count, "peak_gflops": peak, "network": net,
                   "network_share_of_peak": net["gflops"] / peak,
                   "loop": {name: statistics.median(values) for name, values in loops.items()},
                   "loop_runs": loops,
                   "synthesis": {kind: synthesis_rate(photos, kind, args.synthesis_samples)
                                 for kind in args.kinds.split(",")},
                   **validation_and_checkpoint_seconds(config, photos, scratch)}
            rows.append(row)
    print(f"# training throughput, {machine()}; base preset, batch 8, patch 64, views 128-384, loop stage "
          f"{args.loop_kind}, {args.steps} steps ({UNTIMED_STEPS} untimed), {args.visits:g} visits per sample, "
          f"medians of {args.repeats}")
    print("| threads | peak GFLOP/s | network steps/s | network GFLOP/s (share of peak) | loop steps/s, cache off"
          " | loop steps/s, cache on | loop / network, off | loop / network, on |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        net = row["network"]["steps_per_s"]
        off, on = row["loop"]["cache off"], row["loop"]["cache on"]
        print(f"| {row['threads']} | {row['peak_gflops']:.0f} | {net:.1f} | {row['network']['gflops']:.1f} "
              f"({row['network_share_of_peak']:.0%}) | {off:.1f} | {on:.1f} | {off / net:.0%} | {on / net:.0%} |")
    print("\n| threads | " + " | ".join(f"{kind} samples/s" for kind in rows[0]["synthesis"]) +
          " | validation s | checkpoint s |")
    print("|---|" + "---|" * (len(rows[0]["synthesis"]) + 2))
    for row in rows:
        print(f"| {row['threads']} | " + " | ".join(f"{value:.0f}" for value in row["synthesis"].values()) +
              f" | {row['validation_s']:.2f} | {row['checkpoint_s']:.2f} |")
    print("\nA loop step needs 8 samples: the cache-off loop keeps up with the network only where a kind makes "
          "8 x network steps/s samples per second.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
