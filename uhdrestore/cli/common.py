"""What every command shares: option declarations, error handling, consoles and progress.

The CLI is the only part of uhdrestore that prints, and the place where errors become
exit codes (listed in the README and in `uhdrestore --help`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from ..errors import DeviceMemoryError, OutputError, UhdRestoreError
from ..imagefile import DEFAULT_MAX_PIXELS as DEFAULT_MAX_PIXELS  # re-exported: the commands' default

DEBUG_VARIABLE = "UHDRESTORE_DEBUG"
INTERRUPTED, TERMINATED = 130, 143  # 128 + SIGINT, 128 + SIGTERM, as shells report them
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
_PRECISIONS = ("auto", "fp32", "fp16", "bf16")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so it unwinds like Ctrl-C: temporary files are removed."""


def _usage(option: str, expected: str, value: str) -> typer.BadParameter:
    return typer.BadParameter(f"invalid value for {option}: expected {expected}. Got {value!r}")


def parse_tile(value: str) -> str:
    """'auto' or a side >= 0; anything else is a usage error (exit 2), reported in one line."""
    if value != "auto" and not (value.isdigit() and value.isascii()):
        raise _usage("--tile", "'auto', 0 or a number of pixels", value)
    return value


def check_engine_options(device: str, precision: str, tile: str, strength: float = 1.0) -> None:
    """Usage errors (exit 2) for values no machine accepts; an absent device is exit 5 later."""
    if not _DEVICE.fullmatch(device):
        raise _usage("--device", "auto, cpu, cuda, cuda:N or mps", device)
    if precision not in _PRECISIONS:
        raise _usage("--precision", ", ".join(_PRECISIONS), precision)
    parse_tile(tile)
    if not 0.0 <= strength <= 1.0:  # NaN too
        raise _usage("--strength", "a share of the change from 0 to 1", f"{strength:g}")


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
# --tile, --device and --precision are checked in the command (check_engine_options), not by a
# Click callback, so a bad value is one line like every other error, not a framed box.
TileOpt = Annotated[str, typer.Option(
    rich_help_panel=ENGINE_PANEL,
    help="Tile side in pixels, 0 for none, or auto (GPU: the largest tile that fits in free memory; "
         "CPU: 1024, the fastest there).")]
OverlapOpt = Annotated[int, typer.Option(
    "--tile-overlap", min=0, rich_help_panel=ENGINE_PANEL, help="Pixels shared by neighbouring tiles.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON report on stdout.")]
MaxPixelsOpt = Annotated[int, typer.Option(
    "--max-pixels", min=0,
    help="Refuse images larger than this many pixels, read from the file header before decoding "
         "(a decompression bomb guard); 0 for no limit.")]


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM unwinds the main thread like Ctrl-C (a no-op off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def errors(console: Console) -> Iterator[None]:
    """Turn known failures into one line on stderr and their exit code; SIGTERM counts as one."""
    try:
        with _sigterm_as_interrupt():
            yield
    except typer.Exit:
        raise
    except typer.BadParameter as error:  # a bad option value found after parsing: a usage error
        fail(console, error, error.format_message() if error.param is not None else error.message, 2)
    except UhdRestoreError as error:
        fail(console, error, str(error), error.exit_code)
    except MemoryError as error:
        fail(console, error, "out of memory: try a smaller --tile (for example --tile 512)",
              DeviceMemoryError.exit_code)
    except Terminated as error:
        fail(console, error, "terminated (SIGTERM)", TERMINATED)
    except KeyboardInterrupt as error:
        fail(console, error, "interrupted", INTERRUPTED)
    except Exception as error:  # noqa: BLE001  # the last line of defence: no traceback for users
        fail(console, error, f"unexpected {type(error).__name__}: {error} "
              f"(set {DEBUG_VARIABLE}=1 for the traceback)", 1)


def fail(console: Console, error: BaseException, message: str, code: int) -> None:
    if os.environ.get(DEBUG_VARIABLE):
        raise error
    # --quiet and --json silence progress and reports, never the error itself.
    if console.quiet:
        console = Console(stderr=True)
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)  # a path may hold [..]
    raise typer.Exit(code)


def stderr_console(quiet: bool = False) -> Console:
    return Console(stderr=True, quiet=quiet)


def _finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: such floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def print_json(report: dict[str, Any]) -> None:
    typer.echo(json.dumps(_finite(report), indent=2, allow_nan=False))


def print_json_line(record: dict[str, Any]) -> None:
    """One JSON document on one line of stdout, flushed at once (a stream a reader follows)."""
    typer.echo(json.dumps(_finite(record), allow_nan=False))


def quiet_hub_logging() -> None:
    """huggingface_hub logs each retry as a warning; our one-line error says what failed."""
    if os.environ.get(DEBUG_VARIABLE):
        return
    import huggingface_hub.utils

    huggingface_hub.utils.logging.set_verbosity_error()


@contextlib.contextmanager
def progress_display(console: Console, unit: str) -> Iterator[Progress]:
    """A progress display on stderr; silent when quiet or when stderr is not a terminal."""
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn(unit), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=console, transient=True,
                        disable=console.quiet or not console.is_terminal)
    with progress:
        yield progress


PROGRESS_INTERVAL = 10.0  # seconds between the plain progress lines written where no live bar can draw


