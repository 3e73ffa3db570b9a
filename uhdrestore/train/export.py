"""Model folders a run writes: the final model, one per finished stage, and one from any checkpoint.

- `export_run`: at the end, the EMA model with its model card, matrix.json and validation.png.
- `export_stage`: after every stage, the EMA model in RUN_DIR/stages/NN-NAME (review
  learning's natural checkpoints: each is the model that has learned the stages so far).
- `export_checkpoint`: `uhdrestore export RUN_DIR -o DIR`, the EMA model of a run's latest
  checkpoint, mid-run or after it; a long run is worth checking before it ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from ..atomic import atomic_path
from ..hub import save_model
from ..models import build_model
from ..runtime import Runtime
from .checkpoint import load_checkpoint, unpack
from .config import TrainConfig
from .data import CleanPhotos
from .report import MatrixRow, matrix_to_dict, model_card, plot_validation
from .shared import CHECKPOINT_NAME

__all__ = ["STAGES_FOLDER", "export_checkpoint", "export_run", "export_stage", "stage_folder"]

STAGES_FOLDER = "stages"


def stage_folder(run_dir: Path, stage: int, name: str) -> Path:
    """RUN_DIR/stages/01-rain: the EMA model after stage `stage` (0-based) of that name."""
    return run_dir / STAGES_FOLDER / f"{stage + 1:02d}-{re.sub(r'[^A-Za-z0-9+._-]', '_', name)}"


def export_stage(run_dir: Path, stage: int, name: str, ema: nn.Module, config: TrainConfig, *, step: int) -> Path:
    """Save the EMA model at the end of a stage. Raises OutputError if the folder cannot be written."""
    folder = stage_folder(run_dir, stage, name)
    card = (f"# uhdrestore model after stage {stage + 1} ({name}) of {run_dir}, step {step}\n\n"
            f"EMA weights at the end of the stage (schedule `{config.schedule}`).\n")
    save_model(ema, config.model, folder, model_card=card)
    return folder


def export_run(config: TrainConfig, *, run_dir: Path, output_dir: Path, ema: nn.Module, rows: list[dict[str, Any]],
               tasks: Sequence[str], inputs: dict[str, tuple[float, float]], seconds: float, runtime: Runtime,
               command: str, photos: CleanPhotos | None, notes: Sequence[str], write: bool = True
               ) -> tuple[dict[str, Any], list[MatrixRow]]:
    """The finished run's matrix; with `write`, also matrix.json, validation.png and the model folder."""
    matrix_rows = [MatrixRow(**row) for row in rows]
    matrix = matrix_to_dict(matrix_rows, list(tasks), schedule=config.schedule, inputs=inputs)
    if not write:
        return matrix, matrix_rows
    with atomic_path(run_dir / "matrix.json") as temporary:
        Path(temporary).write_text(json.dumps(matrix, indent=2))
    plot_validation(run_dir / "metrics.jsonl", run_dir / "validation.png")
    data = photos.describe() if photos else "paired datasets"
    budget = (f"{len(tasks)} stages x {config.optim.steps_per_stage} iterations, batch {config.optim.batch_size}, "
              f"patch {config.data.patch_size}, {seconds / 60:.1f} min on {runtime.describe()}")
    card = model_card(command=command, tasks=tasks, schedule=config.schedule, matrix=matrix,
                      config=config.to_dict(), data=data, budget=budget, license=config.license,
                      weights=[stage.weight for stage in config.stages],
                      notes=["Trained on synthetic degradations only; real photos can differ.", *notes])
    save_model(ema, config.model, output_dir, model_card=card)
    return matrix, matrix_rows


def export_checkpoint(run_dir: Path, output_dir: Path) -> tuple[Path, int]:
    """Write run_dir's checkpointed EMA model to output_dir; returns (output_dir, global step).

    Reads checkpoints of every layout (flat settings from before the sections too).
    Raises WeightsError for a missing or corrupt checkpoint, OutputError if output_dir cannot be written.
    """
    tensors, saved = load_checkpoint(run_dir / CHECKPOINT_NAME)
    config = TrainConfig.from_dict(saved["config"])
    model = build_model(config.model)
    model.load_state_dict(unpack(tensors, "ema"))
    step, total = saved["step"], config.total_steps
    card = (f"# uhdrestore model exported from {run_dir} at step {step} of {total}\n\n"
            f"EMA weights of the run's checkpoint (schedule `{config.schedule}`, stages "
            f"{', '.join(stage.name for stage in config.stages)}), written by `uhdrestore export` "
            f"{'after the run ended' if step >= total else 'while the run was unfinished'}.\n")
    save_model(model, config.model, output_dir, model_card=card)
    return output_dir, step
