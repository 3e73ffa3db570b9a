"""`uhdrestore fix`: restore one photo, several (shell globs), or one piped through stdin and stdout.

With one input, an error stops the command with its own exit code (3 bad input, 6 output ...).
With several, a bad one is reported on one line (`failed: PATH: why`) and the others go on;
the exit code is then 1, as `batch` gives. The model is loaded once, after the first input
is read and its outputs are checked, so bad input never waits for a model.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from . import engine
from .common import (DEFAULT_MAX_PIXELS, DEFAULT_QUALITY, OUTPUT_SUFFIX, DeviceOpt, FormatOpt, JsonOpt,
                     MaxPixelsOpt, ModelOpt, OfflineOpt, OverlapOpt, OverwriteOpt, PrecisionOpt, QualityOpt,
                     QuietOpt, RevisionOpt, SuffixOpt, TileOpt, check_engine_options, check_output_options,
                     check_output_path, default_output_path, errors, json_path, print_json, progress_display, same_file,
                     same_format, stderr_console)
from .inspect import PerceiverOpt

STDIO = "-"  # as input: the image's bytes on standard input; as -o: the encoded result on standard output
STDOUT_FORMAT = ".png"  # what standard output gets unless --format says otherwise


def _is_stdio(path: Path | None) -> bool:
    return path is not None and str(path) == STDIO


def plan_outputs(inputs: list[Path], output: Path | None, *, suffix: str, extension: str | None,
                 json_output: bool) -> list[tuple[Path, Path]]:
    """(input, output) pairs from the arguments, or a usage error (exit 2) for a combination
    that cannot work. An output of "-" is standard output; -o DIR is created when missing."""
    from ..io import is_image_file

    several = len(inputs) > 1
    if any(map(_is_stdio, inputs)) and several:
        raise typer.BadParameter("- (standard input) must be the only input")
    if _is_stdio(output) or (output is None and _is_stdio(inputs[0])):
        if several:
            raise typer.BadParameter(f"-o - (standard output) takes one image; {len(inputs)} inputs were given")
        if json_output:
            raise typer.BadParameter("--json and an image on standard output cannot share it: write the image "
                                     "to a file with -o FILE, or drop --json")
        return [(inputs[0], Path(STDIO))]
    if output is None:
        return [(source, default_output_path(source, suffix, extension)) for source in inputs]
    if several and (output.is_dir() or not (output.exists() or is_image_file(output))):
        _make_folder(output)
        return [(source, output / default_output_path(source, suffix, extension).name) for source in inputs]
    if several:
        raise typer.BadParameter(f"with {len(inputs)} inputs, -o must be a folder (existing or new), "
                                 f"not a file: {output}")
    if extension is not None and not same_format(output.suffix, extension):
        raise typer.BadParameter(f"--format {extension[1:]} disagrees with -o {output}: give one or the other")
    return [(inputs[0], output)]


def _make_folder(folder: Path) -> None:
    from ..errors import OutputError

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {folder}: {error.strerror or error}", errno=error.errno) from None


@dataclass
class _Job:
    """One input read, its outputs checked: ready to restore."""

    source: Path
    target: Path
    image: Any
    compare: Path | None
    stdout_extension: str  # the format standard output gets, when it is the target


@dataclass
class _Models:
    """What restores: the loaded model, its Restorer, the --guard perceiver (or None) and --strength."""

    loaded: Any
    restorer: Any
    judge: Any
    strength: float = 1.0


class _Lazy:
    """The models, loaded when the first input that needs them is ready (bad input never waits)."""

    def __init__(self, load: Callable[[], _Models]) -> None:
        self._load = load
        self._models: _Models | None = None

    def get(self) -> _Models:
        if self._models is None:
            self._models = self._load()
        return self._models

    def report(self) -> dict[str, Any]:
        """The model's part of a JSON report; empty when none was loaded (every input failed first)."""
        if self._models is None:
            return {}
        return engine.report_common(self._models.loaded, self._models.restorer)


