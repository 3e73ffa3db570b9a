"""4K speed and memory in one table: the network, whole `fix`/`batch` runs, and OpenCV NLM beside them.

    python benchmarks/speed.py [--repeats 3] [--warmup 1] [--size 3840x2160] [--skip-8k] [--skip-16k]
                               [--skip-compile] [--json out.json]
    python benchmarks/speed.py --only-memory [--json benchmarks/results/memory.json]   # the memory rows alone

How it measures, and why:
- Every network configuration runs in its own fresh process, so its peak memory is its
  own: peak RSS on CPU (the whole process: torch, model, image), and
  torch.cuda.max_memory_allocated on CUDA.
- Times are medians of --repeats runs after --warmup untimed runs (the first run of a
  torch.compile row is its compile time, reported separately; such a row always warms up).
- `uhdrestore fix` and `uhdrestore batch` run as whole commands, as a user meets them
  (start-up, model load, decode, restore, encode); their peak RSS comes from wait4.
- OpenCV fastNlMeansDenoisingColored, what a user would run instead, runs on the same
  image in the same run; only the call is timed (no start-up, no I/O), which favours it.
- The input is the demo photo resized to --size with visible noise added, so PNG coding
  and NLM see photo-like content. The 8K row uses twice --size in each dimension, the 16K
  row four times.
- The memory rows divide each `fix` run's peak RSS by its pixel count and hold it against
  the target of issue 17: at most 16 bytes per pixel plus 0.5 GiB (8-bit RGB input and
  output need 6 bytes per pixel; the rest is one band of tiles, the network and PyTorch).
- On CUDA the network's FLOPs are counted once (FlopCounterMode on the meta device) and
  the best untiled half-precision time is turned into a share of the device's peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from classical import NLM_STRENGTH, estimate_noise_sigma  # noqa: E402
from common import benchmark_model, machine  # noqa: E402

from uhdrestore.errors import DeviceError  # noqa: E402
from uhdrestore.io import read_image, to_float, write_image  # noqa: E402
from uhdrestore.restore import TileConfig, restore_image  # noqa: E402
from uhdrestore.runtime import resolve_runtime  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEMO_PHOTO = REPO / "examples" / "rainy_meadow.png"
BATCH_IMAGES = 3
NOISE_SIGMA = 10 / 255  # visible noise, so NLM has work to do
MEMORY_BYTES_PER_PIXEL, MEMORY_BASE_GIB = 16, 0.5  # the target: peak RSS <= 16 B/px + 0.5 GiB
# Dense bf16/fp16 tensor-core peaks in FLOP/s, from the vendors' data sheets (no sparsity).
GPU_PEAKS = {"H100 PCIe": 756e12, "H100 NVL": 835e12, "H100": 989e12, "H200": 989e12, "A100": 312e12}
Row = dict[str, Any]


# --- rows ---------------------------------------------------------------------------------

def row(section: str, name: str, *, status: str = "ok", median_s: float | None = None, extra: str = "",
        peak_gib: float | None = None, peak_of: str = "", note: str = "", **figures: Any) -> Row:
    """One line of the table; `figures` are kept for --json only."""
    return {"section": section, "name": name, "status": status, "median_s": median_s, "extra": extra,
            "peak_gib": peak_gib, "peak_of": peak_of, "note": note, **figures}


def one_line(error: BaseException) -> str:
    """The first line of an error, short enough for a table cell."""
    text = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {text}"[:160]


# --- the network alone, one configuration per fresh process -----------------------------

def network_configs(cuda: bool, *, skip_compile: bool) -> list[dict[str, Any]]:
    """The network rows: tiling, precision, memory format and torch.compile, one change at a time."""
    base = {"device": "cpu", "tile": "auto", "precision": "fp32", "channels_last": True, "compile": False}
    configs = [base, {**base, "tile": "0"}, {**base, "channels_last": False},
               {**base, "precision": "bf16"}, {**base, "precision": "fp16"},
               {**base, "compile": "skip" if skip_compile else True}]
    if cuda:
        gpu = {**base, "device": "cuda"}
        configs += [gpu, {**gpu, "tile": "0"}]
        configs += [{**gpu, "tile": tile, "precision": p} for p in ("bf16", "fp16") for tile in ("0", "1024")]
        configs += [{**gpu, "tile": "0", "precision": "bf16", "channels_last": False},
                    {**gpu, "tile": "0", "precision": "bf16", "compile": "skip" if skip_compile else True}]
    return configs


def describe_config(config: dict[str, Any]) -> str:
    tile = {"auto": "tile auto", "0": "untiled"}.get(config["tile"], f"tile {config['tile']}")
    layout = "channels-last" if config["channels_last"] else "NCHW"
    compiled = "torch.compile" if config["compile"] else "eager"
    scale = f", {config['scale']}x size" if config.get("scale", 1) != 1 else ""
    return f"{config['device']}, {tile}, {config['precision']}, {layout}, {compiled}{scale}"


def test_image(width: int, height: int, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 BGR: the demo photo resized, plus Gaussian noise (a noisy photo)."""
    source = cv2.imread(str(DEMO_PHOTO), cv2.IMREAD_COLOR)
    if source is None:  # an installed copy without examples/: smooth gradients instead
        y, x = np.mgrid[0:256, 0:256].astype(np.float32) / 255
        source = (np.dstack([x, y, (x + y) / 2]) * 255).astype(np.uint8)
    resized = cv2.resize(source, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, NOISE_SIGMA * 255, resized.shape).astype(np.float32)
    return np.clip(resized + noise, 0, 255).astype(np.uint8)


