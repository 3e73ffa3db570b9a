"""`uhdrestore train`: train your own weights with review learning."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..train.config import DataConfig as D
from ..train.config import LossConfig as L
from ..train.config import OptimConfig as O
from ..train.config import ReviewConfig as R
from ..train.config import TrainConfig
from .common import DeviceOpt, JsonOpt, PrecisionOpt, QuietOpt, errors, print_json, stderr_console

DATA_PANEL = "Data"
REVIEW_PANEL = "Review learning"
BUDGET_PANEL = "Budget and optimisation"
RUN_PANEL = "Run folder and output"
DEFAULT_CACHE_GB = 4.0  # as train.samples.DEFAULT_CACHE_BYTES (that module loads torch)


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
    ctx: typer.Context,
    stages: Annotated[str, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Comma-separated stages in training order: a degradation (rain, haze, noise, blur, snow, lowlight, "
             "jpeg, a mix like rain+haze, or one look of a kind like snow:crisp) synthesised from --clean, or "
             "NAME=PATH for paired data: a folder "
             "with lq/ + gt/ (or low/ + high/ ...), LQ_DIR:GT_DIR, templates like DIR/rain-{id}:DIR/norain-{id}, "
             "or a pairs CSV (see docs/training.md). With --schedule joint a stage may end in *N: N times "
             "its share of every batch (snow:crisp*3).")] = "rain,haze,noise",
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
    hard_clean: Annotated[Optional[Path], typer.Option(
        rich_help_panel=DATA_PANEL,
        help="A file naming training photos a model damaged when they were clean (same format as "
             "--holdout-list; `python recipes/hard_clean.py` writes one): half as many samples again as "
             "--clean-fraction are these photos, whole and as their own target, so they are learned as clean.",
        show_default=False)] = None,
    jpeg_downscale: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Shrink JPEG clean photos by this factor as they load (area interpolation), so their compression "
             "blocks and sensor noise are not learned as clean; JPEGs left under 128 px are skipped "
             "(1 = as they are).")] = D.jpeg_downscale,
    severity: Annotated[str, typer.Option(
        callback=_parse_severity, rich_help_panel=DATA_PANEL,
        help="Range LOW,HIGH in [0, 1] that synthetic severities are drawn from.")] = ",".join(map(str, D.severity)),
    clean_fraction: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Share of synthetic samples left undegraded, so clean photos stay clean.")] = D.clean_fraction,
    scenes: Annotated[int, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Procedural clean scenes (grass, stems, petals, dew) degraded beside the photos, a third of the "
             "training crops; 0: photos only.")] = D.scenes,
    scene_grass: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Share of the --scenes that are dense, pale grass, which models without them take for rain "
             "or haze.")] = D.scene_grass,
    min_scale: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Training crops show the photo at a log-uniform scale in [MIN_SCALE, 1] (0.125: a 128-pixel "
             "view can hold a whole 1024-pixel photo, as the whole-image context sees it at inference).")
    ] = D.min_scale,
    jpeg_after: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Share of degraded synthetic samples JPEG-compressed afterwards (quality ~95 to ~60), "
             "as real photos are saved.")] = D.jpeg_after,
    keep_changes: Annotated[float, typer.Option(
        rich_help_panel=DATA_PANEL,
        help="Share of the clean samples (--clean-fraction) first given a change that is not damage (JPEG, a "
             "colour grade, sharpening), kept in the target too: the model learns to leave such photos alone.")
    ] = D.keep_changes,
    schedule: Annotated[Schedule, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="review (replay hard samples of earlier stages), sequential (no replay) or joint (all stages "
             "mixed in every batch); all on the same budget.")] = Schedule(R.schedule),
    order: Annotated[Order, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="given (as in --stages), auto (mildest degradation first, by input PSNR) or perceived (mildest "
             "first, by the perceiver's severity of each stage's validation inputs).")] = Order(R.order),
    review_ratio: Annotated[float, typer.Option(
        rich_help_panel=REVIEW_PANEL, help="Share of each batch replayed while training the 2nd stage.")] = R.ratio,
    review_decay: Annotated[float, typer.Option(
        rich_help_panel=REVIEW_PANEL, help="The replay share is multiplied by this at each later stage.")] = R.decay,
    memory_size: Annotated[int, typer.Option(
        rich_help_panel=REVIEW_PANEL, help="Hard samples (highest loss fluctuation) kept per finished stage.")
    ] = R.memory_size,
    pool_size: Annotated[Optional[int], typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="Training samples per stage, revisited each epoch so loss fluctuation can be measured "
             "(default: ITERATIONS x BATCH_SIZE / 4, so each is seen about 4 times).",
        show_default=False)] = None,
    spn_weight: Annotated[float, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="Weight of MCLIR's learning-from-history term (pushes outputs away from lagged copies of "
             "the model); 0 = off.")] = L.spn_weight,
    spn_features: Annotated[Optional[str], typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="VGG16 weights (.safetensors file or Hub id) for the SPN term; default: a fixed filter bank.",
        show_default=False)] = None,
    quality_loss: Annotated[float, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="Weight of the quality-aware term (Perceive-IR): the perceiver's 1 - P(high quality) of the "
             "output plus a contrastive ratio pulling it toward the clean patch, away from the input and from "
             "an earlier copy of the model; 0 = off.")] = L.quality_weight,
    perceiver: Annotated[str, typer.Option(
        rich_help_panel=REVIEW_PANEL,
        help="The perceiver --quality-loss and --order perceived ask: 'default' (bundled), a folder or a cached "
             "Hub id.")] = TrainConfig.perceiver,
    preset: Annotated[Preset, typer.Option(
        rich_help_panel=BUDGET_PANEL, help="Network size: small, base or large.")] = Preset.base,
    init: Annotated[Optional[str], typer.Option(
        "--init", rich_help_panel=BUDGET_PANEL, metavar="MODEL",
        help="Fine-tune: start from this model's weights ('default', a folder or a cached Hub id) instead of a "
             "fresh network; its architecture replaces --preset.", show_default=False)] = None,
    dark_channel: Annotated[bool, typer.Option(
        "--dark-channel/--no-dark-channel", rich_help_panel=BUDGET_PANEL,
        help="Give the network's whole-image context the dark channel, a haze cue (tried for the default "
             "model: better on haze, but it took bright sand for haze and darkened clean photos of it).")] = False,
    iterations: Annotated[int, typer.Option(
        rich_help_panel=BUDGET_PANEL, help="Iterations (optimizer steps) per stage.")] = O.steps_per_stage,
    batch_size: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL, help="Crops per step.")] = O.batch_size,
    patch_size: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL, help="Crop side in pixels.")] = D.patch_size,
    view_size: Annotated[int, typer.Option(
        rich_help_panel=BUDGET_PANEL,
        help="Crops are cut from the centre of a degraded view this big, and the network's whole-image "
             "context is read from the view, as at inference from the whole photo (0 = the patch size).")
    ] = D.view_size,
    view_max: Annotated[int, typer.Option(
        rich_help_panel=BUDGET_PANEL,
        help="Draw each view's side log-uniformly between --view-size and this, so the whole-image context "
             "also learns 256- or 512-pixel images; the crop keeps its scale (0 = always --view-size). "
             "Larger views cost data time.")] = D.view_max,
    lr: Annotated[float, typer.Option(rich_help_panel=BUDGET_PANEL, help="Peak learning rate (AdamW).")] = O.lr,
    loss: Annotated[Loss, typer.Option(
        rich_help_panel=BUDGET_PANEL,
        help="charbonnier (L1-like) or psnr (per-sample log MSE, capped at 38 dB: a sample pulls harder the "
             "closer it already is, so clean and mild samples are not left slightly wrong).")] = Loss(L.kind),
    clean_weight: Annotated[float, typer.Option(
        rich_help_panel=BUDGET_PANEL,
        help="Loss weight of the samples left clean (--clean-fraction, --keep-changes) against 1 for degraded "
             "ones. Above 1, a photo that may be clean or mildly degraded is left alone: where the two look "
             "alike, damaging a clean photo costs more than leaving a mild veil. For fine-tunes (--init): "
             "from scratch it holds the network near the identity.")] = L.clean_weight,
    stage_lr_decay: Annotated[float, typer.Option(
        rich_help_panel=BUDGET_PANEL,
        help="Each stage peaks at this times the previous stage's learning rate (1 = every stage at --lr), "
             "so later stages disturb earlier ones less.")] = O.stage_lr_decay,
    val_size: Annotated[int, typer.Option(
        rich_help_panel=BUDGET_PANEL, help="Validation crops per stage.")] = D.val_size,
    val_every: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL, help="Steps between validations.")
    ] = TrainConfig.val_every,
    seed: Annotated[int, typer.Option(rich_help_panel=BUDGET_PANEL)] = TrainConfig.seed,
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
    push_to_hub: Annotated[Optional[str], typer.Option(
        "--push-to-hub", rich_help_panel=RUN_PANEL, metavar="ORG/NAME",
        help="At the end, push the model folder to this Hub repository (as `uhdrestore push`; needs "
             "`hf auth login` or HF_TOKEN, checked before training).", show_default=False)] = None,
    license: Annotated[Optional[str], typer.Option(
        "--license", rich_help_panel=RUN_PANEL, metavar="SPDX",
        help="The trained weights' licence for the model card, an SPDX id such as cc-by-4.0 (it must fit the "
             "training photos' terms); default: none claimed (license: other).", show_default=False)] = None,
    checkpoint_every: Annotated[int, typer.Option(
        rich_help_panel=RUN_PANEL, help="Steps between checkpoints (also written at every stage end).")
    ] = TrainConfig.checkpoint_every,
    cache_gb: Annotated[float, typer.Option(
        rich_help_panel=RUN_PANEL,
        help="Memory for synthesised samples kept for their next visit (speed only; results do not "
             "depend on it; 0 = synthesise every visit).")] = DEFAULT_CACHE_GB,
    config_file: Annotated[Optional[Path], typer.Option(
        "--config", rich_help_panel=RUN_PANEL, exists=True, dir_okay=False,
        help="Settings from a JSON or YAML file (a RUN_DIR/config.json, or a training config with sections "
             "data, review, optim, losses); options given on the command line override it.",
        show_default=False)] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", rich_help_panel=RUN_PANEL,
        help="Continue from RUN_DIR's checkpoint, with the settings it records (options given must agree).")
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
    from ..train.shared import check_run_dir, command_line

    console = stderr_console(quiet or json_output)
    with errors(console):
        if cache_gb < 0:
            raise typer.BadParameter(f"--cache-gb must be 0 or more. Got {cache_gb}")
        given = {name for name in ctx.params
                 if getattr(ctx.get_parameter_source(name), "name", "DEFAULT") not in _NOT_GIVEN}
        config, folders = _resolve_config(ctx.params, given, config_file=config_file, run_dir=run_dir,
                                          resume=resume, smoke=smoke)
        check_run_dir(run_dir, resume=resume, overwrite=overwrite)
        if push_to_hub is not None:  # before hours of training, not after
            _check_push(push_to_hub)
        _run(config, folders, run_dir=run_dir, output=output, resume=resume, command=command_line(),
             cache_bytes=int(cache_gb * (1 << 30)), device=device, precision=precision, console=console,
             json_output=json_output, push_to_hub=push_to_hub)


def _check_push(repo_id: str) -> None:
    """A bad repository id or a missing login fails at once (exit 4)."""
    from huggingface_hub import constants, get_token

    from ..errors import PublishError
    from ..publish import check_repo_id

    try:
        check_repo_id(repo_id)
    except PublishError as error:
        raise typer.BadParameter(f"--push-to-hub: {error}") from None
    if get_token() is None:
        raise PublishError(f"--push-to-hub {repo_id}: not logged in to the Hub at {constants.ENDPOINT}: run "
                           "`hf auth login` or set HF_TOKEN before training")


def _resolve_config(params: dict[str, Any], given: set[str], *, config_file: Path | None, run_dir: Path,
                    resume: bool, smoke: bool) -> tuple[TrainConfig, list[Path] | None]:
    """The run's settings: a --config file, else (on --resume) the run folder's, else the defaults; then
    every option given on the command line. Raises BadParameter (exit 2) for invalid settings."""
    from ..train.data import read_holdout_list

    base: dict[str, Any] | None = None
    folders: list[str] | None = None
    if config_file is not None:
        base, folders = _read_config_file(config_file)
    elif resume:
        from ..train.loop import read_run_config

        base, folders = read_run_config(run_dir)
    # Without a base every option applies, defaults included (they are the dataclasses' own).
    chosen = given if base is not None else set(params)
    overrides: dict[str, Any] = {}
    try:
        for option, target in _OPTION_FIELDS.items():
            if option in chosen:
                value = params[option]
                overrides[target] = value.value if isinstance(value, Enum) else value
        if "stages" in chosen:
            overrides["stages"] = tuple(_stage(spec) for spec in params["stages"].split(","))
        if "severity" in chosen:
            overrides["data.severity"] = tuple(float(part) for part in params["severity"].split(","))
        if "pool_size" in chosen:
            overrides["data.pool_size"] = params["pool_size"] or 0
        if {"holdout", "holdout_list"} & chosen:
            listed = read_holdout_list(params["holdout_list"]) if params["holdout_list"] else ()
            overrides["data.holdout"] = tuple(name for name in params["holdout"].split(",") if name) + listed
        if "hard_clean" in chosen:
            overrides["data.hard_clean"] = (read_holdout_list(params["hard_clean"], "--hard-clean list")
                                            if params["hard_clean"] else ())
        if params["init"] is not None:
            if {"preset", "dark_channel"} & given:
                raise ValueError("--init takes the network from the model it names: drop --preset and "
                                 "--dark-channel")
            overrides["model"] = _init_model(params["init"])
        if base is None:
            config = TrainConfig(stages=overrides.pop("stages"), model=overrides.pop("model", _model(params, None)),
                                 review=R(schedule=overrides.pop("review.schedule")))  # stage weights need joint
        else:
            config = TrainConfig.from_dict(base)
            if {"preset", "dark_channel"} & chosen:
                config = config.replace(model=_model(params, config.model if "preset" not in chosen else None))
        config = config.replace(**overrides)
        if smoke:
            from ..train.config import SMOKE_MODEL

            network = {} if config.init else {"model": SMOKE_MODEL}  # a fine-tune keeps its model's network
            config = config.replace(**network, **{"optim.steps_per_stage": 12, "optim.batch_size": 4,
                                       "data.patch_size": 32, "data.pool_size": 16, "data.val_size": 4,
                                       "data.val_patch_size": 64, "val_every": 6, "checkpoint_every": 6,
                                       "optim.warmup": 2, "review.memory_size": 4})
    except (ValueError, TypeError) as error:
        raise typer.BadParameter(str(error)) from None
    clean = params["clean"] if "clean" in given or not folders else [Path(folder) for folder in folders]
    return config, clean


# option -> "section.field" of TrainConfig, for the options that are one field as they are
_OPTION_FIELDS = {
    "jpeg_downscale": "data.jpeg_downscale", "clean_fraction": "data.clean_fraction", "scenes": "data.scenes",
    "scene_grass": "data.scene_grass", "min_scale": "data.min_scale", "jpeg_after": "data.jpeg_after",
    "keep_changes": "data.keep_changes", "patch_size": "data.patch_size", "view_size": "data.view_size",
    "view_max": "data.view_max", "val_size": "data.val_size",
    "schedule": "review.schedule", "order": "review.order", "review_ratio": "review.ratio",
    "review_decay": "review.decay", "memory_size": "review.memory_size",
    "iterations": "optim.steps_per_stage", "batch_size": "optim.batch_size", "lr": "optim.lr",
    "stage_lr_decay": "optim.stage_lr_decay",
    "loss": "losses.kind", "spn_weight": "losses.spn_weight", "spn_features": "losses.spn_features",
    "quality_loss": "losses.quality_weight", "clean_weight": "losses.clean_weight",
    "perceiver": "perceiver", "init": "init", "license": "license", "val_every": "val_every",
    "checkpoint_every": "checkpoint_every", "seed": "seed",
}
_NOT_GIVEN = ("DEFAULT", "DEFAULT_MAP")  # parameter sources of an option not given (Typer vendors click's enum)


def _stage(spec: str) -> Any:
    from ..train.config import StageConfig

    return StageConfig.parse(spec)


def _model(params: dict[str, Any], base: Any) -> Any:
    from ..models import PRESETS

    return dataclasses.replace(base or PRESETS[params["preset"].value], context_dark=params["dark_channel"])


def _init_model(spec: str) -> Any:
    """The architecture of the model --init names (it is loaded again, with its weights, when training starts)."""
    from ..hub import load_model

    return load_model(spec).config


def _read_config_file(path: Path) -> tuple[dict[str, Any], list[str] | None]:
    """(training config dict, photo folders) from a JSON or YAML file: a RUN_DIR/config.json
    ({"train": ..., "clean": [...]}) or a training config itself (sections or flat)."""
    try:
        text = path.read_text()
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml  # PyYAML comes with huggingface_hub, a dependency already

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as error:  # noqa: BLE001  (OSError, JSON's ValueError, yaml.YAMLError)
        raise typer.BadParameter(f"cannot read --config {path}: {error}") from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"--config {path} must hold a mapping of settings")
    if "train" in data:
        return data["train"], data.get("clean")
    return data, None


def _run(config: TrainConfig, clean: list[Path] | None, *, run_dir: Path, output: Path | None, resume: bool,
         command: str, cache_bytes: int, device: str, precision: str, console: Console, json_output: bool,
         push_to_hub: str | None = None) -> None:
    import torch

    from ..runtime import Runtime, resolve_runtime
    from ..train.dist import setup_distributed
    from ..train.loop import train as run_training

    runtime = resolve_runtime(device, precision)
    dist = setup_distributed(runtime.device)
    if dist.enabled and runtime.is_cuda:
        runtime = Runtime(torch.device("cuda", dist.local_rank), runtime.precision)
    if not dist.is_main:
        console = Console(stderr=True, quiet=True)
    try:
        with _TrainingDisplay(console) as display:
            result = run_training(config, clean_dir=clean, run_dir=run_dir, output_dir=output or run_dir / "model",
                                  runtime=runtime, dist=dist, resume=resume, command=command,
                                  on_event=display.update, cache_bytes=cache_bytes)
    finally:
        dist.cleanup()
    if not dist.is_main:
        return
    pushed = None
    if push_to_hub is not None:
        from ..publish import push_model

        pushed = push_model(result.output_dir, push_to_hub,
                            commit_message=f"uhdrestore train: {config.schedule} over {len(config.stages)} stages")
    if json_output:
        print_json({"command": "train", "output": str(result.output_dir), "run_dir": str(run_dir),
                    "seconds": round(result.seconds, 1), "feature_space": result.feature_space,
                    "matrix": result.matrix,
                    "pushed": {"repo_id": pushed.repo_id, "commit": pushed.commit} if pushed else None})
        return
    from ..train.report import matrix_table

    console.print(matrix_table(result.rows, result.tasks, title=f"{config.schedule}: validation PSNR / SSIM "
                               "after each stage", inputs=result.inputs))
    console.print(f"model: {result.output_dir}  (use: uhdrestore fix PHOTO --model {result.output_dir})")
    console.print(f"run: {run_dir}/metrics.jsonl, validation.png, matrix.json, stages/")
    if pushed is not None:
        console.print(f"pushed to {pushed.repo_id} at commit {pushed.commit}  (use: uhdrestore fix PHOTO "
                      f"--model {pushed.repo_id} --revision {pushed.commit})", highlight=False, soft_wrap=True)


class _TrainingDisplay:
    """A rich progress bar per stage: step, loss, it/s, ETA; validation lines scroll above it."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                                 "{task.total}"), TextColumn("loss {task.fields[loss]}"),
                                 TextColumn("{task.fields[rate]}"),
                                 TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                                 disable=console.quiet or not console.is_terminal)
        self.console, self.task = console, None

    def __enter__(self) -> _TrainingDisplay:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def update(self, event: Any) -> None:
        from ..train import events

        say = self.progress.console.print
        if isinstance(event, events.RunStarted) and event.validation_photos is not None:
            names = event.validation_photos
            shown = ", ".join(names) if len(names) <= 20 else f"{len(names)} photos ({', '.join(names[:3])}, ...)"
            say(f"training photos: {len(event.train_photos or ())}; validation photos: {shown}")
        elif isinstance(event, events.FeatureSpaceLoaded):
            say(f"feature space (SPN, quality loss): {event.name}")
        elif isinstance(event, events.Resumed):
            say(f"resumed at step {event.step} (stage {event.stage + 1}, iteration {event.stage_step})")
        elif isinstance(event, events.StageStarted):
            if self.task is not None:
                self.progress.remove_task(self.task)
            share = f", replaying {event.review_share:.0%}" if event.review_share else ""
            self.task = self.progress.add_task(f"stage {event.stage + 1} {event.name}{share}", total=event.steps,
                                               completed=event.stage_step, loss="-", rate="")
        elif isinstance(event, events.Stepped) and self.task is not None:
            speed = self.progress.tasks[-1].speed
            self.progress.update(self.task, completed=event.stage_step, loss=f"{event.loss:.4f}",
                                 rate=f"{speed:.1f} it/s" if speed else "")
        elif isinstance(event, events.Validated):
            scores = "  ".join(f"{task} {value:.2f}" for task, value in event.psnr.items())
            say(f"step {event.step}: validation PSNR  {scores}", highlight=False)
