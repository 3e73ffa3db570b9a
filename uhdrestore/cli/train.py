"""`uhdrestore train`: train your own weights with review learning."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .common import DeviceOpt, JsonOpt, PrecisionOpt, QuietOpt, errors, print_json, stderr_console

DATA_PANEL = "Data"
REVIEW_PANEL = "Review learning"
BUDGET_PANEL = "Budget and optimisation"
RUN_PANEL = "Run folder and output"


class Schedule(str, Enum):
    review = "review"
    sequential = "sequential"
    joint = "joint"


class Order(str, Enum):
    given = "given"
    auto = "auto"
    perceived = "perceived"


class Loss(str, Enum):
    charbonnier = "charbonnier"
    psnr = "psnr"


class Preset(str, Enum):
    small = "small"
    base = "base"
    large = "large"


def _parse_severity(value: str) -> str:
    try:
        low, high = (float(part) for part in value.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected LOW,HIGH such as 0.1,1.0. Got {value!r}") from None
    if not 0 <= low <= high <= 1:
        raise typer.BadParameter(f"expected 0 <= LOW <= HIGH <= 1. Got {value!r}")
    return value


def train(
    stages: Annotated[str, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Comma-separated stages in training order: a degradation (rain, haze, noise, blur, snow, lowlight, "
             "jpeg, or a mix like rain+haze) synthesised from --clean, or NAME=PATH for a paired dataset "
             "folder (PATH/lq + PATH/gt, see the README).")] = "rain,haze,noise",
    clean: Annotated[Optional[list[Path]], typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Folder of clean photos that synthetic stages degrade, searched recursively; repeat for several "
             "folders.", show_default=False)] = None,
    holdout: Annotated[str, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Comma-separated clean photos kept for validation, as paths relative to their --clean folder "
             "(default: ~15% chosen by --seed).")] = "",
    holdout_list: Annotated[Optional[Path], typer.Option(
        rich_help_panel=DATA_PANEL,
        help="A file naming the validation photos, one per line (first tab- or comma-separated column; # "
             "comments skipped), e.g. benchmarks/validation_photos.tsv; adds to --holdout.",
        show_default=False)] = None,
    jpeg_downscale: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Shrink JPEG clean photos by this factor as they load (area interpolation), so their compression "
             "blocks and sensor noise are not learned as clean; JPEGs left under 128 px are skipped "
             "(1 = as they are).")] = 1.0,
    severity: Annotated[str, typer.Option(
        callback=_parse_severity, rich_help_panel=DATA_PANEL,
        help="Range LOW,HIGH in [0, 1] that synthetic severities are drawn from.")] = "0.1,1.0",
    clean_fraction: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Share of synthetic samples left undegraded, so clean photos stay clean.")] = 0.05,
    scenes: Annotated[int, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Procedural clean scenes (grass, stems, petals, dew) degraded beside the photos, a third of the "
             "training crops; 0: photos only.")] = 0,
    scene_grass: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Share of the --scenes that are dense, pale grass, which models without them take for rain "
             "or haze.")] = 0.0,
    min_scale: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Training crops show the photo at a log-uniform scale in [MIN_SCALE, 1] (0.125: a 128-pixel "
             "view can hold a whole 1024-pixel photo, as the whole-image context sees it at inference).")] = 0.5,
    jpeg_after: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Share of degraded synthetic samples JPEG-compressed afterwards (quality ~95 to ~60), "
             "as real photos are saved.")] = 0.0,
    keep_changes: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Share of the clean samples (--clean-fraction) first given a change that is not damage (JPEG, a "
             "colour grade, sharpening), kept in the target too: the model learns to leave such photos alone.")
    ] = 0.0,
    schedule: Annotated[Schedule, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="review (replay hard samples of earlier stages), sequential (no replay) or joint (all stages "
             "mixed in every batch); all on the same budget.")] = Schedule.review,
    order: Annotated[Order, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="given (as in --stages), auto (mildest degradation first, by input PSNR) or perceived (mildest "
             "first, by the perceiver's severity of each stage's validation inputs).")] = Order.given,
    review_ratio: Annotated[float, typer.Option(
        rich_help_panel=REVIEW_PANEL, help="Share of each batch replayed while training the 2nd stage.")] = 0.3,
    review_decay: Annotated[float, typer.Option(
        rich_help_panel=REVIEW_PANEL, help="The replay share is multiplied by this at each later stage.")] = 0.5,
    memory_size: Annotated[int, typer.Option(
        rich_help_panel=REVIEW_PANEL, help="Hard samples (highest loss fluctuation) kept per finished stage.")
    ] = 256,
    pool_size: Annotated[Optional[int], typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="Training samples per stage, revisited each epoch so loss fluctuation can be measured "
             "(default: ITERATIONS x BATCH_SIZE / 4, so each is seen about 4 times).",
        show_default=False)] = None,
    spn_weight: Annotated[float, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="Weight of MCLIR's learning-from-history term (pushes outputs away from lagged copies of "
             "the model); 0 = off.")] = 0.0,
    spn_features: Annotated[Optional[str], typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="VGG16 weights (.safetensors file or Hub id) for the SPN term; default: a fixed filter bank.",
        show_default=False)] = None,
    quality_loss: Annotated[float, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="Weight of the quality-aware term (Perceive-IR): the perceiver's 1 - P(high quality) of the "
             "output plus a contrastive ratio pulling it toward the clean patch, away from the input and from "
             "an earlier copy of the model; 0 = off.")] = 0.0,
    perceiver: Annotated[str, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="The perceiver --quality-loss and --order perceived ask: 'default' (bundled), a folder or a cached "
             "Hub id.")] = "default",
    preset: Annotated[Preset, typer.Option(
        rich_help_panel=BUDGET_PANEL, help="Network size: small, base or large.")] = Preset.base,
    dark_channel: Annotated[bool, typer.Option(
        "--dark-channel/--no-dark-channel", rich_help_panel=BUDGET_PANEL,
        help="Give the network's whole-image context the dark channel, a haze cue (tried for the default "
             "model: better on haze, but it took bright sand for haze and darkened clean photos of it).")] = False,
    iterations: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL, help="Iterations per stage.")] = 2000,
    batch_size: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL, help="Crops per step.")] = 8,
    patch_size: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL, help="Crop side in pixels.")] = 96,
    view_size: Annotated[int, typer.Option(
        rich_help_panel=BUDGET_PANEL,
        help="Crops are cut from the centre of a degraded view this big, and the network's whole-image "
             "context is read from the view, as at inference from the whole photo (0 = the patch size).")] = 0,
    view_max: Annotated[int, typer.Option(
        rich_help_panel=BUDGET_PANEL,
        help="Draw each view's side log-uniformly between --view-size and this, so the whole-image context "
             "also learns 256- or 512-pixel images; the crop keeps its scale (0 = always --view-size). "
             "Larger views cost data time.")] = 0,
    lr: Annotated[float, typer.Option(rich_help_panel=BUDGET_PANEL, help="Peak learning rate (AdamW).")] = 2e-3,
    loss: Annotated[Loss, typer.Option(
        rich_help_panel=BUDGET_PANEL,
        help="charbonnier (L1-like) or psnr (per-sample log MSE, capped at 38 dB: a sample pulls harder the "
             "closer it already is, so clean and mild samples are not left slightly wrong).")] = Loss.charbonnier,
    stage_lr_decay: Annotated[float, typer.Option(
        rich_help_panel=BUDGET_PANEL,
        help="Each stage peaks at this times the previous stage's learning rate (1 = every stage at --lr), "
             "so later stages disturb earlier ones less.")] = 1.0,
    val_size: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL, help="Validation crops per stage.")] = 16,
    val_every: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL, help="Steps between validations.")
    ] = 250,
    seed: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL)] = 0,
    smoke: Annotated[bool, typer.Option(
        "--smoke", rich_help_panel=BUDGET_PANEL,
        help="A tiny run (tiny network, 12 iterations per stage) that finishes in seconds, for tests.")] = False,
    run_dir: Annotated[Path, typer.Option(
        rich_help_panel=RUN_PANEL, help="Where checkpoints, metrics.jsonl, validation.png and matrix.json go.")
    ] = Path("runs/train"),
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", rich_help_panel=RUN_PANEL,
        help="The trained model folder, usable with `fix --model` (default: RUN_DIR/model).",
        show_default=False)] = None,
    checkpoint_every: Annotated[int, typer.Option(
        rich_help_panel=RUN_PANEL, help="Steps between checkpoints (also written at every stage end).")] = 250,
    cache_gb: Annotated[float, typer.Option(
        rich_help_panel=RUN_PANEL,
        help="Memory for synthesised samples kept for their next visit (speed only; results do not "
             "depend on it; 0 = synthesise every visit).")] = 4.0,
    resume: Annotated[bool, typer.Option(
        "--resume", rich_help_panel=RUN_PANEL, help="Continue from RUN_DIR's checkpoint (same command).")
    ] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", rich_help_panel=RUN_PANEL, help="Start over in a RUN_DIR that holds a checkpoint.")
    ] = False,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Train one model on one degradation after another, replaying hard samples of earlier stages.

    Prints the stage-by-task matrix (validation PSNR / SSIM after each stage) at the end and writes a model folder that `uhdrestore fix --model DIR` uses. Under torchrun it trains data-parallel: `torchrun --nproc_per_node 2 -m uhdrestore train ...`.
    """  # noqa: E501  (one paragraph, so --help wraps it to the terminal)
    from ..data import read_holdout_list
    from ..errors import UhdRestoreError
    from ..models import PRESETS
    from ..runtime import Runtime, resolve_runtime
    from ..train.checkpoint import CHECKPOINT_NAME
    from ..train.config import SMOKE_MODEL, StageConfig, TrainConfig
    from ..train.dist import setup_distributed
    from ..train.loop import train as run_training

    console = stderr_console(quiet or json_output)
    with errors(console):
        import torch

        if cache_gb < 0:
            raise typer.BadParameter(f"--cache-gb must be 0 or more. Got {cache_gb}")
        holdout_names = read_holdout_list(holdout_list) if holdout_list else ()
        try:
            low, high = (float(part) for part in severity.split(","))
            model = dataclasses.replace(PRESETS[preset.value], context_dark=dark_channel)
            settings: dict[str, Any] = dict(
                stages=tuple(StageConfig.parse(spec) for spec in stages.split(",")), model=model,
                schedule=schedule.value, order=order.value, iterations=iterations, batch_size=batch_size,
                patch_size=patch_size, view_size=view_size, view_max=view_max,
                pool_size=pool_size or max(iterations * batch_size // 4, batch_size),
                val_size=val_size, lr=lr, loss=loss.value, stage_lr_decay=stage_lr_decay,
                review_ratio=review_ratio, review_decay=review_decay, memory_size=memory_size,
                spn_weight=spn_weight, spn_features=spn_features, quality_loss=quality_loss, perceiver=perceiver,
                severity=(low, high), clean_fraction=clean_fraction,
                min_scale=min_scale, scenes=scenes, scene_grass=scene_grass, jpeg_after=jpeg_after,
                keep_changes=keep_changes, jpeg_downscale=jpeg_downscale,
                holdout=tuple(name for name in holdout.split(",") if name) + holdout_names, val_every=val_every,
                checkpoint_every=checkpoint_every, seed=seed)
            if smoke:
                settings.update(model=SMOKE_MODEL, iterations=12, batch_size=4, patch_size=32, pool_size=16,
                                val_size=4, val_patch_size=64, val_every=6, checkpoint_every=6, warmup=2,
                                memory_size=4)
            config = TrainConfig(**settings)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
        if (run_dir / CHECKPOINT_NAME).exists() and not resume and not overwrite:
            raise UhdRestoreError(f"{run_dir} holds a checkpoint: pass --resume to continue it "
                                  "or --overwrite to start over")
        runtime = resolve_runtime(device, precision)
        dist = setup_distributed(runtime.device)
        if dist.enabled and runtime.is_cuda:
            runtime = Runtime(torch.device("cuda", dist.local_rank), runtime.precision)
        if not dist.is_main:
            console = Console(stderr=True, quiet=True)
        command = "uhdrestore " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
        try:
            with _TrainingDisplay(console, config) as display:
                result = run_training(config, clean_dir=clean, run_dir=run_dir, output_dir=output or run_dir / "model",
                                      runtime=runtime, dist=dist, resume=resume, command=command,
                                      on_event=display.update, cache_bytes=int(cache_gb * (1 << 30)))
        finally:
            dist.cleanup()
        if not dist.is_main:
            return
        if json_output:
            print_json({"command": "train", "output": str(result.output_dir), "run_dir": str(run_dir),
                        "seconds": round(result.seconds, 1), "feature_space": result.feature_space,
                        "matrix": result.matrix})
            return
        from ..train.report import matrix_table

        console.print(matrix_table(result.rows, result.tasks, title=f"{config.schedule}: validation PSNR / SSIM "
                                   "after each stage", inputs=result.inputs))
        console.print(f"model: {result.output_dir}  (use: uhdrestore fix PHOTO --model {result.output_dir})")
        console.print(f"run: {run_dir}/metrics.jsonl, validation.png, matrix.json")


class _TrainingDisplay:
    """A rich progress bar per stage: iteration, loss, it/s, ETA; validation lines scroll above it."""

    def __init__(self, console: Console, config: Any) -> None:
        self.config = config
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                                 "{task.total}"), TextColumn("loss {task.fields[loss]}"),
                                 TextColumn("{task.fields[rate]}"),
                                 TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                                 disable=console.quiet or not console.is_terminal)
        self.console, self.task = console, None

    def __enter__(self) -> _TrainingDisplay:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def update(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "start" and event["photos"]:
            names = event["photos"]["validation"]
            shown = ", ".join(names) if len(names) <= 20 else f"{len(names)} photos ({', '.join(names[:3])}, ...)"
            self.progress.console.print(f"training photos: {len(event['photos']['train'])}; validation photos: "
                                        f"{shown}")
        elif kind == "spn":
            self.progress.console.print(f"feature space (SPN, quality loss): {event['features']}")
        elif kind == "resumed":
            self.progress.console.print(f"resumed at step {event['step']} (stage {event['stage'] + 1}, "
                                        f"iteration {event['iteration']})")
        elif kind == "stage":
            if self.task is not None:
                self.progress.remove_task(self.task)
            share = f", replaying {event['review_share']:.0%}" if event["review_share"] else ""
            self.task = self.progress.add_task(f"stage {event['stage'] + 1} {event['name']}{share}",
                                               total=event["iterations"], completed=event["iteration"],
                                               loss="-", rate="")
        elif kind == "step" and self.task is not None:
            speed = self.progress.tasks[-1].speed
            self.progress.update(self.task, completed=event["iteration"], loss=f"{event['loss']:.4f}",
                                 rate=f"{speed:.1f} it/s" if speed else "")
        elif kind == "val":
            scores = "  ".join(f"{task} {value:.2f}" for task, value in event["psnr"].items())
            self.progress.console.print(f"step {event['iteration']}: validation PSNR  {scores}", highlight=False)