def measure_network(config: dict[str, Any], width: int, height: int, repeats: int, warmup: int,
                    model_spec: str) -> Row:
    """Run one configuration in this process: median, compile time and peak memory."""
    name = describe_config(config)
    if config["compile"] == "skip":
        return row("network", name, status="skipped", note="--skip-compile")
    try:
        runtime = resolve_runtime(config["device"], config["precision"])
    except DeviceError as error:
        return row("network", name, status="unsupported", note=str(error))
    model, _described = benchmark_model(model_spec)
    memory_format = torch.channels_last if config["channels_last"] else torch.contiguous_format
    model = model.eval().to(runtime.device, memory_format=memory_format)
    if not config["channels_last"]:  # the tiler hands out channels-last views: make them NCHW
        model.register_forward_pre_hook(lambda _module, args: (args[0].contiguous(), *args[1:]))
    if config["compile"]:
        model = torch.compile(model)
    scale = config.get("scale", 1)
    image = to_float(cv2.cvtColor(test_image(width * scale, height * scale), cv2.COLOR_BGR2RGB))
    tiles = TileConfig(tile="auto" if config["tile"] == "auto" else int(config["tile"]))
    times, result = [], None
    warmup = max(warmup, 1) if config["compile"] else warmup  # the first call compiles
    for _run in range(warmup + repeats):
        try:
            started = _synchronized_clock(runtime.is_cuda)
            result = restore_image(image, model, runtime, tiles)
            times.append(_synchronized_clock(runtime.is_cuda) - started)
        except Exception as error:  # noqa: BLE001  # a failed configuration is a row, not a crash
            return row("network", name, status="failed", note=one_line(error))
    assert result is not None
    median = statistics.median(times[warmup:])
    compile_s = times[0] - median if config["compile"] else None
    peak, peak_of = _peak_memory(runtime.is_cuda)
    return row("network", name, median_s=median, peak_gib=peak, peak_of=peak_of, compile_s=compile_s,
               tile_used=result.tiling.tile, tiles=result.tiling.tiles, fallbacks=result.fallbacks,
               extra=f"compile {compile_s:.1f} s" if compile_s is not None else "", config=config)


def _synchronized_clock(cuda: bool) -> float:
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter()


def _peak_memory(cuda: bool) -> tuple[float, str]:
    if cuda:
        return torch.cuda.max_memory_allocated() / 2**30, "GPU allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "process RSS"


