"""`uhdrestore batch`: restore a folder with one loaded model (`fix` lives in fix.py)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from . import engine
from .common import (DEFAULT_MAX_PIXELS, DeviceOpt, JsonOpt, MaxPixelsOpt, ModelOpt, OfflineOpt, OverlapOpt,
                     OverwriteOpt, PrecisionOpt, QuietOpt, RevisionOpt, TileOpt, check_engine_options, errors,
                     print_json, progress_display, stderr_console)
from .fix import fix as fix  # registered with the app from here, beside batch
from .inspect import PerceiverOpt
from .scale import FilesFromOpt, JobsOpt, ShardOpt

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
    guard: engine.GuardOpt = False,
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
            loaded, restorer = (engine.load_restorer(model, revision, offline, rank_device(device, shard.local_rank),
                                                     precision, tile, tile_overlap, quiet=console.quiet)
                                if first else (None, None))
            judge = engine.load_guard((skip_clean or guard) and first is not None, perceiver, offline)
            started = time.perf_counter()
            with progress_display(progress_console, "files") as progress:
                task = progress.add_task("restoring", total=None, rate="")

                def restore(image: Any) -> tuple[Any, dict[str, Any]]:
                    perception = engine.clean_perception(judge, image)
                    if perception is not None:
                        if guard:
                            return image, engine.guard_report(perception)
                        return None, {"reason": "clean", "perception": perception.to_dict()}
                    restored, result = restorer.restore(image)
                    return restored, engine.tiling_report(result)

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
                        progress.console.print(engine.hdr_note(result.item.source, result.details["value_range"]),
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
                report.update(engine.report_common(loaded, restorer))
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
