"""`batch` at scale: its sharding, list and thread options, and `uhdrestore batch-report`.

`batch` runs as one process of many under torchrun or srun (or `--shard K/N` by hand), each
restoring the files its hash picks and writing its own report; see docs/scale-out.md.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..shard import Shard, resolve_shard
from .common import JsonOpt, errors, print_json, stderr_console

SCALE_PANEL = "Many processes and large inputs"
ShardOpt = Annotated[Optional[str], typer.Option(
    "--shard", metavar="K/N", rich_help_panel=SCALE_PANEL, show_default=False,
    help="Restore only share K of N (0 <= K < N), picked by a hash of each file's path relative to "
         "FOLDER. Not needed under torchrun or srun, which set it from RANK/WORLD_SIZE or "
         "SLURM_PROCID/SLURM_NTASKS.")]
FilesFromOpt = Annotated[Optional[str], typer.Option(
    "--files-from", metavar="FILE|-", rich_help_panel=SCALE_PANEL, show_default=False,
    help="Read the photos to restore from FILE (- for standard input), one path per line, relative to "
         "FOLDER or absolute inside it, instead of listing FOLDER. Read as it goes: millions are fine.")]
JobsOpt = Annotated[int, typer.Option(
    "--jobs", "-j", min=1, rich_help_panel=SCALE_PANEL,
    help="Threads that decode and as many that encode, per process, so the device does not wait on "
         "image coding.")]


def cli_shard(manual: str | None) -> Shard:
    """This process's shard from --shard or the launcher; a bad value is a usage error (exit 2)."""
    try:
        return resolve_shard(manual, os.environ)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def owned_by(shard: Shard, output_dir: Path) -> Callable[[Path], bool] | None:
    """Which outputs this rank writes (None: all of them), so it cleans only its own temporaries:
    another rank, maybe on another machine, may be writing the others now."""
    if not shard.is_split:
        return None
    root = output_dir.resolve()

    def owned(target: Path) -> bool:
        try:
            return shard.owns(target.resolve().relative_to(root).as_posix())
        except ValueError:
            return False

    return owned


@contextlib.contextmanager
def photo_sources(folder: Path, files_from: str | None, *, recursive: bool, prune: Path
                  ) -> Iterator[Iterator[Path]]:
    """The paths to restore, streamed: FOLDER walked, or the lines of --files-from joined to FOLDER."""
    from ..listing import read_path_list, walk_photos

    if files_from is None:
        yield walk_photos(folder, recursive=recursive, prune=[prune])
        return
    if files_from == "-":
        yield (folder / line for line in read_path_list(sys.stdin))
        return
    path = Path(files_from)
    if not path.is_file():
        raise typer.BadParameter(f"invalid value for --files-from: no such file: {files_from}"
                                 if not path.exists() else f"invalid value for --files-from: not a file: {files_from}")
    try:
        stream = open(path, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115  # closed below
    except OSError as error:
        raise typer.BadParameter(f"invalid value for --files-from: cannot read {files_from}: "
                                 f"{error.strerror or error}") from None
    with stream:
        yield (folder / line for line in read_path_list(stream))


def merged_line(summary: dict[str, Any]) -> str:
    """One line for people: the counts over every rank, and what is missing."""
    counts = summary["summary"]
    line = (f"all {summary['world_size']} ranks: {counts['processed']} restored, {counts['skipped']} skipped, "
            f"{counts['failed']} failed, {counts['megapixels_per_second']:.2f} MP/s")
    gaps = [f"rank(s) {', '.join(map(str, summary[key]))} {what}"
            for key, what in (("ranks_missing", "without a report"), ("ranks_incomplete", "stopped early"))
            if summary[key]]
    return line + (f" ({'; '.join(gaps)})" if gaps else "")


def batch_report(
    output: Annotated[Path, typer.Argument(help="The output folder of a split batch.", show_default=False)],
    world_size: Annotated[Optional[int], typer.Option(
        "--world-size", min=1, show_default=False,
        help="Merge the reports of an N-way split (default: the split of the newest report).")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Merge the per-rank reports of a split batch into OUT/.uhdrestore-batch/summary.json.

    The last rank to finish does this by itself; run it when a rank died or the shards ran as
    separate jobs. Exits 1 when files failed or a rank has no complete report.
    """
    from ..batch_report import merge_reports
    from ..errors import InputImageError

    console = stderr_console(json_output)
    with errors(console):
        if not output.is_dir():
            raise InputImageError(f"not a folder: {output}")
        summary = merge_reports(output, world_size=world_size)
        if json_output:
            print_json(summary)
        else:
            console.print(merged_line(summary), highlight=False, soft_wrap=True)
            for failure in summary["failed"]:
                console.print(f"[red]failed:[/] {failure['input']}: {failure['error']}", highlight=False,
                              soft_wrap=True)
        if summary["summary"]["failed"] or summary["ranks_missing"] or summary["ranks_incomplete"]:
            raise typer.Exit(1)
