"""A training run, top to bottom: `train()` calls the steps below in the order they happen.

    prepare_data -> build_trainer (network, EMA, optimizer, objectives) -> resume
    -> run_stage, stage after stage (train_step ... validate, checkpoint, close the stage)
    -> export_run

Schedules, on the same budget (`steps_per_stage` per stage, `batch_size` per step):
- review: stages one after another; while training stage t >= 1, a shrinking share of
  every batch replays hard samples of earlier stages (`review.ReviewSchedule`);
- sequential: stages one after another, no replay (the forgetting baseline);
- joint: every batch mixes all stages, evenly or by their weights ("snow:crisp*3"), one
  learning-rate cycle over the whole budget (ordinary all-in-one training).
After each stage (for joint: after each stage-length of steps) the EMA model is
evaluated on the validation set of every task seen so far: the stage-by-task matrix,
and exported to RUN_DIR/stages/.

Everything a step uses is a pure function of (seed, stage, stage step), or is stored in
the checkpoint (model, EMA, optimizer, grad scaler, loss statistics, review memory,
lagged models), so `--resume` continues exactly where the last checkpoint left off.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import UhdRestoreError, WeightsError
from ..extras import require_extra
from ..models import build_model
from ..runtime import Runtime
from .checkpoint import load_checkpoint, optimizer_from_tensors, optimizer_to_tensors, pack, save_checkpoint, unpack
from .config import StageConfig, TrainConfig
from .data import CleanPhotos, PairedStage, SyntheticStage, make_stage
from .dist import Distributed
from .evaluate import ValidationSets, evaluate, input_scores, perceived_severity
from .events import (
    EventHandler,
    FeatureSpaceLoaded,
    Resumed,
    RunStarted,
    StageEnded,
    StageStarted,
    Stepped,
    Validated,
)
from .export import export_run, export_stage
from .objectives import Objectives, build_objectives
from .report import MatrixRow, MetricsLog
from .review import BatchPlan, ReviewSchedule
from .samples import DEFAULT_CACHE_BYTES, Samples
from .shared import CHECKPOINT_NAME, ResumeMismatchError, make_run_dir, warmup_cosine

__all__ = ["RUN_CONFIG_NAME", "RunState", "TrainResult", "read_run_config", "train"]

log = logging.getLogger(__name__)

LOG_EVERY = 10  # steps between "train" lines in metrics.jsonl
RUN_CONFIG_NAME = "config.json"  # the resolved settings, written to the run folder at start


@dataclass
class TrainResult:
    output_dir: Path
    matrix: dict[str, Any]
    rows: list[MatrixRow]
    tasks: list[str]
    inputs: dict[str, tuple[float, float]]
    seconds: float
    feature_space: str | None = None


@dataclass
class RunState:
    """What changes as training goes; saved in every checkpoint."""

    stage: int = 0  # index into the training order
    stage_step: int = 0  # steps done in that stage
    step: int = 0  # global optimizer steps
    seconds: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)  # the matrix, one row per finished stage


@dataclass
class PreparedData:
    """The stages in training order, their batches and validation crops."""

    stages: list[StageConfig]
    tasks: list[str]
    sources: list[SyntheticStage | PairedStage]
    samples: Samples
    validation: ValidationSets
    inputs: dict[str, tuple[float, float]]  # task -> input (PSNR, SSIM)
    photos: CleanPhotos | None


@dataclass
class Trainer:
    """The network and everything that updates it."""

    model: nn.Module
    network: nn.Module  # the model, wrapped for data-parallel training when it is
    ema: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    objectives: Objectives


@dataclass
class Run:
    """What the steps of a run share (built once by `train`)."""

    config: TrainConfig
    runtime: Runtime
    dist: Distributed
    run_dir: Path
    data: PreparedData
    trainer: Trainer
    schedule: ReviewSchedule
    state: RunState
    metrics: MetricsLog
    emit: EventHandler
    started: float = 0.0  # perf_counter at the start of this process's share of the run

    @property
    def local(self) -> slice:
        """This rank's share of the global batch."""
        batch, dist = self.config.optim.batch_size, self.dist
        return slice(dist.rank * batch // dist.world_size, (dist.rank + 1) * batch // dist.world_size)


def train(config: TrainConfig, *, clean_dir: Path | Sequence[Path] | None, run_dir: Path, output_dir: Path,
          runtime: Runtime, dist: Distributed, resume: bool = False, command: str = "",
          on_event: EventHandler | None = None, stop_after: int | None = None,
          cache_bytes: int = DEFAULT_CACHE_BYTES) -> TrainResult:
    """Run (or resume) a training run; returns the exported model folder and the matrix.

    `clean_dir` is one folder of clean photos or several (searched recursively).
    `on_event` receives progress events (train/events.py) for a display;
    `stop_after` ends the run after that many global steps, as a kill would (for tests);
    `cache_bytes` bounds the synthesised samples kept for their next visit (results do not
    depend on it, only speed).
    Raises UhdRestoreError subclasses: InputImageError for missing data, WeightsError for a
    bad checkpoint, ResumeMismatchError (a usage error) for resuming with other settings,
    OutputError for an unwritable run folder, MissingExtraError without the [train] extra.
    """
    require_extra("train", "training")  # SSIM and the validation plot: fail now, not after the run
    emit = on_event or (lambda event: None)
    if config.optim.batch_size % dist.world_size:
        raise UhdRestoreError(f"batch size {config.optim.batch_size} must divide by the {dist.world_size} processes")
    if dist.is_main:
        make_run_dir(run_dir)
    torch.manual_seed(config.seed)  # every rank builds the same initial network
    data = prepare_data(config, clean_dir, runtime, cache_bytes)
    photos = data.photos
    emit(RunStarted(tuple(data.tasks), data.inputs, None if photos is None else tuple(photos.train_names),
                    None if photos is None else tuple(photos.val_names)))
    trainer = build_trainer(config, runtime, dist)
    if trainer.objectives.feature_space is not None:
        emit(FeatureSpaceLoaded(trainer.objectives.feature_space))
    schedule = ReviewSchedule(config, [source.key for source in data.sources],
                              [stage.weight for stage in data.stages])
    state = RunState()
    if resume:
        state = resume_run(config, run_dir / CHECKPOINT_NAME, trainer, schedule)
        emit(Resumed(state.step, state.stage, state.stage_step))
        log.info("resumed at step %d (stage %d, stage step %d)", state.step, state.stage + 1, state.stage_step)
    elif dist.is_main:
        write_run_config(run_dir, config, clean_dir)
    run = Run(config, runtime, dist, run_dir, data, trainer, schedule, state,
              MetricsLog(run_dir / "metrics.jsonl", dist.is_main, state.step if resume else None), emit,
              started=time.perf_counter() - state.seconds)
    with batch_prefetcher(runtime) as prefetch:
        while state.stage < len(data.stages):
            run_stage(run, prefetch, stop_after)
    matrix, rows = export_run(config, run_dir=run_dir, output_dir=output_dir, ema=trainer.ema, rows=state.rows,
                              tasks=data.tasks, inputs=data.inputs, seconds=state.seconds, runtime=runtime,
                              command=command, photos=photos, notes=trainer.objectives.notes(),
                              write=dist.is_main)
    dist.barrier()
    return TrainResult(output_dir=output_dir, matrix=matrix, rows=rows, tasks=data.tasks, inputs=data.inputs,
                       seconds=state.seconds, feature_space=trainer.objectives.feature_space)


def prepare_data(config: TrainConfig, clean_dir: Path | Sequence[Path] | None, runtime: Runtime,
                 cache_bytes: int) -> PreparedData:
    """Load the photos, make each stage's data source and validation crops, and put the stages in order."""
    needs_photos = any(stage.path is None for stage in config.stages)
    data = config.data
    photos = CleanPhotos(clean_dir, holdout=data.holdout, seed=config.seed, scenes=data.scenes,
                         scene_grass=data.scene_grass, jpeg_downscale=data.jpeg_downscale, hard_clean=data.hard_clean
                         ) if needs_photos and clean_dir else None
    given = [make_stage(stage, data, config.seed, photos) for stage in config.stages]
    given_samples = Samples(data, config.model, given, runtime.device)
    validation = {stage.name: given_samples.validation(index) for index, stage in enumerate(config.stages)}
    inputs = input_scores(validation)
    order = list(range(len(config.stages)))
    if config.review.order == "auto":  # mildest first: highest input PSNR, i.e. the least complex degradation
        order.sort(key=lambda index: -inputs[config.stages[index].name][0])
    elif config.review.order == "perceived":  # mildest first, as the perceiver judges the validation inputs
        perceived = perceived_severity(config.perceiver, validation)
        order.sort(key=lambda index: perceived[config.stages[index].name])
    stages = [config.stages[index] for index in order]
    sources = [given[index] for index in order]
    return PreparedData(stages=stages, tasks=[stage.name for stage in stages], sources=sources,
                        samples=Samples(data, config.model, sources, runtime.device, cache_bytes),
                        validation=validation, inputs=inputs, photos=photos)


class _InlineExecutor:
    """An executor that runs each job at once, in the calling thread (the prefetcher's stand-in)."""

    def __enter__(self) -> _InlineExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def submit(self, job: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        future.set_result(job(*args))
        return future


def batch_prefetcher(runtime: Runtime) -> ThreadPoolExecutor | _InlineExecutor:
    """Where the next batch is made: in a background thread while this one trains, when a core is free
    for it (a GPU run, or torch using fewer threads than the CPU has cores); else inline, in turn.

    On a CPU whose every core runs torch's threads, a second thread's synthesis and tensor copies
    start a second OpenMP team and each team spins waiting for the other: measured on 2 cores and
    2 threads, the loop ran at 48% of the network-only rate threaded and at about 90% inline
    (benchmarks/train_speed.py). The batches are the same either way: a plan is a pure function
    of (stage, step).
    """
    if runtime.device.type == "cpu" and torch.get_num_threads() >= _usable_cores():
        return _InlineExecutor()
    return ThreadPoolExecutor(1, thread_name_prefix="batches")


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def build_trainer(config: TrainConfig, runtime: Runtime, dist: Distributed) -> Trainer:
    """The network, its EMA copy, AdamW, the fp16 gradient scaler and the step's objectives."""
    model = build_model(config.model)
    if config.init is not None:
        model.load_state_dict(initial_weights(config))
    # Module.to takes memory_format (torch._C._nn._parse_to), but its typed overloads omit it
    model = model.to(runtime.device, memory_format=torch.channels_last)  # pyright: ignore[reportCallIssue]
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.optim.lr, betas=(0.9, 0.99),
                                  weight_decay=config.optim.weight_decay)
    # fp16 gradients of small losses underflow: scale them (bf16 and fp32 have the range and need none).
    scaler = torch.amp.GradScaler(runtime.device.type, enabled=runtime.precision == "fp16")
    objectives = build_objectives(config, model, runtime)
    network = torch.nn.parallel.DistributedDataParallel(model) if dist.enabled else model
    return Trainer(model, network, ema, optimizer, scaler, objectives)


def initial_weights(config: TrainConfig) -> dict[str, torch.Tensor]:
    """The weights of `config.init` (fine-tuning starts from them). Raises WeightsError when that model
    cannot load or has another architecture than `config.model`."""
    from ..hub import load_model

    loaded = load_model(config.init or "default")
    if loaded.config != config.model:
        raise WeightsError(f"--init {config.init}: its architecture differs from this run's network "
                           f"({loaded.config} vs {config.model})")
    return loaded.module.state_dict()


def resume_run(config: TrainConfig, path: Path, trainer: Trainer, schedule: ReviewSchedule) -> RunState:
    """Load a checkpoint into the trainer and schedule; returns the run state it holds.

    Raises WeightsError for a missing or corrupt checkpoint, ResumeMismatchError when it was
    made with other settings.
    """
    tensors, saved = load_checkpoint(path)
    try:
        saved_config = TrainConfig.from_dict(saved["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise UhdRestoreError(f"cannot resume {path}: its settings do not load ({error})") from error
    changed = config.differences(saved_config)
    if changed:
        raise ResumeMismatchError(f"cannot resume {path}: it was made with other settings ({', '.join(changed)}); "
                                  "run the same command with --resume")
    trainer.model.load_state_dict(unpack(tensors, "model"))
    trainer.ema.load_state_dict(unpack(tensors, "ema"))
    optimizer_from_tensors(trainer.optimizer, tensors, saved["param_groups"])
    if trainer.scaler.is_enabled() and saved.get("scaler"):
        trainer.scaler.load_state_dict(saved["scaler"])
    schedule.load_state_dict(unpack(tensors, "tracker"), saved["memory"])
    if trainer.objectives.lagged is not None:
        trainer.objectives.lagged.load_state_dict({k: v for k, v in tensors.items() if k.startswith("lagged.")})
    return RunState(stage=saved["stage"], stage_step=saved.get("stage_step", saved.get("iteration", 0)),
                    step=saved["step"], seconds=saved["seconds"], rows=saved["rows"])


def run_stage(run: Run, prefetch: ThreadPoolExecutor | _InlineExecutor, stop_after: int | None) -> None:
    """Train the current stage from its current step to its end, then close it."""
    config, state, stage = run.config, run.state, run.state.stage
    steps = config.optim.steps_per_stage
    run.emit(StageStarted(stage, run.data.tasks[stage], steps, state.stage_step, run.schedule.share(stage)))
    log.info("stage %d (%s) from step %d of %d", stage + 1, run.data.tasks[stage], state.stage_step, steps)

    def load(stage_step: int) -> tuple[BatchPlan, Any]:
        plan = run.schedule.plan(stage, stage_step)
        return plan, run.data.samples.tensors(plan.samples[run.local])

    upcoming: Future = prefetch.submit(load, state.stage_step)
    for stage_step in range(state.stage_step, steps):
        plan, batch = upcoming.result()
        if stage_step + 1 < steps:  # the next batch is made while this one trains
            upcoming = prefetch.submit(load, stage_step + 1)
        train_step(run, plan, batch, stage_step)
        if run.dist.is_main and state.step % config.val_every == 0 and stage_step + 1 < steps:
            validate(run)
        if state.step % config.checkpoint_every == 0:
            checkpoint(run)
        if stop_after is not None and state.step >= stop_after:
            run.dist.barrier()
            raise _Stopped(state.step)
    close_stage(run)


def train_step(run: Run, plan: BatchPlan, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None],
               stage_step: int) -> None:
    """One optimizer step on one batch: forward, loss, backward, clip, step, EMA; record the losses."""
    config, state, trainer = run.config, run.state, run.trainer
    patch, clean, thumb = batch  # (B, 3, P, P) each, and (B, 6 or 7, S, S) thumbnails or None
    stage = state.stage
    joint = config.schedule == "joint"
    position = stage * config.optim.steps_per_stage + stage_step if joint else stage_step
    length = config.total_steps if joint else config.optim.steps_per_stage
    learning_rate = warmup_cosine(position, length, peak=config.peak_lr(stage),
                                  warmup=min(config.optim.warmup, max(length // 10, 1)),
                                  floor_ratio=config.optim.min_lr_ratio)
    for group in trainer.optimizer.param_groups:
        group["lr"] = learning_rate
    trainer.model.train()
    with run.runtime.autocast():
        restored = trainer.network(patch, None, thumb)
    loss, per_sample = trainer.objectives.loss(restored, clean, patch, thumb)
    trainer.optimizer.zero_grad(set_to_none=True)
    trainer.scaler.scale(loss).backward()
    trainer.scaler.unscale_(trainer.optimizer)  # clip the true gradients, not the scaled ones
    torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), config.optim.grad_clip)
    trainer.scaler.step(trainer.optimizer)
    trainer.scaler.update()
    with torch.no_grad():  # EMA with a short warm-up, so early validation is meaningful
        decay = min(config.optim.ema_decay, (1 + state.step) / (10 + state.step))
        # One fused kernel over all parameters; private in name only (torch.optim's own foreach paths use it)
        torch._foreach_lerp_(  # pyright: ignore[reportPrivateImportUsage]
            list(trainer.ema.parameters()), list(trainer.model.parameters()), 1 - decay)
    state.step, state.stage_step = state.step + 1, stage_step + 1
    trainer.objectives.after_step(trainer.model, state.step)
    losses = run.dist.gather(per_sample.detach().double().cpu().numpy())
    run.schedule.record(plan, losses)
    state.seconds = time.perf_counter() - run.started
    if state.step % LOG_EVERY == 0 or stage_step + 1 == config.optim.steps_per_stage:
        run.metrics({"event": "train", "iteration": state.step, "stage": stage, "stage_name": run.data.tasks[stage],
                     "loss": float(losses.mean()), "lr": learning_rate,
                     "review_share": plan.replay / config.optim.batch_size, "seconds": round(state.seconds, 2)})
    run.emit(Stepped(state.step, stage_step + 1, float(loss.detach())))


def validate(run: Run) -> dict[str, dict[str, float | None]]:
    """Score the EMA model on every task; the row's scores (None for tasks not yet trained)."""
    state, tasks = run.state, run.data.tasks
    psnrs, ssims = evaluate(run.trainer.ema, {name: run.data.validation[name] for name in tasks}, run.runtime)
    run.metrics({"event": "val", "iteration": state.step, "stage": state.stage, "psnr": psnrs, "ssim": ssims})
    run.emit(Validated(state.step, state.stage, psnrs, ssims))
    log.info("step %d: validation PSNR %s", state.step, ", ".join(f"{t} {v:.2f}" for t, v in psnrs.items()))
    seen = len(tasks) if run.config.schedule == "joint" else state.stage + 1
    return {"psnr": {t: psnrs[t] if i < seen else None for i, t in enumerate(tasks)},
            "ssim": {t: ssims[t] if i < seen else None for i, t in enumerate(tasks)}}


def close_stage(run: Run) -> None:
    """End of a stage: keep its hard samples, record and export the matrix row, checkpoint."""
    state, stage, name = run.state, run.state.stage, run.data.tasks[run.state.stage]
    memory = run.schedule.close_stage(stage)
    if run.config.schedule != "joint":  # the stage's samples come back only as replay: free their cache
        run.data.samples.forget(memory)
    folder = None
    if run.dist.is_main:
        scores = validate(run)
        state.rows.append({"after_stage": name, "iteration": state.step, **scores})
        run.metrics({"event": "stage_end", "iteration": state.step, "stage": stage, "stage_name": name})
        folder = export_stage(run.run_dir, stage, name, run.trainer.ema, run.config, step=state.step)
    state.stage, state.stage_step = stage + 1, 0
    checkpoint(run)
    run.dist.barrier()
    run.emit(StageEnded(state.step, stage, name, None if folder is None else str(folder)))


def checkpoint(run: Run) -> None:
    """Write everything resuming needs (rank 0 only): weights, optimizer, scaler, schedule, run state."""
    if not run.dist.is_main:
        return
    trainer, state = run.trainer, run.state
    optimizer_tensors, param_groups = optimizer_to_tensors(trainer.optimizer)
    tracker, memory = run.schedule.state_dict()
    tensors = {**pack(model=trainer.model.state_dict(), ema=trainer.ema.state_dict(), tracker=tracker),
               **optimizer_tensors}
    if trainer.objectives.lagged is not None:
        tensors.update(trainer.objectives.lagged.state_dict())
    save_checkpoint(run.run_dir, tensors, {
        "config": run.config.to_dict(), "param_groups": param_groups, "stage": state.stage,
        "stage_step": state.stage_step, "step": state.step, "seconds": state.seconds, "memory": memory,
        "rows": state.rows, "tasks": run.data.tasks,
        **({"scaler": trainer.scaler.state_dict()} if trainer.scaler.is_enabled() else {})})


def write_run_config(run_dir: Path, config: TrainConfig, clean_dir: Path | Sequence[Path] | None) -> None:
    """RUN_DIR/config.json: the resolved settings and the photo folders, so `--resume` needs nothing else."""
    folders = [] if clean_dir is None else [str(clean_dir)] if isinstance(clean_dir, Path) else [
        str(folder) for folder in clean_dir]
    from ..atomic import atomic_path

    with atomic_path(run_dir / RUN_CONFIG_NAME) as temporary:
        Path(temporary).write_text(json.dumps({"train": config.to_dict(), "clean": folders}, indent=2) + "\n")


def read_run_config(run_dir: Path) -> tuple[dict[str, Any] | None, list[str] | None]:
    """(config dict, photo folders) a run folder records: its config.json, else its checkpoint's settings."""
    path = run_dir / RUN_CONFIG_NAME
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
            return saved["train"], saved.get("clean")
        except (OSError, ValueError, KeyError):
            pass
    if (run_dir / CHECKPOINT_NAME).is_file():
        _tensors, state = load_checkpoint(run_dir / CHECKPOINT_NAME)
        return state.get("config"), None
    return None, None


class _Stopped(Exception):
    """Raised by `stop_after`: the run ends as if killed right after that step."""

    def __init__(self, step: int) -> None:
        super().__init__(f"stopped after step {step}")
        self.step = step
