"""Per-rank JSONL reports of a sharded batch, and their merge into one summary.

Each rank of a split batch writes `OUT/.uhdrestore-batch/rank-KKKKK-of-NNNNN.jsonl`: a start
record, one record per file as it finishes, and an end record. Lines go out as files finish,
so memory does not grow with the batch, into a temporary name that is renamed into place
when the rank ends (also on Ctrl-C or SIGTERM, marked incomplete); a rank killed outright
leaves only its temporary file, which the next run removes.

No rank waits for another: the rank that finishes last finds every report complete and
writes `summary.json` beside them. When one is missing (a rank died, or the ranks ran as
separate jobs), `uhdrestore batch-report OUT` merges what is there and says what is missing.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .atomic import atomic_path, partial_path, remove_stale_partials
from .errors import InputImageError, OutputError
from .shard import Shard

__all__ = ["REPORT_FOLDER", "RankReport", "merge_reports", "merge_if_complete"]

REPORT_FOLDER = ".uhdrestore-batch"  # hidden, so it never mirrors a folder of the input tree
SUMMARY_NAME = "summary.json"
_RANK_FILE = re.compile(r"^rank-(\d+)-of-(\d+)\.jsonl$")


def report_path(output_dir: Path, shard: Shard) -> Path:
    return output_dir / REPORT_FOLDER / f"rank-{shard.rank:05d}-of-{shard.world_size:05d}.jsonl"


class RankReport:
    """This rank's report, written as it goes; use as a context manager around the batch."""

    def __init__(self, output_dir: Path, shard: Shard) -> None:
        self.shard = shard
        self.path = report_path(output_dir, shard)
        self._temporary: Path | None = None
        self._file: IO[str] | None = None
        self._started = 0.0
        self.counts = _empty_counts()
        self.megapixels = 0.0

    def __enter__(self) -> RankReport:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create folder {self.path.parent}: {error.strerror or error}",
                              errno=error.errno) from error
        # This rank's report from a run killed outright; other ranks' may be live on other machines.
        remove_stale_partials(self.path.parent, owned=lambda target: target.name == self.path.name)
        self._temporary = partial_path(self.path, ".jsonl")
        self._file = open(self._temporary, "x", encoding="utf-8")  # noqa: SIM115  # closed in __exit__
        self._started = time.perf_counter()
        self._write({"record": "start", "rank": self.shard.rank, "world_size": self.shard.world_size,
                     "launcher": self.shard.launcher, "run_id": self.shard.run_id,
                     "host": socket.gethostname(), "pid": os.getpid(), "time": time.time()})
        return self

    def add(self, *, input: str, output: str | None, status: str, error: str | None = None,
            reason: str | None = None, seconds: float = 0.0, megapixels: float = 0.0) -> None:
        """One finished file: status ok, skipped (reason: 'output exists' or 'clean') or failed."""
        _count(self.counts, status, reason)
        self.megapixels += megapixels
        self._write({"record": "item", "input": input, "output": output, "status": status, "error": error,
                     "reason": reason, "seconds": round(seconds, 3), "megapixels": round(megapixels, 6)})

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            raise RuntimeError("RankReport used outside its with-block")
        self._file.write(json.dumps(record, allow_nan=False) + "\n")
        self._file.flush()  # a rank killed outright still leaves what it finished, for a reader

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._file is None or self._temporary is None:
            return
        try:
            self._write({"record": "end", "complete": kind is None, "counts": self.counts,
                         "megapixels": round(self.megapixels, 6),
                         "seconds": round(time.perf_counter() - self._started, 3)})
            self._file.close()
            os.replace(self._temporary, self.path)
        except OSError as failure:
            if kind is None:
                raise OutputError(f"cannot write {self.path}: {failure.strerror or failure}",
                                  errno=failure.errno) from failure
        finally:
            self._file.close()
            if self._temporary.exists():
                self._temporary.unlink()


def _empty_counts() -> dict[str, int]:
    return {"processed": 0, "skipped": 0, "skipped_clean": 0, "failed": 0}


def _count(counts: dict[str, int], status: str | None, reason: str | None) -> None:
    counts[{"ok": "processed", "failed": "failed"}.get(status or "", "skipped")] += 1
    counts["skipped_clean"] += reason == "clean"


