"""`uhdrestore export`: a run's checkpointed EMA model as a folder `fix --model` uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import QuietOpt, errors, stderr_console


def export(
    run_dir: Annotated[Path, typer.Argument(help="A training run folder (it holds checkpoint.safetensors).")],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Model folder to write (default: RUN_DIR/export).", show_default=False)] = None,
    quiet: QuietOpt = False,
) -> None:
    """Write the EMA model of a training run's latest checkpoint, finished or not, as a model folder."""
    from ..train.export import export_checkpoint

    console = stderr_console(quiet)
    with errors(console):
        folder, step = export_checkpoint(run_dir, output or run_dir / "export")
        console.print(f"exported step {step} of {run_dir} to {folder}  (use: uhdrestore fix PHOTO --model {folder})")
        typer.echo(str(folder))