def run_network_worker(config: dict[str, Any], args: argparse.Namespace) -> Row:
    """measure_network in a fresh process; a crash becomes a failed row with its last line."""
    command = [sys.executable, __file__, "--worker", json.dumps(config), "--repeats", str(args.repeats),
               "--warmup", str(args.warmup), "--size", args.size, "--model", args.model]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        return json.loads(lines[-1])
    last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
    return row("network", describe_config(config), status="failed", note=last[:160])


def add_tiling_ratio(rows: list[Row]) -> None:
    """Tiled rows get 'vs untiled': the target is at most 1.15x at the default settings."""
    untiled = {r["config"]["device"] + r["config"]["precision"]: r["median_s"] for r in rows
               if r.get("config") and r["config"]["tile"] == "0" and r["config"]["channels_last"]
               and not r["config"]["compile"] and r["status"] == "ok"}
    for r in rows:
        config = r.get("config")
        if not config or config["tile"] == "0" or config["compile"] or not config["channels_last"]:
            continue
        base = untiled.get(config["device"] + config["precision"])
        if base and config.get("scale", 1) == 1:
            r["vs_untiled"] = r["median_s"] / base
            r["extra"] = f"{r['vs_untiled']:.2f}x untiled"


# --- whole commands ------------------------------------------------------------------------

def run_process(command: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak RSS GiB, exit code, last stderr line) of one child process, via wait4."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, cwd=REPO)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        stderr.seek(0)
        last = (stderr.read().decode(errors="replace").strip().splitlines() or [""])[-1]
    return seconds, usage.ru_maxrss / 2**20, process.returncode, last


def timed_runs(command: list[str], repeats: int, warmup: int) -> tuple[list[float], float, str | None]:
    """Times of `repeats` runs after `warmup` runs, the highest peak RSS, and an error line if any failed."""
    times, peak = [], 0.0
    for run in range(warmup + repeats):
        seconds, rss, code, last = run_process(command)
        if code != 0:
            return times, peak, f"exit {code}: {last}"[:160]
        peak = max(peak, rss)
        if run >= warmup:
            times.append(seconds)
    return times, peak, None


def uhdrestore(*arguments: str, model: str) -> list[str]:
    return [sys.executable, "-m", "uhdrestore", *arguments, "--model", model, "--overwrite", "--quiet"]


def measure_fix(photo: Path, repeats: int, warmup: int, model: str, *, name: str,
                options: tuple[str, ...] = ()) -> Row:
    times, peak, error = timed_runs(uhdrestore("fix", str(photo), "-o", str(photo.with_name("fixed.png")),
                                               *options, model=model), repeats, warmup)
    if error:
        return row("end to end", name, status="failed", note=error)
    return row("end to end", name, median_s=statistics.median(times), peak_gib=peak, peak_of="process RSS")


def measure_batch(folder: Path, repeats: int, warmup: int, model: str) -> Row:
    count = len(list(folder.glob("*.png")))
    times, peak, error = timed_runs(uhdrestore("batch", str(folder), "-o", str(folder.with_name("restored")),
                                               model=model), repeats, warmup)
    name = f"uhdrestore batch, {count} images"
    if error:
        return row("end to end", name, status="failed", note=error)
    median = statistics.median(times)
    return row("end to end", name, median_s=median, extra=f"{count / median:.2f} img/s",
               peak_gib=peak, peak_of="process RSS", images_per_s=count / median)


def measure_in_process(section: str, name: str, work: Callable[[], object], repeats: int,
                       warmup: int) -> tuple[Row, float]:
    """Median of `work()` after `warmup` runs, in this process."""
    times = []
    for run in range(warmup + repeats):
        started = time.perf_counter()
        work()
        if run >= warmup:
            times.append(time.perf_counter() - started)
    median = statistics.median(times)
    return row(section, name, median_s=median), median


def measure_io_only(folder: Path, repeats: int, warmup: int) -> Row:
    """Decode and encode the batch images with uhdrestore.io, no network: the I/O bound of `batch`."""
    photos = sorted(folder.glob("*.png"))
    target = folder.with_name("io_only")
    target.mkdir(exist_ok=True)

    def work() -> None:
        for photo in photos:
            write_image(target / photo.name, read_image(photo))

    result, median = measure_in_process("end to end", f"decode + encode only, {len(photos)} images", work,
                                          repeats, warmup)
    result.update(extra=f"{len(photos) / median:.2f} img/s", images_per_s=len(photos) / median)
    return result


