"""What the restorer's and the perceiver's trainers share: splits, the learning-rate
schedule, the run-folder guard and the command line a model card records."""

from __future__ import annotations

import math
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import OutputError, UhdRestoreError

__all__ = ["CALIBRATION", "CHECKPOINT_NAME", "HARD_CLEAN", "TRAIN", "VALIDATION", "ResumeMismatchError",
           "check_run_dir", "command_line", "make_run_dir", "warmup_cosine"]

TRAIN, VALIDATION, CALIBRATION, HARD_CLEAN = 0, 1, 2, 3  # the split number every sample's generator is seeded with
CHECKPOINT_NAME = "checkpoint.safetensors"


class ResumeMismatchError(UhdRestoreError, ValueError):
    """A run was resumed with settings other than those its checkpoint was made with (a usage error)."""

    exit_code = 2


def warmup_cosine(position: int, length: int, *, peak: float, warmup: int, floor_ratio: float) -> float:
    """Learning rate at `position` of `length` steps: linear warm-up over `warmup` steps to `peak`,
    then cosine decay to peak * floor_ratio at the end (and flat after it)."""
    if position < warmup:
        return peak * (position + 1) / warmup
    progress = (position - warmup) / max(length - warmup, 1)
    floor = peak * floor_ratio
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def check_run_dir(run_dir: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse to start over in a run folder that holds a checkpoint, or to resume without one.

    Raises OutputError (exit 6) when run_dir holds a checkpoint and neither --resume nor
    --overwrite was given, and when it cannot be created; WeightsError-free: a resume of a
    folder without a checkpoint fails later, when the checkpoint is read.
    """
    if (run_dir / CHECKPOINT_NAME).exists() and not resume and not overwrite:
        raise OutputError(f"{run_dir} holds a checkpoint: pass --resume to continue it or --overwrite to start over")
    if run_dir.exists() and not run_dir.is_dir():
        raise OutputError(f"run folder {run_dir} is a file")


def make_run_dir(run_dir: Path) -> None:
    """Create the run folder. Raises OutputError if it cannot be created."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create run folder {run_dir}: {error.strerror or error}") from error


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as a user would type it again ("uhdrestore train --stages ..."), for model cards."""
    args = sys.argv[1:] if argv is None else argv
    return "uhdrestore " + " ".join(shlex.quote(arg) for arg in args)
