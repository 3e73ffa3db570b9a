"""What every command shares: option declarations, error handling, consoles and progress.

The CLI is the only part of uhdrestore that prints, and the place where errors become
exit codes (listed in the README and in `uhdrestore --help`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from ..errors import DeviceMemoryError, OutputError, UhdRestoreError

DEBUG_VARIABLE = "UHDRESTORE_DEBUG"


def parse_tile(value: str) -> str:
    if value == "auto":
        return value
    try:
        side = int(value)
    except ValueError:
        raise typer.BadParameter(f"expected 'auto', 0 or a number of pixels. Got {value!r}") from None
    if side < 0:
        raise typer.BadParameter(f"expected 'auto', 0 or a number of pixels. Got {value!r}")
    return value


MODEL_PANEL = "Model"
ENGINE_PANEL = "Device and tiling"
ModelOpt = Annotated[str, typer.Option(
    "--model", "-m", rich_help_panel=MODEL_PANEL,
    help="'default' (the bundled model), a model folder or .safetensors file, or a Hub id org/name.")]
RevisionOpt = Annotated[Optional[str], typer.Option(
    rich_help_panel=MODEL_PANEL, help="Hub branch, tag or full commit hash (Hub ids only).")]
OfflineOpt = Annotated[bool, typer.Option(
    "--offline", rich_help_panel=MODEL_PANEL,
    help="Use only the local Hub cache (also on when HF_HUB_OFFLINE=1).")]
DeviceOpt = Annotated[str, typer.Option(
    rich_help_panel=ENGINE_PANEL, help="auto, cpu, cuda, cuda:N or mps.")]
PrecisionOpt = Annotated[str, typer.Option(
    rich_help_panel=ENGINE_PANEL,
    help="auto (fp32 on CPU, bf16/fp16 on CUDA), fp32, fp16 or bf16.")]
TileOpt = Annotated[str, typer.Option(
    callback=parse_tile, rich_help_panel=ENGINE_PANEL,
    help="Tile side in pixels, 0 for none, or auto (GPU: the largest tile that fits in free memory; "
         "CPU: 1024, the fastest there).")]
OverlapOpt = Annotated[int, typer.Option(
    "--tile-overlap", min=0, rich_help_panel=ENGINE_PANEL, help="Pixels shared by neighbouring tiles.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON report on stdout.")]


@contextlib.contextmanager
def errors(console: Console) -> Iterator[None]:
    """Turn known failures into one line on stderr and their exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except typer.BadParameter as error:  # a bad option value found after parsing: a usage error
        fail(console, error, error.format_message(), 2)
    except UhdRestoreError as error:
        fail(console, error, str(error), error.exit_code)
    except MemoryError as error:
        fail(console, error, "out of memory: try a smaller --tile (for example --tile 512)",
              DeviceMemoryError.exit_code)
    except KeyboardInterrupt as error:
        fail(console, error, "interrupted", 130)
    except Exception as error:  # noqa: BLE001  # the last line of defence: no traceback for users
        fail(console, error, f"unexpected {type(error).__name__}: {error} "
              f"(set {DEBUG_VARIABLE}=1 for the traceback)", 1)


def fail(console: Console, error: BaseException, message: str, code: int) -> None:
    if os.environ.get(DEBUG_VARIABLE):
        raise error
    # --quiet and --json silence progress and reports, never the error itself.
    if console.quiet:
        console = Console(stderr=True)
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def stderr_console(quiet: bool = False) -> Console:
    return Console(stderr=True, quiet=quiet)


def print_json(report: dict[str, Any]) -> None:
    typer.echo(json.dumps(report, indent=2))


@contextlib.contextmanager
def progress_display(console: Console, unit: str) -> Iterator[Progress]:
    """A progress display on stderr; silent when quiet or when stderr is not a terminal."""
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn(unit), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=console, transient=True,
                        disable=console.quiet or not console.is_terminal)
    with progress:
        yield progress


OUTPUT_SUFFIX = "_restored"


def default_output_path(source: Path, suffix: str = OUTPUT_SUFFIX) -> Path:
    """photo.png -> photo_restored.png (or photo_SUFFIX.png), next to the input."""
    return source.with_name(f"{source.stem}{suffix}{source.suffix}")


def check_output_path(source: Path, target: Path, *, overwrite: bool) -> None:
    """Refuse to write over the input, or over an existing file without --overwrite."""
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise OutputError(f"refusing to overwrite the input {source}: choose another output with -o")
    if target.exists() and not overwrite:
        raise OutputError(f"output exists: {target} (pass --overwrite to replace it)")
    if target.is_dir():
        raise OutputError(f"output is a folder: {target}")