def _prepare(source: Path, target: Path, compare: Path | None, *, overwrite: bool, max_pixels: int,
             stdout_extension: str = STDOUT_FORMAT) -> _Job:
    """Check the outputs, read the input and check the outputs can hold it: everything before the work."""
    from ..atomic import check_folder_writable, remove_stale_partials
    from ..errors import InputImageError, OutputError
    from ..io import check_writable, decode_image, read_image

    files = [] if _is_stdio(target) else [(target, "-o")]
    if compare is not None:
        if files and same_file(compare, target):
            raise OutputError(f"--compare {compare} is the output file too: give the side-by-side another name")
        files.append((compare, "--compare"))
    for path, option in files:
        check_output_path(source, path, overwrite=overwrite, option=option)
    if _is_stdio(source):
        if sys.stdin.isatty():
            raise InputImageError("standard input is a terminal: pipe an image in (uhdrestore fix - < photo.png)")
        image = decode_image(sys.stdin.buffer.read(), max_pixels=max_pixels)
    else:
        image = read_image(source, max_pixels=max_pixels)
    if _is_stdio(target):
        check_writable(STDIO + stdout_extension, image.dtype, name="standard output")
    for path, _option in files:  # before any work: the format must hold the pixels, the folder take a file
        check_writable(path, image.dtype)
        if not path.parent.is_dir():
            raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
        check_folder_writable(path.parent)
        remove_stale_partials(path.parent)
    return _Job(source, target, image, compare, stdout_extension)


def _restore(job: _Job, models: _Models, console: Any, *, quality: int) -> dict[str, Any]:
    """Restore (or, under --guard, pass through) and write one prepared input; its JSON report."""
    from ..io import encode_image, write_image
    from ..pipeline import compare_image

    started = time.perf_counter()
    image, name = job.image, STDIO if _is_stdio(job.source) else job.source.name
    with progress_display(console, "tiles") as progress:
        task = progress.add_task(name, total=None, rate="")
        restored, result, verdict = engine.guarded_restore(
            models.restorer, models.judge, image, strength=models.strength,
            on_tile=lambda done, total: progress.update(task, completed=done, total=total))
    note = engine.guard_note(job.source, verdict)
    if note and not console.quiet:
        console.print(note, highlight=False, soft_wrap=True)
    if result is not None and result.span is not None and not console.quiet:
        console.print(engine.hdr_note(job.source, result.span), highlight=False, soft_wrap=True)
    if _is_stdio(job.target):
        _write_stdout(encode_image(restored, job.stdout_extension, jpeg_quality=quality))
    else:
        write_image(job.target, restored, jpeg_quality=quality)
    if job.compare is not None:
        write_image(job.compare, compare_image(image, restored), jpeg_quality=quality)
    return {"input": json_path(job.source), "output": json_path(job.target), "compare": json_path(job.compare),
            "seconds": round(time.perf_counter() - started, 3), "size": [image.width, image.height],
            **({} if result is None else {**engine.tiling_report(result), "strength": models.strength}),
            **({} if verdict is None else verdict.report())}


def _write_stdout(data: bytes) -> None:
    from ..errors import OutputError

    stream = sys.stdout.buffer
    try:
        stream.write(data)
        stream.flush()
    except OSError as error:  # a closed pipe (| head), a full disk behind a redirection
        raise OutputError(f"cannot write standard output: {error.strerror or error}", errno=error.errno) from None


