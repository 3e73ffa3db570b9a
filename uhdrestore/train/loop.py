"""A training run, top to bottom: data, model, resume, then stage after stage, then export.

Schedules, on the same budget (`iterations` per stage, `batch_size` per step):
- review: stages one after another; while training stage t >= 1, a shrinking share of
  every batch replays hard samples of earlier stages (see `review.py`);
- sequential: stages one after another, no replay (the forgetting baseline);
- joint: every batch mixes all stages evenly, one learning-rate cycle over the whole
  budget (ordinary all-in-one training).
After each stage (for joint: after each stage-length of steps) the EMA model is
evaluated on the validation set of every task seen so far: the stage-by-task matrix.

Everything a step uses is a pure function of (seed, stage, iteration), or is stored in
the checkpoint (model, EMA, optimizer, loss statistics, review memory, lagged models),
so `--resume` continues exactly where the last checkpoint left off.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data import TRAIN, VALIDATION, CleanPhotos, make_stage
from ..errors import UhdRestoreError
from ..hub import save_model
from ..metrics import psnr, ssim
from ..models import build_model
from ..models.simpleir import thumbnail
from ..runtime import Runtime
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, optimizer_from_tensors, optimizer_to_tensors, save_checkpoint
from .config import TrainConfig
from .dist import Distributed
from .losses import reconstruction_loss
from .report import MatrixRow, matrix_to_dict, model_card, plot_validation
from .review import LossFluctuation, ReviewMemory

__all__ = ["TrainResult", "train"]

LOG_EVERY = 10  # iterations between "train" lines in metrics.jsonl
QUALITY_LAG = 1000  # steps the quality loss's weaker copy of the model trails by (SPN's longest lag)
Event = Callable[[dict[str, Any]], None]
DEFAULT_CACHE_BYTES = 4 << 30  # synthesised samples kept for their next visit (train --cache-gb)
ADDED_SETTINGS = {"keep_changes": 0.0, "jpeg_downscale": 1.0}  # TrainConfig fields newer than some checkpoints


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
class _State:
    """What changes as training goes; saved in every checkpoint."""

    stage: int = 0  # index into the stage order
    iteration: int = 0  # within the stage
    step: int = 0  # global optimizer steps
    seconds: float = 0.0
    memory: ReviewMemory = field(default_factory=ReviewMemory)
    rows: list[dict[str, Any]] = field(default_factory=list)


class _Samples:
    """Batches of (degraded, clean) tensors from the stages, by (stage, sample id).

    A stage's pool is a fixed set of ids, each visited every epoch, and a sample is a pure
    function of its id: so each one's patches and thumbnail are synthesised once and kept
    (exact float32 copies, up to `cache_bytes`), and later visits cost no synthesis at all.
    """

    def __init__(self, config: TrainConfig, sources: list[Any], device: torch.device,
                 cache_bytes: int = 0) -> None:
        self.config, self.sources, self.device = config, sources, device
        self._permutations: dict[tuple[int, int], np.ndarray] = {}
        self.cache_bytes = cache_bytes
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, torch.Tensor | None]] = {}
        self._cached_bytes = 0

    def pool_ids(self, stage: int, start: int, count: int) -> list[int]:
        """Ids at positions start.. of the stage's pool, reshuffled every epoch."""
        pool, ids = self.config.pool_size, []
        for position in range(start, start + count):
            epoch = position // pool
            key = (stage, epoch)
            if key not in self._permutations:
                if len(self._permutations) > 8:
                    self._permutations.clear()
                rng = np.random.default_rng([self.config.seed, self.sources[stage].key, 2, epoch])
                self._permutations[key] = rng.permutation(pool)
            ids.append(int(self._permutations[key][position % pool]))
        return ids

    def tensors(self, plan: list[tuple[int, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(B, 3, P, P) degraded and clean patches, channels-last, on the device, and the (B, 6 or 7, S, S)
        thumbnails of the degraded views they are the centre of (None when the view is the patch).
        Views may differ in size (--view-max), so each is cut and thumbnailed on its own."""
        with_views = max(self.config.train_view, self.config.view_max) > self.config.patch_size
        degraded, clean, thumbs = zip(*(self._sample(stage, sample_id, with_views) for stage, sample_id in plan))
        degraded, clean = (torch.from_numpy(np.stack(patches)).permute(0, 3, 1, 2).to(
            self.device, memory_format=torch.channels_last) for patches in (degraded, clean))
        return degraded, clean, torch.cat(thumbs).to(self.device) if with_views else None

    def _sample(self, stage: int, sample_id: int, with_views: bool
                ) -> tuple[np.ndarray, np.ndarray, torch.Tensor | None]:
        """One sample's degraded and clean patches and its view's thumbnail, from the cache if there."""
        key = (stage, sample_id)
        if key in self._cache:
            return self._cache[key]
        side = self.config.patch_size
        view, target = self.sources[stage].sample(sample_id, TRAIN)
        top, left = (view.shape[0] - side) // 2, (view.shape[1] - side) // 2
        thumb = None
        if with_views:
            view_tensor = torch.from_numpy(view).permute(2, 0, 1)[None]
            thumb = thumbnail(view_tensor, self.config.model.context_size, self.config.model.context_dark)
        sample = (view[top:top + side, left:left + side].copy(), target[top:top + side, left:left + side].copy(),
                  thumb)
        size = sample[0].nbytes * 2 + (thumb.numel() * thumb.element_size() if thumb is not None else 0)
        if self._cached_bytes + size <= self.cache_bytes:
            self._cache[key] = sample
            self._cached_bytes += size
        return sample

    def forget(self, keep: set[tuple[int, int]]) -> None:
        """Drop cached samples, except the (stage, id) pairs in `keep` (the review memory's)."""
        self._cache = {key: value for key, value in self._cache.items() if key in keep}
        self._cached_bytes = sum(value[0].nbytes * 2 + (value[2].numel() * value[2].element_size()
                                 if value[2] is not None else 0) for value in self._cache.values())

    def validation(self, stage: int) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [self.sources[stage].sample(index, VALIDATION) for index in range(self.config.val_size)]
        return tuple(torch.from_numpy(np.stack(side)).permute(0, 3, 1, 2).contiguous() for side in zip(*pairs))


def _batch_plan(config: TrainConfig, samples: _Samples, memory: ReviewMemory, stage: int, iteration: int,
                stage_count: int) -> tuple[list[tuple[int, int]], int]:
    """The global batch at (stage, iteration) as (stage index, sample id) pairs; and how many replay."""
    batch = config.batch_size
    if config.schedule == "joint":
        first = (stage * config.iterations + iteration) * batch
        plan = []
        for position in range(first, first + batch):
            task = position % stage_count
            plan.append((task, samples.pool_ids(task, position // stage_count, 1)[0]))
        return plan, 0
    replay = round(config.review_share(stage) * batch) if len(memory) else 0
    fresh = batch - replay
    plan = [(stage, sample_id) for sample_id in samples.pool_ids(stage, iteration * fresh, fresh)]
    rng = np.random.default_rng([config.seed, samples.sources[stage].key, 3, iteration])
    return plan + memory.draw(rng, replay), replay


def _learning_rate(config: TrainConfig, stage: int, position: int, length: int) -> float:
    """Linear warm-up, then cosine decay to peak * min_lr_ratio (peak: the stage's own)."""
    peak = config.peak_lr(stage)
    warmup = min(config.warmup, max(length // 10, 1))
    if position < warmup:
        return peak * (position + 1) / warmup
    progress = (position - warmup) / max(length - warmup, 1)
    floor = peak * config.min_lr_ratio
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


@torch.no_grad()
def _perceived_severity(perceiver_spec: str, validation: dict[str, tuple[torch.Tensor, torch.Tensor]]
                        ) -> dict[str, float]:
    """Each stage's mean perceived severity over its degraded validation crops."""
    from ..perceive.inspect import load_perceiver

    perceiver = load_perceiver(perceiver_spec, local_files_only=True).module
    with torch.inference_mode():
        return {name: float(perceiver.perceive(degraded.float().cpu()).severity.mean())
                for name, (degraded, _clean) in validation.items()}


def _evaluate(model: nn.Module, sets: dict[str, tuple[torch.Tensor, torch.Tensor]], runtime: Runtime
              ) -> tuple[dict[str, float], dict[str, float]]:
    """Mean PSNR and SSIM of the model on each validation set."""
    model.eval()
    psnrs, ssims = {}, {}
    for name, (degraded, clean) in sets.items():
        outputs = []
        for start in range(0, len(degraded), 4):
            chunk = degraded[start:start + 4].to(runtime.device, memory_format=torch.channels_last)
            with runtime.autocast():
                outputs.append(model(chunk).float().clamp(0, 1).cpu())
        restored = torch.cat(outputs)
        psnrs[name] = float(psnr(restored, clean).mean())
        ssims[name] = float(ssim(restored, clean).mean())
    return psnrs, ssims


class _Log:
    """metrics.jsonl, written by rank 0 only; on resume, lines past the checkpoint are dropped."""

    def __init__(self, path: Path, enabled: bool, resume_step: int | None) -> None:
        self.path, self.enabled = path, enabled
        if enabled and resume_step is not None and path.exists():
            kept = []
            for line in path.read_text().splitlines():
                try:
                    if json.loads(line).get("iteration", 0) <= resume_step:
                        kept.append(line)
                except json.JSONDecodeError:
                    pass  # a line cut short by the kill
            path.write_text("".join(line + "\n" for line in kept))
        elif enabled and resume_step is None:
            path.write_text("")

    def __call__(self, record: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")


def train(config: TrainConfig, *, clean_dir: Path | Sequence[Path] | None, run_dir: Path, output_dir: Path,
          runtime: Runtime, dist: Distributed, resume: bool = False, command: str = "",
          on_event: Event | None = None, stop_after: int | None = None,
          cache_bytes: int = DEFAULT_CACHE_BYTES) -> TrainResult:
    """Run (or resume) a training run; returns the exported model folder and the matrix.

    `clean_dir` is one folder of clean photos or several (searched recursively).
    `on_event` receives progress events (dicts with an "event" key) for a display;
    `stop_after` ends the run after that many global steps, as a kill would (for tests);
    `cache_bytes` bounds the synthesised samples kept for their next visit (results do not
    depend on it, only speed).
    Raises UhdRestoreError subclasses for missing data, bad checkpoints and unwritable output.
    """
    emit = on_event or (lambda event: None)
    if config.batch_size % dist.world_size:
        raise UhdRestoreError(f"batch size {config.batch_size} must divide by the {dist.world_size} processes")
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)  # every rank builds the same initial network

    needs_photos = any(stage.path is None for stage in config.stages)
    photos = CleanPhotos(clean_dir, holdout=config.holdout, seed=config.seed, scenes=config.scenes,
                         scene_grass=config.scene_grass, jpeg_downscale=config.jpeg_downscale
                         ) if needs_photos and clean_dir else None
    given_sources = [make_stage(stage, config, photos) for stage in config.stages]
    given_samples = _Samples(config, given_sources, runtime.device)
    validation = {stage.name: given_samples.validation(index) for index, stage in enumerate(config.stages)}
    inputs = {name: (float(psnr(lq, gt).mean()), float(ssim(lq, gt).mean())) for name, (lq, gt) in
              validation.items()}
    order = list(range(len(config.stages)))
    if config.order == "auto":  # mildest first: highest input PSNR, i.e. the least complex degradation
        order.sort(key=lambda index: -inputs[config.stages[index].name][0])
    elif config.order == "perceived":  # mildest first, as the perceiver judges the validation inputs
        perceived = _perceived_severity(config.perceiver, validation)
        order.sort(key=lambda index: perceived[config.stages[index].name])
    stages = [config.stages[index] for index in order]
    tasks = [stage.name for stage in stages]
    samples = _Samples(config, [given_sources[index] for index in order], runtime.device, cache_bytes)
    emit({"event": "start", "tasks": tasks, "inputs": inputs,
          "photos": None if photos is None else {"train": photos.train_names, "validation": photos.val_names}})

    model = build_model(config.model).to(runtime.device, memory_format=torch.channels_last)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.99),
                                  weight_decay=config.weight_decay)
    lagged = spn = quality = features = None
    if config.spn_weight > 0 or config.quality_loss > 0:
        from .spn import LaggedModels, SPNLoss, load_feature_space

        features = load_feature_space(config.spn_features).to(runtime.device)
        # Copy 0 trails by the longest period: it is also the quality loss's "earlier, weaker" model.
        lagged = LaggedModels(model) if config.spn_weight > 0 else LaggedModels(model, periods=(QUALITY_LAG,))
        emit({"event": "spn", "features": features.name})
    if config.spn_weight > 0:
        spn = SPNLoss(features, config.spn_weight)
    if config.quality_loss > 0:
        from ..perceive.inspect import load_perceiver
        from .quality import QualityLoss

        perceiver = load_perceiver(config.perceiver, local_files_only=True).module.to(runtime.device)
        quality = QualityLoss(perceiver, features, config.quality_loss)
    tracker = LossFluctuation(config.pool_size)
    state = _State()

    checkpoint_path = run_dir / CHECKPOINT_NAME
    if resume:
        tensors, saved = load_checkpoint(checkpoint_path)
        current = json.loads(json.dumps(config.to_dict()))  # tuples become lists, as in the saved JSON
        # Settings added since the checkpoint was written read as their defaults, so older runs resume.
        defaults = {key: value for key, value in current.items() if key in ADDED_SETTINGS
                    and value == ADDED_SETTINGS[key]}
        if {**defaults, **saved["config"]} != current:
            changed = sorted(key for key, value in current.items()
                             if {**defaults, **saved["config"]}.get(key) != value)
            raise UhdRestoreError(f"cannot resume {checkpoint_path}: it was made with other settings "
                                  f"({', '.join(changed)}); run the same command with --resume")
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
        optimizer_from_tensors(optimizer, tensors, saved["param_groups"])
        tracker.load_state_dict({k[8:]: v for k, v in tensors.items() if k.startswith("tracker.")})
        if lagged is not None:
            lagged.load_state_dict({k: v for k, v in tensors.items() if k.startswith("lagged.")})
        state = _State(stage=saved["stage"], iteration=saved["iteration"], step=saved["step"],
                       seconds=saved["seconds"], memory=ReviewMemory.from_dict(saved["memory"]), rows=saved["rows"])
        emit({"event": "resumed", "step": state.step, "stage": state.stage, "iteration": state.iteration})
    log = _Log(run_dir / "metrics.jsonl", dist.is_main, state.step if resume else None)
    network = torch.nn.parallel.DistributedDataParallel(model) if dist.enabled else model

    def checkpoint() -> None:
        if not dist.is_main:
            return
        optimizer_tensors, param_groups = optimizer_to_tensors(optimizer)
        tensors = {**{f"model.{k}": v for k, v in model.state_dict().items()},
                   **{f"ema.{k}": v for k, v in ema.state_dict().items()},
                   **{f"tracker.{k}": v for k, v in tracker.state_dict().items()}, **optimizer_tensors}
        if lagged is not None:
            tensors.update(lagged.state_dict())
        save_checkpoint(run_dir, tensors, {
            "config": config.to_dict(), "param_groups": param_groups, "stage": state.stage,
            "iteration": state.iteration, "step": state.step, "seconds": state.seconds,
            "memory": state.memory.to_dict(), "rows": state.rows, "tasks": tasks})

    def validate(seen: int) -> dict[str, Any]:
        psnrs, ssims = _evaluate(ema, {name: validation[name] for name in tasks}, runtime)
        record = {"event": "val", "iteration": state.step, "stage": state.stage, "psnr": psnrs, "ssim": ssims}
        log(record)
        emit(record)
        return {"psnr": {t: psnrs[t] if i < seen else None for i, t in enumerate(tasks)},
                "ssim": {t: ssims[t] if i < seen else None for i, t in enumerate(tasks)}}

    started = time.perf_counter() - state.seconds
    total_length = config.iterations * (len(stages) if config.schedule == "joint" else 1)
    local = slice(dist.rank * config.batch_size // dist.world_size,
                  (dist.rank + 1) * config.batch_size // dist.world_size)
    with ThreadPoolExecutor(1, thread_name_prefix="batches") as prefetch:
        while state.stage < len(stages):
            stage = state.stage
            emit({"event": "stage", "stage": stage, "name": tasks[stage], "iterations": config.iterations,
                  "iteration": state.iteration, "review_share": config.review_share(stage)})

            def load(iteration: int, stage: int = stage) -> tuple[list[tuple[int, int]], int, Any]:
                plan, replay = _batch_plan(config, samples, state.memory, stage, iteration, len(stages))
                return plan, replay, samples.tensors(plan[local])

            upcoming = prefetch.submit(load, state.iteration)
            for iteration in range(state.iteration, config.iterations):
                plan, replay, (patch, clean, thumb) = upcoming.result()
                if iteration + 1 < config.iterations:
                    upcoming = prefetch.submit(load, iteration + 1)
                position = stage * config.iterations + iteration if config.schedule == "joint" else iteration
                learning_rate = _learning_rate(config, stage, position, total_length)
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate
                model.train()
                with runtime.autocast():
                    restored = network(patch, None, thumb)
                per_sample = reconstruction_loss(restored, clean, fft_weight=config.fft_weight, kind=config.loss)
                loss = per_sample.mean()
                negatives = lagged.outputs(patch, None, thumb) if lagged is not None else []
                if spn is not None:
                    loss = loss + spn(restored, negatives)
                if quality is not None:
                    loss = loss + quality(restored, clean, patch, negatives[0])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                with torch.no_grad():  # EMA with a short warm-up, so early validation is meaningful
                    decay = min(config.ema_decay, (1 + state.step) / (10 + state.step))
                    torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)
                state.step, state.iteration = state.step + 1, iteration + 1
                if lagged is not None:
                    lagged.update(model, state.step)
                losses = dist.gather(per_sample.detach().double().cpu().numpy())
                fresh = [(index, sample_id) for index, (task, sample_id) in enumerate(plan)
                         if task == stage and index < len(plan) - replay]
                if config.schedule == "review" and fresh:
                    tracker.update(np.array([i for _, i in fresh]), losses[[index for index, _ in fresh]])
                state.seconds = time.perf_counter() - started
                if state.step % LOG_EVERY == 0 or iteration + 1 == config.iterations:
                    record = {"event": "train", "iteration": state.step, "stage": stage, "stage_name": tasks[stage],
                              "loss": float(losses.mean()), "lr": learning_rate,
                              "review_share": replay / config.batch_size, "seconds": round(state.seconds, 2)}
                    log(record)
                emit({"event": "step", "step": state.step, "iteration": iteration + 1, "loss": float(loss.detach())})
                if dist.is_main and state.step % config.val_every == 0 and iteration + 1 < config.iterations:
                    validate(len(stages) if config.schedule == "joint" else stage + 1)
                if state.step % config.checkpoint_every == 0:
                    checkpoint()
                if stop_after is not None and state.step >= stop_after:
                    dist.barrier()
                    raise _Stopped(state.step)
            # End of the stage: keep its hard samples, record the matrix row, checkpoint.
            if config.schedule == "review":
                state.memory.add(stage, *tracker.hardest(config.memory_size))
                samples.forget({(task, sample_id) for task, (ids, _) in state.memory.stages.items()
                                for sample_id in ids})
            tracker = LossFluctuation(config.pool_size)
            if dist.is_main:
                scores = validate(len(stages) if config.schedule == "joint" else stage + 1)
                state.rows.append({"after_stage": tasks[stage], "iteration": state.step, **scores})
                log({"event": "stage_end", "iteration": state.step, "stage": stage, "stage_name": tasks[stage]})
            state.stage, state.iteration = stage + 1, 0
            checkpoint()
            dist.barrier()

    rows = [MatrixRow(**row) for row in state.rows]
    matrix = matrix_to_dict(rows, tasks, schedule=config.schedule, inputs=inputs)
    if dist.is_main:
        (run_dir / "matrix.json").write_text(json.dumps(matrix, indent=2))
        plot_validation(run_dir / "metrics.jsonl", run_dir / "validation.png")
        data = photos.describe() if photos else "paired datasets"
        budget = (f"{len(stages)} stages x {config.iterations} iterations, batch {config.batch_size}, "
                  f"patch {config.patch_size}, {state.seconds / 60:.1f} min on {runtime.describe()}")
        card = model_card(command=command, tasks=tasks, schedule=config.schedule, matrix=matrix,
                          config=config.to_dict(), data=data, budget=budget,
                          notes=["Trained on synthetic degradations only; real photos can differ.",
                                 *([f"SPN term (weight {config.spn_weight}) in feature space: {spn.features.name}"]
                                   if spn is not None else []),
                                 *([f"quality-aware term (weight {config.quality_loss}), perceiver {config.perceiver}"]
                                   if quality is not None else [])])
        save_model(ema, config.model, output_dir, model_card=card)
    dist.barrier()
    return TrainResult(output_dir=output_dir, matrix=matrix, rows=rows, tasks=tasks, inputs=inputs,
                       seconds=state.seconds, feature_space=spn.features.name if spn is not None else None)


class _Stopped(Exception):
    """Raised by `stop_after`: the run ends as if killed right after that step."""

    def __init__(self, step: int) -> None:
        super().__init__(f"stopped after step {step}")
        self.step = step