def measure_nlm(photo: Path, repeats: int, warmup: int) -> Row:
    """OpenCV NLM with benchmarks/classical.py's strength, on the decoded 8-bit image."""
    bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    strength = max(1.0, NLM_STRENGTH * estimate_noise_sigma(to_float(bgr)) * 255)
    result, _median = measure_in_process(
        "reference", "OpenCV fastNlMeansDenoisingColored (call only)",
        lambda: cv2.fastNlMeansDenoisingColored(bgr, None, h=strength, hColor=strength,
                                                templateWindowSize=7, searchWindowSize=21), repeats, warmup)
    return result


# --- FLOPs and GPU rows --------------------------------------------------------------------

def count_flops(model_spec: str, width: int, height: int) -> int:
    """FLOPs of one untiled forward pass (convolutions and linear layers), counted on the meta device."""
    from torch.utils.flop_counter import FlopCounterMode

    model, _ = benchmark_model(model_spec)
    model = model.eval().to("meta")
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        image = torch.empty(1, 3, height, width, device="meta")
        model(image, model.encode_context(model.thumbnail(image)))
    return int(counter.get_total_flops())


def gpu_rows(network: list[Row], flops: int) -> list[Row]:
    """Achieved FLOP/s of the fastest untiled half-precision CUDA row, as a share of the peak."""
    name = "network FLOP/s vs device peak (untiled, half precision)"
    if not torch.cuda.is_available():
        return [row("gpu", name, status="not measured", note="no GPU")]
    timed = [r for r in network if r["status"] == "ok" and r["config"]["device"] == "cuda"
             and r["config"]["tile"] == "0" and r["config"]["precision"] != "fp32"]
    if not timed:
        return [row("gpu", name, status="failed", note="no untiled half-precision CUDA row succeeded")]
    best = min(timed, key=lambda r: r["median_s"])
    achieved = flops / best["median_s"]
    device = torch.cuda.get_device_name()
    peak = next((value for key, value in GPU_PEAKS.items() if key in device), None)
    extra = f"{achieved / 1e12:.2f} TFLOP/s" + (f", {achieved / peak:.1%} of peak" if peak else "")
    return [row("gpu", name, median_s=best["median_s"], extra=extra, achieved_flops=achieved, peak_flops=peak,
                note=f"{best['name']}" + ("" if peak else f"; peak of {device} unknown"))]


# --- the table -----------------------------------------------------------------------------

def format_table(header: list[str], rows: list[Row]) -> str:
    """Plain text, one row per line: section, configuration, median, extra figure, peak memory, note."""
    lines = [f"# {line}" for line in header]
    lines.append(f"{'section':<11} {'configuration':<58} {'median s':>9} {'':<24} {'peak GiB':>8}  note")
    for r in rows:
        median = f"{r['median_s']:.3f}" if r["median_s"] is not None else "-"
        peak = f"{r['peak_gib']:.2f}" if r["peak_gib"] is not None else "-"
        note = r["note"] if r["status"] == "ok" else f"{r['status']}" + (f" ({r['note']})" if r["note"] else "")
        if r["status"] == "ok" and r["peak_of"]:
            note = f"{r['peak_of']}" + (f"; {r['note']}" if r["note"] else "")
        lines.append(f"{r['section']:<11} {r['name']:<58} {median:>9} {r['extra']:<24} {peak:>8}  {note}")
    return "\n".join(lines)


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 3840x2160. Got {text!r}") from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"size must be at least 16x16. Got {text!r}")
    return width, height