@dataclass
class _RankFile:
    """One rank's report, tallied as it is read (failures kept, other items only counted)."""

    start: dict[str, Any] = field(default_factory=dict)
    end: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=_empty_counts)
    megapixels: float = 0.0
    failed: list[dict[str, Any]] = field(default_factory=list)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as file:
        for line in file:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a torn last line: the rank died while writing it
                continue
            if isinstance(record, dict):
                yield record


def _read_rank(path: Path) -> _RankFile:
    found = _RankFile()
    for record in _records(path):
        kind = record.get("record")
        if kind == "start":
            found.start = record
        elif kind == "end":
            found.end = record
        elif kind == "item":
            _count(found.counts, record.get("status"), record.get("reason"))
            found.megapixels += float(record.get("megapixels") or 0)
            if record.get("status") == "failed":
                found.failed.append({"input": record.get("input"), "error": record.get("error")})
    return found


def _rank_files(report_folder: Path) -> dict[int, list[tuple[int, Path]]]:
    """{world size: [(rank, path)]} of the finished reports in `report_folder`."""
    by_world: dict[int, list[tuple[int, Path]]] = {}
    if report_folder.is_dir():
        for path in report_folder.iterdir():
            match = _RANK_FILE.match(path.name)
            if match:
                by_world.setdefault(int(match.group(2)), []).append((int(match.group(1)), path))
    return by_world


def merge_reports(output_dir: Path, *, world_size: int | None = None) -> dict[str, Any]:
    """The summary of the rank reports in OUT/.uhdrestore-batch, written there as summary.json.

    `world_size` picks the run's reports when earlier runs were split differently (default:
    the split of the newest report). Ranks without a report, or whose report ends early, are
    listed; their files count as not reported. Raises InputImageError when there is no report.
    """
    folder = output_dir / REPORT_FOLDER
    by_world = _rank_files(folder)
    if not by_world:
        raise InputImageError(f"no batch reports in {folder}: run a split batch (torchrun, srun or --shard) "
                              "into this folder first")
    if world_size is None:
        world_size = max(by_world, key=lambda n: max(path.stat().st_mtime for _rank, path in by_world[n]))
    ranks = {rank: _read_rank(path) for rank, path in by_world.get(world_size, []) if rank < world_size}
    counts = _empty_counts()
    for found in ranks.values():
        for key, value in found.counts.items():
            counts[key] += value
    seconds = max((float(found.end.get("seconds", 0)) for found in ranks.values() if found.end), default=0.0)
    megapixels = sum(found.megapixels for found in ranks.values())
    summary = {
        "command": "batch-report", "output_dir": str(output_dir), "world_size": world_size,
        "ranks_reported": sorted(ranks),
        "ranks_missing": [rank for rank in range(world_size) if rank not in ranks],
        "ranks_incomplete": sorted(rank for rank, found in ranks.items()
                                   if found.end is None or not found.end.get("complete")),
        "other_splits_ignored": sorted(n for n in by_world if n != world_size),
        "summary": {**counts, "seconds": round(seconds, 3), "megapixels": round(megapixels, 6),
                    "megapixels_per_second": round(megapixels / seconds, 3) if seconds > 0 else 0.0},
        "failed": [failure for rank in sorted(ranks) for failure in ranks[rank].failed],
    }
    with atomic_path(folder / SUMMARY_NAME, suffix=".json") as temporary:
        temporary.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return summary


def merge_if_complete(output_dir: Path, shard: Shard) -> dict[str, Any] | None:
    """Merge when every rank of this run has a complete report (this one finished last); else None."""
    found = dict(_rank_files(output_dir / REPORT_FOLDER).get(shard.world_size, []))
    if any(rank not in found for rank in range(shard.world_size)):
        return None
    for rank in range(shard.world_size):
        start: dict[str, Any] = {}
        end: dict[str, Any] | None = None
        for record in _records(found[rank]):  # only the first and the last line matter here
            if record.get("record") == "start":
                start = record
            elif record.get("record") == "end":
                end = record
        if end is None or not end.get("complete") or start.get("run_id") != shard.run_id:
            return None
    return merge_reports(output_dir, world_size=shard.world_size)