def fix(
    paths: Annotated[list[Path], typer.Argument(
        show_default=False,
        help="The photos to restore (several, or a shell glob), or - to read one from standard input.")],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", show_default=False,
        help="Where to write: a file (one input), a folder (several inputs; created if missing), or - for "
             "standard output. Default: NAME_restored.EXT next to each input; standard output for -.")
    ] = None,
    compare: Annotated[Optional[Path], typer.Option(
        help="Also write a side-by-side before/after image here (one input).", show_default=False)] = None,
    suffix: SuffixOpt = OUTPUT_SUFFIX,
    output_format: FormatOpt = "auto",
    quality: QualityOpt = DEFAULT_QUALITY,
    overwrite: OverwriteOpt = False,
    model: ModelOpt = "default",
    revision: RevisionOpt = None,
    offline: OfflineOpt = False,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "auto",
    tile: TileOpt = "auto",
    tile_overlap: OverlapOpt = 32,
    guard: engine.GuardOpt = None,
    perceiver: PerceiverOpt = "default",
    strength: engine.StrengthOpt = 1.0,
    max_pixels: MaxPixelsOpt = DEFAULT_MAX_PIXELS,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Restore photos; each result goes next to its input as NAME_restored.EXT (the path is printed).

    A dash (-) as the input reads the image from standard input and writes the result to
    standard output (PNG unless --format says otherwise), with messages on stderr only:
    `cat photo.jpg | uhdrestore fix - > restored.png`.

    With several inputs, a bad one is one `failed:` line on stderr and the others go on; the
    exit code is then 1, as batch's. --json then prints one object shaped like batch's: the
    model, a summary and `items` (each input's report, with `status` and `error`).
    """
    inputs = paths
    console = stderr_console(quiet or json_output)
    with errors(console):
        check_engine_options(device, precision, tile, strength)
        extension = check_output_options(output_format, quality, suffix)
        if compare is not None and len(inputs) > 1:
            raise typer.BadParameter("--compare names one file: give one input with it")
        plan = plan_outputs(inputs, output, suffix=suffix, extension=extension, json_output=json_output)

        def load() -> _Models:
            loaded, restorer = engine.load_restorer(model, revision, offline, device, precision, tile, tile_overlap,
                                                    quiet=console.quiet)
            judge = engine.load_guard(engine.guard_wanted(guard, model), perceiver, offline)
            return _Models(loaded, restorer, judge, strength)

        models = _Lazy(load)

        if len(plan) == 1:
            source, target = plan[0]
            # Standard output has no file name: its format comes from --format alone.
            job = _prepare(source, target, compare, overwrite=overwrite, max_pixels=max_pixels,
                           stdout_extension=extension or STDOUT_FORMAT)
            report = _restore(job, models.get(), console, quality=quality)
            if json_output:
                print_json({"command": "fix", **report, **models.report()})
            elif not quiet and not _is_stdio(target):
                typer.echo(str(target))
            return
        _fix_several(plan, models, console, overwrite=overwrite, max_pixels=max_pixels, quality=quality,
                     quiet=quiet, json_output=json_output)


def _fix_several(plan: list[tuple[Path, Path]], models: _Lazy, console: Any, *, overwrite: bool, max_pixels: int,
                 quality: int, quiet: bool, json_output: bool) -> None:
    """Each input in turn; a bad one is reported on one line and the rest go on (exit 1 at the end)."""
    from ..batch import FATAL_WRITE_ERRORS
    from ..errors import OutputError, UhdRestoreError

    errors_console = stderr_console()  # failures are printed under --quiet and --json too
    items: list[dict[str, Any]] = []
    failed = guarded = tone_kept = 0
    claimed: dict[Path, Path] = {}
    started = time.perf_counter()
    for source, target in plan:
        try:
            first = claimed.setdefault(target.resolve(), source)
            if first is not source:
                raise OutputError(f"{source} and {first} would both be written to {target}: give them "
                                  "different names or -o folders")
            job = _prepare(source, target, None, overwrite=overwrite, max_pixels=max_pixels)
        except UhdRestoreError as error:
            report = _failure(errors_console, source, target, error)
        else:
            ready = models.get()  # outside the try: a model that cannot load would fail every input
            try:
                report = {**_restore(job, ready, console, quality=quality), "status": "ok", "error": None}
            except OutputError as error:
                if error.errno in FATAL_WRITE_ERRORS:  # a full or read-only disk fails every later write too
                    raise
                report = _failure(errors_console, source, target, error)
            except UhdRestoreError as error:
                report = _failure(errors_console, source, target, error)
            del job  # let its pixels go before the next input is read
        failed += report["status"] == "failed"
        guarded += bool(report.get("guarded"))
        tone_kept += bool(report.get("tone_kept"))
        items.append(report)
        if report["status"] == "ok" and not (quiet or json_output):
            typer.echo(str(target))
    seconds = time.perf_counter() - started
    if json_output:
        print_json({"command": "fix", **models.report(),
                    "summary": {"processed": len(plan) - failed, "failed": failed, "guarded": guarded,
                                "tone_kept": tone_kept, "seconds": round(seconds, 3)},
                    "items": items})
    elif not quiet:
        held = engine.guard_tally(guarded, tone_kept) if guarded or tone_kept else ""
        console.print(f"{len(plan) - failed} restored{held}, {failed} failed", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _failure(console: Any, source: Path, target: Path, error: Exception) -> dict[str, Any]:
    console.print(f"[red]failed:[/] {source}: {error}", highlight=False, soft_wrap=True)
    return {"input": json_path(source), "output": json_path(target), "status": "failed", "error": str(error)}
