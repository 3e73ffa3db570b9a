"""The `uhdrestore` command line: the only module that prints, and where errors become exit codes.

Results (output paths, JSON) go to stdout; messages and progress go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

from . import __version__
from .errors import DeviceMemoryError, UhdRestoreError

app = typer.Typer(
    name="uhdrestore",
    help="Restore photos (rain, haze, noise, blur, snow, low light) with one lightweight network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)

DEBUG_VARIABLE = "UHDRESTORE_DEBUG"


def _parse_tile(value: str) -> str:
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
    callback=_parse_tile, rich_help_panel=ENGINE_PANEL,
    help="Tile side in pixels, 0 for none, or auto (GPU: the largest tile that fits in free memory; CPU: 1024, the fastest there).")]
OverlapOpt = Annotated[int, typer.Option(
    "--tile-overlap", min=0, rich_help_panel=ENGINE_PANEL, help="Pixels shared by neighbouring tiles.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON report on stdout.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"uhdrestore {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Restore photos (rain, haze, noise, blur, snow, low light) with one lightweight network.

    Exit codes: 0 success, 1 some batch items failed or an unexpected error, 2 usage error,
    3 bad input image, 4 model or weights problem, 5 device or memory problem,
    6 output problem, 130 interrupted. Set UHDRESTORE_DEBUG=1 for tracebacks.
    """


@contextlib.contextmanager
def _errors(console: Console) -> Iterator[None]:
    """Turn known failures into one line on stderr and their exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except UhdRestoreError as error:
        _fail(console, error, str(error), error.exit_code)
    except MemoryError as error:
        _fail(console, error, "out of memory: try a smaller --tile (for example --tile 512)",
              DeviceMemoryError.exit_code)
    except KeyboardInterrupt as error:
        _fail(console, error, "interrupted", 130)
    except Exception as error:  # noqa: BLE001  # the last line of defence: no traceback for users
        _fail(console, error, f"unexpected {type(error).__name__}: {error} "
              f"(set {DEBUG_VARIABLE}=1 for the traceback)", 1)


def _fail(console: Console, error: BaseException, message: str, code: int) -> None:
    if os.environ.get(DEBUG_VARIABLE):
        raise error
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _stderr(quiet: bool = False) -> Console:
    return Console(stderr=True, quiet=quiet)


def _load(spec: str, revision: str | None, offline: bool, device: str, precision: str,
          tile: str, overlap: int, *, quiet: bool) -> Any:
    """Load the model onto the chosen device: returns a ready Restorer."""
    import huggingface_hub.constants
    import huggingface_hub.utils
    import torch

    from .hub import load_model
    from .pipeline import Restorer
    from .restore import TileConfig
    from .runtime import resolve_runtime

    if quiet:
        huggingface_hub.utils.disable_progress_bars()
    loaded = load_model(spec, revision=revision,
                        local_files_only=offline or bool(huggingface_hub.constants.HF_HUB_OFFLINE))
    runtime = resolve_runtime(device, precision, supports_half=loaded.module.supports_half,
                              supports_bfloat16=loaded.module.supports_bfloat16)
    module = loaded.module.to(runtime.device, memory_format=torch.channels_last)
    try:
        tiles = TileConfig(tile=tile if tile == "auto" else int(tile), overlap=overlap)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return loaded, Restorer(module, runtime, tiles)


@app.command()
def fix(
    input: Annotated[Path, typer.Argument(help="The photo to restore.", show_default=False)],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Where to write the result (default: NAME_restored.EXT next to the input).",
        show_default=False)] = None,
    compare: Annotated[Optional[Path], typer.Option(
        help="Also write a side-by-side before/after image here.", show_default=False)] = None,
    overwrite: OverwriteOpt = False,
    model: ModelOpt = "default",
    revision: RevisionOpt = None,
    offline: OfflineOpt = False,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    tile: TileOpt = "auto",
    tile_overlap: OverlapOpt = 32,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Restore one photo; the result goes next to it as NAME_restored.EXT."""
    from .io import read_image, write_image
    from .pipeline import check_output_path, compare_image, default_output_path

    console = _stderr(quiet or json_output)
    with _errors(console):
        target = output or default_output_path(input)
        check_output_path(input, target, overwrite=overwrite)
        if compare is not None:
            check_output_path(input, compare, overwrite=overwrite)
        image = read_image(input)
        loaded, restorer = _load(model, revision, offline, device, precision, tile, tile_overlap,
                                 quiet=console.quiet)
        started = time.perf_counter()
        with _progress(console, "tiles") as progress:
            task = progress.add_task(input.name, total=None, rate="")
            restored, result = restorer(image, on_tile=lambda done, total: progress.update(
                task, completed=done, total=total))
        write_image(target, restored)
        if compare is not None:
            write_image(compare, compare_image(image, restored))
        seconds = time.perf_counter() - started
        if json_output:
            _print_json({"command": "fix", "input": str(input), "output": str(target),
                         "compare": str(compare) if compare else None, "seconds": round(seconds, 3),
                         "size": [image.width, image.height], **_report_common(loaded, restorer),
                         **_tiling_report(result)})
        elif not quiet:
            typer.echo(str(target))


