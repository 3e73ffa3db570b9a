"""`uhdrestore fix`, `batch` and `models`: restore photos with a loaded model."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .. import __version__
from .common import (DEFAULT_MAX_PIXELS, DeviceOpt, JsonOpt, MaxPixelsOpt, ModelOpt, OfflineOpt, OverlapOpt,
                     OverwriteOpt, PrecisionOpt, QuietOpt, RevisionOpt, TileOpt, check_engine_options,
                     check_output_path, default_output_path, errors, print_json, progress_display,
                     quiet_hub_logging, same_file, stderr_console)
from .inspect import PerceiverOpt, load_perceiver_for_cli
from .scale import FilesFromOpt, JobsOpt, ShardOpt

GuardOpt = Annotated[bool, typer.Option(
    "--guard", help="Do no harm: photos the perceiver calls clean are written out as they were read "
                    "(not restored; a JPEG is re-encoded), so a clean photo is not made worse.")]


def _load_guard(guard: bool, perceiver: str, offline: bool) -> Any:
    """The perceiver module when --guard (or --skip-clean) asks for it, else None."""
    # --revision names a revision of --model, not of the perceiver.
    return load_perceiver_for_cli(perceiver, None, offline) if guard else None


def _clean_perception(judge: Any, image: Any) -> Any:
    """The perceiver's reading of `image` if it calls it clean, else None (also when there is no judge)."""
    if judge is None:
        return None
    from ..perceive.inspect import perceive  # only --guard and --skip-clean need the perceiver's code

    perception = perceive(judge, image)
    return perception if perception.is_clean else None