def end_to_end_rows(args: argparse.Namespace, width: int, height: int, work: Path) -> list[Row]:
    """fix, batch, the I/O bound, NLM and the fix/NLM ratio, then the 8K fix."""
    photos = work / "photos"
    photos.mkdir()
    for index in range(BATCH_IMAGES):
        cv2.imwrite(str(photos / f"photo{index}.png"), test_image(width, height, seed=index))
    single = work / "photo.png"
    single.write_bytes((photos / "photo0.png").read_bytes())
    fix = measure_fix(single, args.repeats, args.warmup, args.model, name=f"uhdrestore fix, {width}x{height} PNG")
    rows = [fix, measure_batch(photos, args.repeats, args.warmup, args.model),
            measure_io_only(photos, args.repeats, args.warmup)]
    if rows[1]["status"] == "ok":
        rows[1]["extra"] += f", {rows[1]['images_per_s'] / rows[2]['images_per_s']:.0%} of I/O"
    nlm = measure_nlm(single, args.repeats, args.warmup)
    rows.append(nlm)
    ratio = row("reference", "fix / NLM time ratio (target <= 1.0)", status=fix["status"],
                note="" if fix["status"] == "ok" else "fix failed")
    if fix["status"] == "ok":
        ratio.update(extra=f"{fix['median_s'] / nlm['median_s']:.2f}", ratio=fix["median_s"] / nlm["median_s"])
    rows.append(ratio)
    rows += scaled_fix_rows(args, width, height, work, scales=(2, 4))
    return rows


def guard_rows(args: argparse.Namespace, width: int, height: int, work: Path) -> list[Row]:
    """What the guard (on by default with the bundled model) costs on a photo it does restore (the noisy
    test image): the perceiver's look."""
    photo = work / "photo.png"
    cv2.imwrite(str(photo), test_image(width, height))
    plain = measure_fix(photo, args.repeats, args.warmup, args.model, options=("--no-guard",),
                        name=f"uhdrestore fix --no-guard, {width}x{height} PNG")
    guarded = measure_fix(photo, args.repeats, args.warmup, args.model, options=("--guard",),
                          name=f"uhdrestore fix --guard, {width}x{height} PNG (restored: not clean)")
    ratio = row("reference", "fix --guard / fix --no-guard time ratio", status=guarded["status"])
    if plain["status"] == guarded["status"] == "ok":
        ratio.update(extra=f"{guarded['median_s'] / plain['median_s']:.2f}",
                     ratio=guarded["median_s"] / plain["median_s"])
    return [plain, guarded, ratio]


def with_memory_rows(fixes: list[Row], width: int, height: int) -> list[Row]:
    return fixes + memory_rows(fixes, width, height)


def print_report(args: argparse.Namespace, header: list[str], rows: list[Row]) -> None:
    """The table on stdout, and with --json the same as JSON."""
    print(format_table(header, rows))
    if args.json:
        args.json.write_text(json.dumps({"header": header, "rows": rows}, indent=2))


def batch_scale_rows(args: argparse.Namespace, width: int, height: int, work: Path) -> list[Row]:
    """`batch` with 1 and 2 processes (torchrun) and with --jobs, against decode + encode alone.

    The configurations run round-robin (one run of each, then the next round), so they share
    whatever the machine is doing; each row is the median of --repeats rounds. One process
    uses every core for the network; torchrun gives each of its ranks OMP_NUM_THREADS=1.
    """
    photos = work / "scale_photos"
    photos.mkdir()
    for index in range(args.batch_images):
        cv2.imwrite(str(photos / f"photo{index:03d}.png"), test_image(width, height, seed=index))
    out = str(work / "scale_out")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m"]
    configs = {
        "batch, 1 process, --jobs 1": uhdrestore("batch", str(photos), "-o", out, "--jobs", "1", model=args.model),
        "batch, 1 process, --jobs 2": uhdrestore("batch", str(photos), "-o", out, "--jobs", "2", model=args.model),
        "batch, torchrun 2 processes, --jobs 1": torchrun + uhdrestore(
            "batch", str(photos), "-o", out, "--jobs", "1", model=args.model)[1:],
        "batch, torchrun 2 processes, --jobs 2": torchrun + uhdrestore(
            "batch", str(photos), "-o", out, "--jobs", "2", model=args.model)[1:],
    }
    times: dict[str, list[float]] = {name: [] for name in configs}
    errors: dict[str, str] = {}
    for run in range(args.warmup + args.repeats):
        for name, command in configs.items():
            if name in errors:
                continue
            seconds, _rss, code, last = run_process(command)
            if code != 0:
                errors[name] = f"exit {code}: {last}"[:160]
            elif run >= args.warmup:
                times[name].append(seconds)
    io_only = measure_io_only(photos, args.repeats, args.warmup)
    io_only.update(section="batch scale")
    rows = []
    for name in configs:
        label = f"{name}, {args.batch_images} images"
        if name in errors:
            rows.append(row("batch scale", label, status="failed", note=errors[name]))
            continue
        median = statistics.median(times[name])
        rate = args.batch_images / median
        rows.append(row("batch scale", label, median_s=median, images_per_s=rate,
                        extra=f"{rate:.2f} img/s, {rate / io_only['images_per_s']:.0%} of I/O"))
    return [*rows, io_only]


