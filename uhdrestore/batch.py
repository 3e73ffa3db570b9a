"""Restore a folder: plan the work, then overlap decoding, restoring and encoding.

Reader threads decode the next images while the device restores the current one, and
writer threads encode and write the previous ones (one of each, or `--jobs N`), so the
device is not idle during I/O. The items may come as a stream (`plan_stream`): nothing
is listed ahead. A bad file is recorded as a failure and the batch goes on; a full disk or a
folder that turned read-only stops it (every later write would fail too).

The output folder is checked before any work: it must not be the input folder or a file,
and it must be writable. An output folder above the input (`batch photos/raw -o photos`)
is fine: inputs are never taken for outputs, since only files of the input tree are read.
"""

from __future__ import annotations

import errno
import functools
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .atomic import check_folder_writable
from .errors import OutputError, UhdRestoreError
from .io import DEFAULT_MAX_PIXELS, Image, read_image, write_image
from .listing import relative_key, walk_photos
from .shard import Shard

__all__ = ["BatchItem", "ItemResult", "default_output_dir", "check_output_dir", "list_photos",
           "plan_stream", "run_batch"]

# Write failures that every later write into the same folder would share: stop the batch.
FATAL_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})

Status = Literal["ok", "skipped", "failed"]


@dataclass(frozen=True)
class BatchItem:
    source: Path
    target: Path


@dataclass
class ItemResult:
    item: BatchItem
    status: Status
    error: str | None = None
    seconds: float = 0.0
    megapixels: float = 0.0
    details: dict[str, object] = field(default_factory=dict)


def default_output_dir(folder: Path) -> Path:
    """./photos -> ./photos_restored, beside the input folder."""
    return folder.with_name(f"{folder.name}_restored")


def check_output_dir(folder: Path, output_dir: Path) -> None:
    """Raise OutputError unless `output_dir` can take the outputs: not the input folder, not a
    file, and writable (created if missing)."""
    if output_dir.resolve() == folder.resolve():
        raise OutputError(f"the output folder {output_dir} is the input folder: the results would replace "
                          "the photos; choose another with -o")
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"the output {output_dir} is a file, not a folder")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {output_dir}: {error.strerror or error}",
                          errno=error.errno) from error
    check_folder_writable(output_dir)


def list_photos(folder: Path, *, recursive: bool) -> list[Path]:
    """The image files (regular files with a supported extension) in `folder`, sorted.

    Our own temporary files (`.NAME.PID-RANDOM.uhdrestore-partial.EXT`, left by a killed run)
    are never photos. `batch` streams the same walk instead (`listing.walk_photos`).
    """
    return list(walk_photos(folder, recursive=recursive))


def plan_stream(folder: Path, output_dir: Path, sources: Iterable[Path], *, shard: Shard = Shard(),
                overwrite: bool, on_skip: Callable[[BatchItem], None],
                on_reject: Callable[[str, str], None]) -> Iterator[BatchItem]:
    """The items this shard restores, one at a time as `sources` yields paths (as they are
    opened: within `folder`); nothing is listed ahead.

    Files of other shards are passed over silently, those whose output exists go to `on_skip`
    (unless `overwrite`), and a path outside `folder` goes to `on_reject` with the reason, by
    the one shard that owns its text.
    """
    output_dir = output_dir.resolve()
    for source in sources:
        key = relative_key(folder, source)
        if key is None:
            if shard.owns(str(source)):
                on_reject(str(source), f"not inside the input folder {folder}")
            continue
        if not shard.owns(key):
            continue
        item = BatchItem(folder / key, output_dir / key)
        if item.target.exists() and not overwrite:
            on_skip(item)
        else:
            yield item


def _write(item: BatchItem, image: Image) -> None:
    try:
        item.target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {item.target.parent}: {error.strerror}") from error
    write_image(item.target, image)


def run_batch(
    items: Iterable[BatchItem],
    restore: Callable[[Image], tuple[Image | None, dict[str, object]]],
    *,
    on_result: Callable[[ItemResult], None] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    jobs: int = 1,
    collect: bool = True,
) -> list[ItemResult]:
    """Restore `items` in order with read-ahead and write-behind; returns one result per item.

    `items` may be a stream (it is consumed as the reads are queued). `jobs` threads decode
    and as many encode, with up to `jobs` images read ahead and `jobs` waiting for their
    write, so a fast device does not wait on PNG coding. Without `collect` the results go
    to `on_result` only and the returned list stays empty (memory flat over millions).

    `restore` maps a decoded image to (restored image, details for the report); a None
    image means "leave this one alone" (batch --skip-clean): it is reported as skipped. Known
    failures (UhdRestoreError) are recorded and the batch goes on; images over `max_pixels`
    are such failures. A write that fails for want of space or of a writable disk raises
    its OutputError (the batch stops), and so does anything unexpected (out of device
    memory included). On Ctrl-C or SIGTERM the write in progress completes, queued reads
    are cancelled, and no temporary file is left.
    """
    results: list[ItemResult] = []
    read = functools.partial(read_image, max_pixels=max_pixels)

    if jobs < 1:
        raise ValueError(f"jobs must be at least 1. Got {jobs}")

    def report(result: ItemResult) -> None:
        if collect:
            results.append(result)
        if on_result is not None:
            on_result(result)

    with ThreadPoolExecutor(jobs, thread_name_prefix="reader") as reader, \
            ThreadPoolExecutor(jobs, thread_name_prefix="writer") as writer:
        writing: list[tuple[ItemResult, float, Future[None]]] = []

        def settle(*, block: bool) -> None:
            """Report finished writes, in input order."""
            while writing and (block or writing[0][2].done()):
                result, started, future = writing.pop(0)
                try:
                    future.result()
                except OutputError as error:
                    if error.errno in FATAL_WRITE_ERRORS:
                        raise
                    result.status, result.error = "failed", str(error)
                except UhdRestoreError as error:
                    result.status, result.error = "failed", str(error)
                result.seconds = time.perf_counter() - started
                report(result)

        try:
            for item, decoded in _read_ahead(items, reader, read, depth=jobs):
                started = time.perf_counter()
                try:
                    image = decoded.result()
                    restored, details = restore(image)
                except UhdRestoreError as error:
                    settle(block=True)
                    report(ItemResult(item, "failed", str(error), time.perf_counter() - started))
                    continue
                megapixels = image.height * image.width / 1e6
                if restored is None:
                    settle(block=True)
                    report(ItemResult(item, "skipped", None, time.perf_counter() - started, megapixels, details))
                    continue
                result = ItemResult(item, "ok", megapixels=megapixels, details=details)
                writing.append((result, started, writer.submit(_write, item, restored)))
                del image, restored  # let the decoded and restored pixels go while the next image runs
                settle(block=len(writing) > jobs)  # at most `jobs` restored images wait for their write
            settle(block=True)
        except BaseException:
            reader.shutdown(wait=False, cancel_futures=True)
            writer.shutdown(wait=True, cancel_futures=True)  # finish the write in progress, start no other
            raise
    return results


def _read_ahead(items: Iterable[BatchItem], reader: ThreadPoolExecutor, read: Callable[[Path], Image], *,
                depth: int = 1) -> Iterator[tuple[BatchItem, Future[Image]]]:
    """Yield (item, its decoding future) while the next `depth` images are already decoding."""
    upcoming: deque[tuple[BatchItem, Future[Image]]] = deque()
    for item in items:
        upcoming.append((item, reader.submit(read, item.source)))
        if len(upcoming) > depth:
            yield upcoming.popleft()
    while upcoming:
        yield upcoming.popleft()