def _load(spec: str, revision: str | None, offline: bool, device: str, precision: str,
          tile: str, overlap: int, *, quiet: bool) -> Any:
    """The CLI's options -> (the LoadedModel, a ready Restorer); tile settings are checked before loading."""
    import huggingface_hub.constants
    import huggingface_hub.utils

    from ..pipeline import Restorer
    from ..restore import TileConfig

    try:
        tiles = TileConfig(tile=tile if tile == "auto" else int(tile), overlap=overlap)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    quiet_hub_logging()
    if quiet:
        huggingface_hub.utils.disable_progress_bars()
    restorer = Restorer.from_pretrained(
        spec, revision=revision, device=device, precision=precision, tiles=tiles,
        local_files_only=offline or bool(huggingface_hub.constants.HF_HUB_OFFLINE))
    return restorer.loaded, restorer


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
    guard: GuardOpt = False,
    perceiver: PerceiverOpt = "default",
    max_pixels: MaxPixelsOpt = DEFAULT_MAX_PIXELS,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Restore one photo; the result goes next to it as NAME_restored.EXT."""
    from ..atomic import check_folder_writable, remove_stale_partials
    from ..errors import OutputError
    from ..io import check_writable, read_image, write_image
    from ..pipeline import compare_image

    console = stderr_console(quiet or json_output)
    with errors(console):
        check_engine_options(device, precision, tile)
        target = output or default_output_path(input)
        outputs = [target] if compare is None else [target, compare]
        if compare is not None and same_file(compare, target):
            raise OutputError(f"--compare {compare} is the output file too: give the side-by-side another name")
        for path, option in zip(outputs, ("-o", "--compare")):
            check_output_path(input, path, overwrite=overwrite, option=option)
        image = read_image(input, max_pixels=max_pixels)
        for path in outputs:  # before any work: the format must hold the pixels, the folder take a file
            check_writable(path, image.dtype)
            if not path.parent.is_dir():
                raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
            check_folder_writable(path.parent)
            remove_stale_partials(path.parent)
        loaded, restorer = _load(model, revision, offline, device, precision, tile, tile_overlap,
                                 quiet=console.quiet)
        judge = _load_guard(guard, perceiver, offline)
        started = time.perf_counter()
        clean = _clean_perception(judge, image)
        if clean is not None:
            restored, result = image, None
            if not console.quiet:
                console.print(f"note: {input} looks clean to the perceiver: written unchanged (--guard)",
                              highlight=False, soft_wrap=True)
        else:
            with progress_display(console, "tiles") as progress:
                task = progress.add_task(input.name, total=None, rate="")
                restored, result = restorer.restore(image, on_tile=lambda done, total: progress.update(
                    task, completed=done, total=total))
            if result.span is not None and not console.quiet:
                console.print(_hdr_note(input, result.span), highlight=False, soft_wrap=True)
        write_image(target, restored)
        if compare is not None:
            write_image(compare, compare_image(image, restored))
        seconds = time.perf_counter() - started
        if json_output:
            print_json({"command": "fix", "input": str(input), "output": str(target),
                         "compare": str(compare) if compare else None, "seconds": round(seconds, 3),
                         "size": [image.width, image.height], **_report_common(loaded, restorer),
                         **(_guard_report(clean) if result is None else _tiling_report(result))})
        elif not quiet:
            typer.echo(str(target))


def _tiling_report(result: Any) -> dict[str, Any]:
    return {"tile": result.tiling.tile, "tiles": result.tiling.tiles, "retries": result.tiling.retries,
            "fallbacks": result.fallbacks, "value_range": list(result.span) if result.span else None}


def _guard_report(perception: Any) -> dict[str, Any]:
    """The report of a photo --guard left as it was."""
    return {"guarded": True, "reason": "clean", "perception": perception.to_dict()}


def _hdr_note(source: Path, span: tuple[float, float]) -> str:
    return (f"note: {source} holds values from {span[0]:g} to {span[1]:g} (beyond [0, 1]): restored scaled "
            "into [0, 1] and scaled back, not clipped")


def _report_common(loaded: Any, restorer: Any) -> dict[str, Any]:
    return {"uhdrestore": __version__, "device": str(restorer.runtime.device),
            "precision": restorer.runtime.precision,
            "model": {"spec": loaded.source.spec, "kind": loaded.source.kind,
                      "revision": loaded.source.revision, "sha256": loaded.sha256}}


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
    skip_clean: Annotated[bool, typer.Option(
        "--skip-clean", help="Leave photos the perceiver rates high quality (clean) alone: no output, "
                             "listed as skipped.")] = False,
    guard: GuardOpt = False,
    perceiver: PerceiverOpt = "default",
    max_pixels: MaxPixelsOpt = DEFAULT_MAX_PIXELS,
    shard_spec: ShardOpt = None,
    files_from: FilesFromOpt = None,
    jobs: JobsOpt = 1,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Restore every photo in a folder; existing outputs are skipped, so re-running resumes.

    Under torchrun or srun, or with --shard K/N, each process restores its share of the files
    and writes a report to OUT/.uhdrestore-batch, merged by the last one to finish (or by
    `uhdrestore batch-report OUT`). See docs/scale-out.md.
    """
    import itertools

    from ..atomic import remove_stale_partials
    from ..batch import BatchItem, check_output_dir, default_output_dir, plan_stream, run_batch
    from ..batch_report import RankReport, merge_if_complete
    from ..errors import InputImageError
    from ..runtime import rank_device
    from .scale import cli_shard, merged_line, owned_by, photo_sources

    console = stderr_console(quiet or json_output)
    with errors(console):
        check_engine_options(device, precision, tile)
        if guard and skip_clean:
            raise typer.BadParameter("--guard writes clean photos unchanged, --skip-clean writes nothing for "
                                     "them: choose one")
        shard = cli_shard(shard_spec)
        if not folder.is_dir():
            raise InputImageError(f"not a folder: {folder}")
        output_dir = output or default_output_dir(folder)
        check_output_dir(folder, output_dir)
        remove_stale_partials(output_dir, recursive=recursive, owned=owned_by(shard, output_dir))
        # One rank draws progress, as nanoGPT's master_process logs; every rank prints its summary.
        progress_console = console if shard.rank == 0 else stderr_console(True)
        prefix = f"{shard.describe()}: " if shard.is_split else ""
        items: list[dict[str, Any]] = []  # the --json report's entries (kept only for --json)
        failed: list[tuple[str, str | None]] = []
        clean: list[str] = []
        tally = {"processed": 0, "skipped": 0, "guarded": 0}
        megapixels = 0.0
        rank_report = RankReport(output_dir, shard) if shard.is_split else None

        def record(entry: dict[str, Any], *, reason: str | None = None, megapixels: float = 0.0) -> None:
            if json_output:
                items.append(entry if reason is None else {**entry, "reason": reason})
            if rank_report is not None:
                rank_report.add(input=entry["input"], output=entry["output"], status=entry["status"],
                                error=entry.get("error"), reason=reason or entry.get("reason"),
                                seconds=entry.get("seconds", 0.0), megapixels=megapixels)

        def on_skip(item: BatchItem) -> None:
            tally["skipped"] += 1
            record({"input": str(item.source), "output": str(item.target), "status": "skipped"},
                   reason="output exists")

        def on_reject(source: str, reason: str) -> None:
            failed.append((source, reason))
            record({"input": source, "output": None, "status": "failed", "error": reason, "seconds": 0.0})

        with photo_sources(folder, files_from, recursive=recursive, prune=output_dir) as sources, \
                rank_report or contextlib.nullcontext():
            planned = plan_stream(folder, output_dir, sources, shard=shard, overwrite=overwrite,
                                  on_skip=on_skip, on_reject=on_reject)
            first = next(planned, None)  # nothing to do: no model to load
            loaded, restorer = (_load(model, revision, offline, rank_device(device, shard.local_rank), precision,
                                      tile, tile_overlap, quiet=console.quiet) if first else (None, None))
            judge = _load_guard((skip_clean or guard) and first is not None, perceiver, offline)
            started = time.perf_counter()
            with progress_display(progress_console, "files") as progress:
                task = progress.add_task("restoring", total=None, rate="")

                def restore(image: Any) -> tuple[Any, dict[str, Any]]:
                    perception = _clean_perception(judge, image)
                    if perception is not None:
                        if guard:
                            return image, _guard_report(perception)
                        return None, {"reason": "clean", "perception": perception.to_dict()}
                    restored, result = restorer.restore(image)
                    return restored, _tiling_report(result)

                def on_result(result: Any) -> None:
                    nonlocal megapixels
                    megapixels += result.megapixels
                    if result.status == "ok":
                        tally["processed"] += 1
                        tally["guarded"] += bool(result.details.get("guarded"))
                    elif result.status == "failed":
                        failed.append((str(result.item.source), result.error))
                    else:
                        clean.append(str(result.item.source))
                    record({"input": str(result.item.source), "output": str(result.item.target),
                            "status": result.status, "error": result.error, "seconds": round(result.seconds, 3),
                            **result.details}, megapixels=result.megapixels)
                    rate = megapixels / max(time.perf_counter() - started, 1e-9)
                    progress.update(task, advance=1, rate=f"{rate:.2f} MP/s")
                    if result.status == "failed" and not progress.disable:  # the summary lists it again
                        progress.console.print(f"[red]failed:[/] {result.item.source}: {result.error}",
                                               highlight=False, soft_wrap=True)
                    if result.details.get("value_range") and not console.quiet:
                        progress.console.print(_hdr_note(result.item.source, result.details["value_range"]),
                                               highlight=False, soft_wrap=True)

                if first is not None:
                    run_batch(itertools.chain([first], planned), restore, on_result=on_result,
                              max_pixels=max_pixels, jobs=jobs, collect=False)
        seconds = time.perf_counter() - started
        merged = merge_if_complete(output_dir, shard) if shard.is_split else None
        if json_output:
            report: dict[str, Any] = {"command": "batch", "output_dir": str(output_dir)}
            if shard.is_split:
                report["shard"] = {"rank": shard.rank, "world_size": shard.world_size,
                                   "launcher": shard.launcher}
            if loaded is not None:
                report.update(_report_common(loaded, restorer))
            report["summary"] = {"processed": tally["processed"], "skipped": tally["skipped"] + len(clean),
                                 "skipped_clean": len(clean), "guarded": tally["guarded"],
                                 "failed": len(failed), "seconds": round(seconds, 3),
                                 "megapixels_per_second": round(megapixels / max(seconds, 1e-9), 3)}
            report["items"] = items
            if merged is not None:
                report["merged"] = merged
            print_json(report)
        else:
            skipped_clean = f", {len(clean)} skipped (clean)" if skip_clean else ""
            guarded = f" ({tally['guarded']} clean: written unchanged)" if guard else ""
            console.print(f"{prefix}{tally['processed']} restored{guarded}, {tally['skipped']} skipped (output exists)"
                          f"{skipped_clean}, {len(failed)} failed -> {output_dir}", highlight=False, soft_wrap=True)
            for source in clean:
                console.print(f"[green]skipped (clean):[/] {source}", highlight=False, soft_wrap=True)
            for source, error in failed:  # one line each, however long: scripts split them on newlines
                console.print(f"[red]failed:[/] {source}: {error}", highlight=False, soft_wrap=True)
            if merged is not None:
                console.print(merged_line(merged), highlight=False, soft_wrap=True)
        if failed:
            raise typer.Exit(1)