def memory_rows(end_to_end: list[Row], width: int, height: int) -> list[Row]:
    """Peak RSS of `fix` per pixel at 1x, 2x and 4x --size, against 16 B/px + 0.5 GiB."""
    rows = []
    fixes = {1: f"uhdrestore fix, {width}x{height} PNG"}
    fixes.update({scale: f"uhdrestore fix, {scale * width}x{scale * height} PNG (1 run)" for scale in (2, 4)})
    found = {r["name"]: r for r in end_to_end}
    for scale, source in fixes.items():
        pixels = scale * width * scale * height
        name = f"fix peak RSS per pixel, {scale * width}x{scale * height} (target <= 16 B/px + 0.5 GiB)"
        measured = found.get(source)
        if measured is None or measured["status"] != "ok":
            rows.append(row("memory", name, status=measured["status"] if measured else "failed",
                            note=(measured or {}).get("note", "")))
            continue
        target = (MEMORY_BYTES_PER_PIXEL * pixels) / 2**30 + MEMORY_BASE_GIB
        per_pixel = measured["peak_gib"] * 2**30 / pixels
        rows.append(row("memory", name, extra=f"{per_pixel:.1f} B/px; target {target:.2f} GiB",
                        peak_gib=measured["peak_gib"], peak_of="process RSS",
                        note="met" if measured["peak_gib"] <= target else "NOT met",
                        bytes_per_pixel=per_pixel, target_gib=target, met=measured["peak_gib"] <= target))
    return rows


def write_test_image_in_child(path: Path, width: int, height: int) -> None:
    """Make a large test image in a child process, so this one stays small: on Linux a child's
    ru_maxrss (from wait4) starts at the peak RSS of the process that spawned it (exec records
    the old address space's high-water mark, and subprocess uses vfork), so a 16K image made
    here would add its ~6 GiB to every later fix row."""
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--write-image", str(path),
                    "--size", f"{width}x{height}"], check=True)


def memory_fix_rows(args: argparse.Namespace, width: int, height: int, work: Path) -> list[Row]:
    """One fix at 1x, 2x and 4x --size (the 8K and 16K ones unless skipped), named as memory_rows reads them."""
    return scaled_fix_rows(args, width, height, work, scales=(1, 2, 4))


def scaled_fix_rows(args: argparse.Namespace, width: int, height: int, work: Path,
                    scales: tuple[int, ...]) -> list[Row]:
    """One whole `fix` per scale of --size, its test image made in a child (write_test_image_in_child)."""
    skips = {1: (False, ""), 2: (args.skip_8k, "--skip-8k"), 4: (args.skip_16k, "--skip-16k")}
    rows = []
    for scale in scales:
        skip, flag = skips[scale]
        name = (f"uhdrestore fix, {width}x{height} PNG" if scale == 1
                else f"uhdrestore fix, {scale * width}x{scale * height} PNG (1 run)")
        if skip:
            rows.append(row("end to end", name, status="skipped", note=flag))
            continue
        photo = work / f"memory{scale}.png"
        write_test_image_in_child(photo, scale * width, scale * height)
        rows.append(_single_fix(photo, args.model, name))
        photo.unlink()
    return rows


