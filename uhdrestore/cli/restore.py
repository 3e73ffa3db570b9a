"""`uhdrestore batch`: restore a folder with one loaded model (`fix` lives in fix.py).

Every path in its JSON (--json, --jsonl, the rank reports) is absolute; the lines for people
give them as typed. --dry-run walks the same plan without loading a model or writing a byte.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from . import engine
from .common import (DEFAULT_MAX_PIXELS, DEFAULT_QUALITY, DeviceOpt, FormatOpt, JsonOpt, MaxPixelsOpt, ModelOpt,
                     OfflineOpt, OverlapOpt, OverwriteOpt, PrecisionOpt, QualityOpt, QuietOpt, RevisionOpt,
                     SuffixOpt, TileOpt, check_engine_options, check_output_options, errors, file_progress,
                     json_path, print_json, print_json_line, stderr_console)
from .fix import fix as fix  # registered with the app from here, beside batch
from .inspect import PerceiverOpt
from .scale import FilesFromOpt, JobsOpt, ShardOpt

SELECT_PANEL = "Which files"
IncludeOpt = Annotated[Optional[list[str]], typer.Option(
    "--include", metavar="GLOB", rich_help_panel=SELECT_PANEL, show_default=False,
    help="Restore only files whose path relative to FOLDER matches GLOB (fnmatch: * also crosses folders, "
         "so '*.png' matches day/a.png; case-sensitive). Repeatable: any may match.")]
ExcludeOpt = Annotated[Optional[list[str]], typer.Option(
    "--exclude", metavar="GLOB", rich_help_panel=SELECT_PANEL, show_default=False,
    help="Leave out files whose relative path matches GLOB (after --include). Repeatable.")]
LimitOpt = Annotated[Optional[int], typer.Option(
    "--limit", metavar="N", rich_help_panel=SELECT_PANEL, show_default=False,
    help="Only the first N files in the listing's order (after --include/--exclude, those skipped "
         "because their output exists included, so a re-run resumes the same N).")]


class _FailFast(Exception):
    """--fail-fast: a file failed, stop the batch."""


def _check_batch_options(*, guard: bool | None, skip_clean: bool, json_output: bool, jsonl: bool,
                         limit: int | None) -> None:
    """Usage errors (exit 2) for combinations no run can honour."""
    if guard is True and skip_clean:
        raise typer.BadParameter("--guard writes clean photos unchanged, --skip-clean writes nothing for "
                                 "them: choose one")
    if json_output and jsonl:
        raise typer.BadParameter("--json prints one report at the end, --jsonl a line per file as it "
                                 "finishes: choose one")
    if limit is not None and limit < 1:
        raise typer.BadParameter(f"invalid value for --limit: expected a number of files, 1 or more. Got {limit}")


def _entry(source: Path | str, target: Path | None, status: str, **fields: Any) -> dict[str, Any]:
    """One file's JSON entry (--json items, --jsonl lines, rank reports): absolute paths."""
    return {"input": json_path(source), "output": json_path(target), "status": status, **fields}


def _dry_run(planned: Iterator[Any], record: Callable[[dict[str, Any]], None], *, quiet: bool) -> int:
    """Report each planned file and its output as the walk yields it (a line unless `quiet`:
    JSON instead); how many there are."""
    count = 0
    for item in planned:
        count += 1
        record(_entry(item.source, item.target, "planned"))
        if not quiet:
            typer.echo(f"{item.source} -> {item.target}")
    return count

