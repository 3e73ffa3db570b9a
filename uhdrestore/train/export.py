"""Export the EMA weights of a run's latest checkpoint as a model folder, mid-run or after it.

A long run (days, resumed many times) is worth checking before it ends: the EMA model of
its checkpoint is what the run would ship if it stopped now, and `uhdrestore export`
writes it where `fix --model` and the benchmarks read models.
"""

from __future__ import annotations

from pathlib import Path

from ..hub import save_model
from ..models import build_model
from .checkpoint import CHECKPOINT_NAME, load_checkpoint
from .config import TrainConfig

__all__ = ["export_checkpoint"]


def export_checkpoint(run_dir: Path, output_dir: Path) -> tuple[Path, int]:
    """Write run_dir's checkpointed EMA model to output_dir; returns (output_dir, global step).

    Raises WeightsError for a missing or corrupt checkpoint, OutputError if output_dir cannot be written.
    """
    tensors, saved = load_checkpoint(run_dir / CHECKPOINT_NAME)
    config = TrainConfig.from_dict({"keep_changes": 0.0, "jpeg_downscale": 1.0, **saved["config"]})
    model = build_model(config.model)
    model.load_state_dict({key[4:]: value for key, value in tensors.items() if key.startswith("ema.")})
    step, stages = saved["step"], len(config.stages)
    total = config.iterations * stages
    card = (f"# uhdrestore model exported from {run_dir} at step {step} of {total}\n\n"
            f"EMA weights of the run's checkpoint (schedule `{config.schedule}`, stages "
            f"{', '.join(stage.name for stage in config.stages)}), written by `uhdrestore export` "
            f"{'after the run ended' if step >= total else 'while the run was unfinished'}.\n")
    save_model(model, config.model, output_dir, model_card=card)
    return output_dir, step