def _single_fix(photo: Path, model: str, name: str) -> Row:
    """One whole `fix` run, no warm-up: the large image is about its peak RSS."""
    seconds, rss, code, last = run_process(uhdrestore("fix", str(photo), "-o", str(photo.with_name("large_fixed.png")),
                                                      model=model))
    if code != 0:
        return row("end to end", name, status="failed", note=f"exit {code}: {last}"[:160])
    return row("end to end", name, median_s=seconds, peak_gib=rss, peak_of="process RSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs before the timed ones (default 1)")
    parser.add_argument("--size", default="3840x2160", help="WIDTHxHEIGHT of the test image (default 3840x2160)")
    parser.add_argument("--model", default="default")
    parser.add_argument("--skip-8k", action="store_true", help="skip the fix run at twice --size (7680x4320)")
    parser.add_argument("--skip-16k", action="store_true",
                        help="skip the fix run at four times --size (15360x8640: minutes on a small CPU)")
    parser.add_argument("--skip-compile", action="store_true", help="skip the torch.compile rows (slow to compile)")
    parser.add_argument("--batch-images", type=int, default=8,
                        help="images of --size in the batch-scale rows (1 vs 2 processes, --jobs; default 8)")
    parser.add_argument("--only-batch-scale", action="store_true",
                        help="run only the batch-scale rows (1 vs 2 processes, --jobs, decode + encode alone)")
    parser.add_argument("--only-memory", action="store_true",
                        help="run only the memory rows: one fix at 1x, 2x and 4x --size, peak RSS per pixel "
                             "(minutes, not the whole table's hour)")
    parser.add_argument("--only-guard", action="store_true",
                        help="run only fix and fix --guard at --size, side by side (the perceiver's cost)")
    parser.add_argument("--json", type=Path, help="also write the header and rows as JSON here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--write-image", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        width, height = parse_size(args.size)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")
    if args.write_image:
        cv2.imwrite(str(args.write_image), test_image(width, height))
        return
    if args.worker:
        print(json.dumps(measure_network(json.loads(args.worker), width, height, args.repeats, args.warmup,
                                          args.model)))
        return

    only = {"batch_scale": (lambda work: batch_scale_rows(args, width, height, work),
                            f"input: {args.batch_images} images of {width}x{height} PNG, medians of "
                            f"{args.repeats} round-robin rounds after {args.warmup} warm-up"),
            "guard": (lambda work: guard_rows(args, width, height, work),
                      f"input: the {width}x{height} noisy test image, medians of {args.repeats} runs after "
                      f"{args.warmup} warm-up"),
            "memory": (lambda work: with_memory_rows(memory_fix_rows(args, width, height, work), width, height),
                       f"input: one fix per size (no warm-up), the {width}x{height} test image at 1x, 2x and 4x; "
                       "peak RSS of the whole process from wait4")}
    for mode, (measure, described_input) in only.items():
        if getattr(args, f"only_{mode}"):
            with tempfile.TemporaryDirectory(prefix="uhdrestore-speed-") as folder:
                rows = measure(Path(folder))
            _model, described = benchmark_model(args.model)
            print_report(args, [f"machine: {machine()}", f"model: {described}",
                                f"{described_input}; cores: {os.cpu_count()}"], rows)
            return

    network = [run_network_worker(config, args)
               for config in network_configs(torch.cuda.is_available(), skip_compile=args.skip_compile)]
    add_tiling_ratio(network)
    flops = count_flops(args.model, width, height)
    with tempfile.TemporaryDirectory(prefix="uhdrestore-speed-") as folder:
        end_to_end = end_to_end_rows(args, width, height, Path(folder))
        scale = batch_scale_rows(args, width, height, Path(folder))
    rows = network + end_to_end + scale + memory_rows(end_to_end, width, height) + gpu_rows(network, flops)
    _model, described = benchmark_model(args.model)
    header = [f"machine: {machine()}", f"model: {described}; {flops / 1e9:.1f} GFLOP per {width}x{height} frame",
              (f"input: {width}x{height}, medians of {args.repeats} runs after {args.warmup} warm-up; "
               f"each network row in its own process; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")]
    print(format_table(header, rows))
    if args.json:
        args.json.write_text(json.dumps({"header": header, "size": [width, height], "repeats": args.repeats,
                                         "warmup": args.warmup, "flops_per_frame": flops, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