def batch(
    folder: Annotated[Path, typer.Argument(help="Folder of photos to restore.", show_default=False)],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Output folder (default: FOLDER_restored beside the input).",
        show_default=False)] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Include sub-folders, mirroring the tree.")
                         ] = False,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    limit: LimitOpt = None,
    suffix: SuffixOpt = "",
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
    skip_clean: Annotated[bool, typer.Option(
        "--skip-clean", help="Leave photos the perceiver rates high quality (clean) alone: no output, "
                             "listed as skipped.")] = False,
    guard_option: engine.GuardOpt = None,
    perceiver: PerceiverOpt = "default",
    strength: engine.StrengthOpt = 1.0,
    max_pixels: MaxPixelsOpt = DEFAULT_MAX_PIXELS,
    fail_fast: Annotated[bool, typer.Option(
        "--fail-fast", help="Stop at the first file that fails (exit 1) instead of going on.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the plan (each file and its output, what is skipped and why) without "
                          "loading the model or writing anything; with --json or --jsonl, as JSON.")] = False,
    shard_spec: ShardOpt = None,
    files_from: FilesFromOpt = None,
    jobs: JobsOpt = 1,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="Print one JSON line per file on stdout as each finishes (the keys of --json's "
                        "items), so an interrupted run loses nothing; excludes --json.")] = False,
) -> None:
    """Restore every photo in a folder; existing outputs are skipped, so re-running resumes.

    Outputs mirror the tree under OUT with the same names (--suffix, --format change them).
    When stderr is not a terminal, a plain progress line replaces the live bar every 10 s.
    Under torchrun or srun, or with --shard K/N, each process restores its share of the files
    and writes a report to OUT/.uhdrestore-batch, merged by the last one to finish (or by
    `uhdrestore batch-report OUT`). See docs/scale-out.md.
    """
    import itertools

    from ..atomic import remove_stale_partials
    from ..batch import BatchItem, check_output_dir, default_output_dir, path_filter, plan_stream, run_batch
    from ..batch_report import RankReport, merge_if_complete
    from ..errors import InputImageError
    from ..runtime import rank_device
    from .scale import cli_shard, merged_line, owned_by, photo_sources

    console = stderr_console(quiet or json_output)
    with errors(console):
        check_engine_options(device, precision, tile, strength)
        extension = check_output_options(output_format, quality, suffix)
        _check_batch_options(guard=guard_option, skip_clean=skip_clean, json_output=json_output, jsonl=jsonl,
                             limit=limit)
        guard = engine.guard_wanted(guard_option, model, skip_clean=skip_clean)
        shard = cli_shard(shard_spec)
        if not folder.is_dir():
            raise InputImageError(f"not a folder: {folder}")
        output_dir = output or default_output_dir(folder)
        check_output_dir(folder, output_dir, create=not dry_run)
        if not dry_run:
            remove_stale_partials(output_dir, recursive=recursive, owned=owned_by(shard, output_dir))
        # One rank draws progress, as nanoGPT's master_process logs; every rank prints its summary.
        progress_console = console if shard.rank == 0 else stderr_console(True)
        prefix = f"{shard.describe()}: " if shard.is_split else ""
        items: list[dict[str, Any]] = []  # the --json report's entries (kept only for --json)
        failed: list[tuple[str, str | None]] = []
        clean: list[str] = []
        tally = {"processed": 0, "skipped": 0, "guarded": 0, "tone_kept": 0, "excluded": 0, "planned": 0}
        megapixels = 0.0
        rank_report = RankReport(output_dir, shard) if shard.is_split and not dry_run else None

        def emit(entry: dict[str, Any]) -> None:
            if jsonl:
                print_json_line(entry)

        def record(entry: dict[str, Any], *, reason: str | None = None, megapixels: float = 0.0) -> None:
            entry = entry if reason is None else {**entry, "reason": reason}
            emit(entry)
            if json_output:
                items.append(entry)
            if rank_report is not None:
                rank_report.add(input=entry["input"], output=entry["output"], status=entry["status"],
                                error=entry.get("error"), reason=entry.get("reason"),
                                seconds=entry.get("seconds", 0.0), megapixels=megapixels)
            if fail_fast and entry["status"] == "failed":
                raise _FailFast()

        def on_skip(item: BatchItem) -> None:
            tally["skipped"] += 1
            record(_entry(item.source, item.target, "skipped"), reason="output exists")
            if dry_run and not (json_output or jsonl):
                typer.echo(f"skip {item.source}: output exists ({item.target})")

        def on_reject(source: str, reason: str) -> None:
            failed.append((source, reason))
            record(_entry(source, None, "failed", error=reason, seconds=0.0))

        def on_exclude(source: Path, reason: str) -> None:  # shown by --dry-run only, as another shard's files
            tally["excluded"] += 1
            if dry_run:
                record(_entry(source, None, "skipped"), reason=reason)
                if not (json_output or jsonl):
                    typer.echo(f"skip {source}: {reason}")

        loaded: Any = None  # the model and its Restorer, once a file needs them
        restorer: Any = None
        started = time.perf_counter()
        try:
            with photo_sources(folder, files_from, recursive=recursive, prune=output_dir) as sources, \
                    rank_report or contextlib.nullcontext():
                planned = plan_stream(folder, output_dir, sources, shard=shard, overwrite=overwrite,
                                      on_skip=on_skip, on_reject=on_reject, on_exclude=on_exclude,
                                      select=path_filter(include or (), exclude or ()), limit=limit,
                                      suffix=suffix, extension=extension)
                if dry_run:
                    tally["planned"] = _dry_run(planned, record, quiet=json_output or jsonl)
                    planned = iter(())
                first = next(planned, None)  # nothing to do: no model to load
                if first is not None:
                    loaded, restorer = engine.load_restorer(model, revision, offline,
                                                            rank_device(device, shard.local_rank), precision,
                                                            tile, tile_overlap, quiet=console.quiet)
                judge = engine.load_guard((skip_clean or guard) and first is not None, perceiver, offline)
                started = time.perf_counter()
                with file_progress(progress_console, total=limit) as progress:

                    def restore(image: Any) -> tuple[Any, dict[str, Any]]:
                        if not guard:
                            perception = engine.clean_perception(judge, image)  # --skip-clean's judge
                            if perception is not None:
                                return None, {"reason": "clean", "perception": perception.to_dict()}
                        restored, result, verdict = engine.guarded_restore(restorer, judge if guard else None, image,
                                                                           strength=strength)
                        return restored, {**({} if result is None else {**engine.tiling_report(result),
                                                                        "strength": strength}),
                                          **({} if verdict is None else verdict.report())}

                    def on_result(result: Any) -> None:
                        nonlocal megapixels
                        megapixels += result.megapixels
                        if result.status == "ok":
                            tally["processed"] += 1
                            tally["guarded"] += bool(result.details.get("guarded"))
                            tally["tone_kept"] += bool(result.details.get("tone_kept"))
                        elif result.status == "failed":
                            failed.append((str(result.item.source), result.error))
                        else:
                            clean.append(str(result.item.source))
                        progress.advance(result.megapixels)
                        if result.status == "failed" and progress.live:  # the summary lists it again
                            progress.console.print(f"[red]failed:[/] {result.item.source}: {result.error}",
                                                   highlight=False, soft_wrap=True)
                        if result.details.get("value_range") and not console.quiet:
                            progress.console.print(engine.hdr_note(result.item.source,
                                                                   result.details["value_range"]),
                                                   highlight=False, soft_wrap=True)
                        record(_entry(result.item.source, result.item.target, result.status, error=result.error,
                                      seconds=round(result.seconds, 3), **result.details),
                               megapixels=result.megapixels)

                    if first is not None:
                        run_batch(itertools.chain([first], planned), restore, on_result=on_result,
                                  max_pixels=max_pixels, jobs=jobs, collect=False, quality=quality)
            stopped = False
        except _FailFast:
            stopped = True
        seconds = time.perf_counter() - started
        merged = merge_if_complete(output_dir, shard) if rank_report is not None else None
        if json_output:
            report: dict[str, Any] = {"command": "batch", "output_dir": json_path(output_dir)}
            if dry_run:
                report["dry_run"] = True
            if shard.is_split:
                report["shard"] = {"rank": shard.rank, "world_size": shard.world_size,
                                   "launcher": shard.launcher}
            if loaded is not None:
                report.update(engine.report_common(loaded, restorer))
            report["summary"] = {"processed": tally["processed"], "skipped": tally["skipped"] + len(clean),
                                 "skipped_clean": len(clean), "guarded": tally["guarded"],
                                 "tone_kept": tally["tone_kept"],
                                 "failed": len(failed), "seconds": round(seconds, 3),
                                 "megapixels_per_second": round(megapixels / max(seconds, 1e-9), 3),
                                 "excluded": tally["excluded"], "stopped_early": stopped}
            if dry_run:
                report["summary"]["planned"] = tally["planned"]
            report["items"] = items
            if merged is not None:
                report["merged"] = merged
            print_json(report)
        else:
            skipped_clean = f", {len(clean)} skipped (clean)" if skip_clean else ""
            guarded = engine.guard_tally(tally["guarded"], tally["tone_kept"]) if guard else ""
            excluded = f", {tally['excluded']} left out (--include/--exclude)" if tally["excluded"] else ""
            done = (f"{tally['planned']} to restore (dry run: nothing loaded or written)" if dry_run
                    else f"{tally['processed']} restored")
            console.print(f"{prefix}{done}{guarded}, {tally['skipped']} skipped (output exists)"
                          f"{skipped_clean}{excluded}, {len(failed)} failed -> {output_dir}"
                          + (" (stopped at the first failure: --fail-fast)" if stopped else ""),
                          highlight=False, soft_wrap=True)
            for source in clean:
                console.print(f"[green]skipped (clean):[/] {source}", highlight=False, soft_wrap=True)
            for source, error in failed:  # one line each, however long: scripts split them on newlines
                console.print(f"[red]failed:[/] {source}: {error}", highlight=False, soft_wrap=True)
            if merged is not None:
                console.print(merged_line(merged), highlight=False, soft_wrap=True)
        if failed:
            raise typer.Exit(1)