def _tiling_report(result: Any) -> dict[str, Any]:
    return {"tile": result.tiling.tile, "tiles": result.tiling.tiles, "retries": result.tiling.retries,
            "fallbacks": result.fallbacks}


def _report_common(loaded: Any, restorer: Any) -> dict[str, Any]:
    return {"uhdrestore": __version__, "device": str(restorer.runtime.device),
            "precision": restorer.runtime.precision,
            "model": {"spec": loaded.source.spec, "kind": loaded.source.kind,
                      "revision": loaded.source.revision, "sha256": loaded.sha256}}


def _print_json(report: dict[str, Any]) -> None:
    typer.echo(json.dumps(report, indent=2))


@contextlib.contextmanager
def _progress(console: Console, unit: str) -> Iterator[Progress]:
    """A progress display on stderr; silent when quiet or when stderr is not a terminal."""
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn(unit), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=console, transient=True,
                        disable=console.quiet or not console.is_terminal)
    with progress:
        yield progress


@app.command()
def batch(
    folder: Annotated[Path, typer.Argument(help="Folder of photos to restore.", show_default=False)],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Output folder (default: FOLDER_restored beside the input).",
        show_default=False)] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Include sub-folders, mirroring the tree.")
                         ] = False,
    overwrite: OverwriteOpt = False,
    model: ModelOpt = "default",
    revision: RevisionOpt = None,
    offline: OfflineOpt = False,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    tile: TileOpt = "auto",
    tile_overlap: OverlapOpt = 32,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Restore every photo in a folder; existing outputs are skipped, so re-running resumes."""
    from .batch import default_output_dir, plan_batch, run_batch
    from .errors import InputImageError

    console = _stderr(quiet or json_output)
    with _errors(console):
        if not folder.is_dir():
            raise InputImageError(f"not a folder: {folder}")
        output_dir = output or default_output_dir(folder)
        todo, skipped = plan_batch(folder, output_dir, recursive=recursive, overwrite=overwrite)
        loaded, restorer = (_load(model, revision, offline, device, precision, tile, tile_overlap,
                                  quiet=console.quiet) if todo else (None, None))
        started = time.perf_counter()
        megapixels = 0.0
        with _progress(console, "files") as progress:
            task = progress.add_task("restoring", total=len(todo), rate="")

            def restore(image: Any) -> tuple[Any, dict[str, Any]]:
                restored, result = restorer(image)
                return restored, _tiling_report(result)

            def on_result(result: Any) -> None:
                nonlocal megapixels
                megapixels += result.megapixels
                rate = megapixels / max(time.perf_counter() - started, 1e-9)
                progress.update(task, advance=1, rate=f"{rate:.2f} MP/s")
                if result.status == "failed" and not progress.disable:  # the summary lists it again
                    progress.console.print(f"[red]failed:[/] {result.item.source}: {result.error}",
                                           highlight=False)

            results = run_batch(todo, restore, on_result=on_result)
        seconds = time.perf_counter() - started
        failed = [r for r in results if r.status == "failed"]
        if json_output:
            items = [{"input": str(r.item.source), "output": str(r.item.target), "status": r.status,
                      "error": r.error, "seconds": round(r.seconds, 3), **r.details} for r in results]
            items += [{"input": str(i.source), "output": str(i.target), "status": "skipped"} for i in skipped]
            report: dict[str, Any] = {"command": "batch", "output_dir": str(output_dir)}
            if loaded is not None:
                report.update(_report_common(loaded, restorer))
            report["summary"] = {"processed": len(results) - len(failed), "skipped": len(skipped),
                                 "failed": len(failed), "seconds": round(seconds, 3),
                                 "megapixels_per_second": round(megapixels / max(seconds, 1e-9), 3)}
            report["items"] = items
            _print_json(report)
        else:
            console.print(f"{len(results) - len(failed)} restored, {len(skipped)} skipped (output exists), "
                          f"{len(failed)} failed -> {output_dir}", highlight=False)
            for result in failed:
                console.print(f"[red]failed:[/] {result.item.source}: {result.error}", highlight=False)
        if failed:
            raise typer.Exit(1)


@app.command()
def models(json_output: JsonOpt = False) -> None:
    """List the bundled model and the models in the local Hub cache."""
    from .hub import list_models

    console = _stderr(json_output)
    with _errors(console):
        found = list_models()
        if json_output:
            _print_json({"models": [{"name": m.name, "kind": m.kind, "revision": m.revision,
                                     "location": str(m.location), "size_bytes": m.size_bytes} for m in found]})
            return
        if not found:
            console.print("no models: the bundled default is not installed and the Hub cache holds none")
            return
        table = Table("name", "kind", "revision", "size", "location")
        for m in found:
            table.add_row(m.name, m.kind, (m.revision or "")[:12], f"{m.size_bytes / 1e6:.1f} MB", str(m.location))
        Console().print(table)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