def _duration(seconds: float) -> str:
    """42s, 5m, 2h05m: the coarse figure a progress line needs."""
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    return f"{seconds // 3600:.0f}h{seconds % 3600 // 60:02.0f}m"


class FileProgress:
    """Files done and MP/s: a live bar on a terminal, else a plain line on stderr every
    `interval` seconds ("12/340 files, 3.1 MP/s, eta 5m"; without a total, the time so far),
    so a log shows how far a batch has gone. Nothing under --quiet or --json."""

    def __init__(self, console: Console, bar: Progress, *, total: int | None, interval: float,
                 clock: Callable[[], float]) -> None:
        self.console, self.bar, self.total = console, bar, total
        self.task = bar.add_task("restoring", total=total, rate="")
        self.plain = not console.quiet and not console.is_terminal
        self.interval, self.clock = interval, clock
        self.started = self.printed = clock()
        self.done, self.megapixels = 0, 0.0

    @property
    def live(self) -> bool:
        """Whether a live bar is drawn (lines printed above it scroll; the summary repeats them)."""
        return not self.bar.disable

    def advance(self, megapixels: float) -> None:
        self.done += 1
        self.megapixels += megapixels
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = f"{self.megapixels / elapsed:.2f} MP/s"
        self.bar.update(self.task, advance=1, rate=rate)
        if self.plain and self.clock() - self.printed >= self.interval:
            self.printed = self.clock()
            if self.total:
                line = (f"{self.done}/{self.total} files, {rate}, "
                        f"eta {_duration(elapsed / self.done * max(self.total - self.done, 0))}")
            else:
                line = f"{self.done} files, {rate}, {_duration(elapsed)} so far"
            self.console.print(line, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def file_progress(console: Console, *, total: int | None = None, interval: float | None = None,
                  clock: Callable[[], float] = time.monotonic) -> Iterator[FileProgress]:
    """A `FileProgress` for a run over files (`total` when it is known in advance)."""
    with progress_display(console, "files") as bar:
        yield FileProgress(console, bar, total=total, clock=clock,
                           interval=PROGRESS_INTERVAL if interval is None else interval)


OUTPUT_SUFFIX = "_restored"


def default_output_path(source: Path, suffix: str = OUTPUT_SUFFIX, extension: str | None = None) -> Path:
    """photo.png -> photo_restored.png (or photo_SUFFIX.png, or another extension), next to the input."""
    from ..imagefile import output_name

    return output_name(source, suffix=suffix, extension=extension)


OUTPUT_PANEL = "Output files"
# --format's names -> the extension written (None: the input's own, as without --format).
OUTPUT_FORMATS = {"auto": None, "png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp", "tif": ".tif",
                  "tiff": ".tif"}
DEFAULT_QUALITY = 95  # JPEG and WebP quality unless --quality says otherwise (write_image's default)
FormatOpt = Annotated[str, typer.Option(
    "--format", rich_help_panel=OUTPUT_PANEL,
    help="Output format: auto (the input's own), png, jpg, webp or tif. 16-bit photos are refused by jpg "
         "and webp (8-bit only) rather than losing depth.")]
QualityOpt = Annotated[int, typer.Option(
    "--quality", rich_help_panel=OUTPUT_PANEL, help="JPEG and WebP quality, 1-100.")]
SuffixOpt = Annotated[str, typer.Option(
    "--suffix", rich_help_panel=OUTPUT_PANEL,
    help="Text added to each output's name before its extension (photo.png -> photoSUFFIX.png; batch adds "
         "none unless told).")]


def same_format(first: str, second: str) -> bool:
    """Whether two extensions name one format (.jpg and .JPEG do)."""
    aliases = {".jpeg": ".jpg", ".tiff": ".tif"}
    return aliases.get(first.lower(), first.lower()) == aliases.get(second.lower(), second.lower())


def check_output_options(output_format: str, quality: int, suffix: str) -> str | None:
    """--format's extension (None for auto) after usage checks (exit 2) of --format, --quality and --suffix."""
    if "/" in suffix or os.sep in suffix or "\0" in suffix:
        raise _usage("--suffix", "text for a file name (no /)", suffix)
    if output_format.lower() not in OUTPUT_FORMATS:
        raise _usage("--format", "auto, png, jpg, webp or tif", output_format)
    if not 1 <= quality <= 100:
        raise _usage("--quality", "a number from 1 to 100", str(quality))
    return OUTPUT_FORMATS[output_format.lower()]


def check_output_path(source: Path, target: Path, *, overwrite: bool, option: str = "-o") -> None:
    """Refuse to write over the input, into a folder's name, or over a file without --overwrite.

    `option` names the option that gave `target`, for the message (`-o`, `--compare`)."""
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise OutputError(f"refusing to overwrite the input {source}: choose another {option}")
    if target.is_dir():
        example = target / default_output_path(source).name
        raise OutputError(f"output is a folder: {target} (give a file name, e.g. {example})")
    if target.exists() and not overwrite:
        raise OutputError(f"output exists: {target} (pass --overwrite to replace it)")


def json_path(path: str | os.PathLike[str] | None) -> str | None:
    """A path as JSON reports give it: absolute, so a script may read it from any folder;
    "-" (standard input or output) and None stay as they are."""
    if path is None or str(path) == "-":
        return None if path is None else "-"
    return os.path.abspath(path)


def same_file(first: Path, second: Path) -> bool:
    """Whether two paths name the same file, existing or not (symbolic links followed)."""
    return first.resolve() == second.resolve()
