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
import fnmatch
import functools
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .atomic import check_folder_writable
from .errors import OutputError, UhdRestoreError
from .imagefile import output_name
from .io import DEFAULT_MAX_PIXELS, Image, check_writable, read_image, write_image
from .listing import relative_key, walk_photos
from .shard import Shard

__all__ = ["BatchItem", "ItemResult", "default_output_dir", "check_output_dir", "list_photos",
           "plan_stream", "path_filter", "run_batch", "FATAL_WRITE_ERRORS"]

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


def check_output_dir(folder: Path, output_dir: Path, *, create: bool = True) -> None:
    """Raise OutputError unless `output_dir` can take the outputs: not the input folder, not a
    file, and writable (created if missing). Without `create` (a dry run), only the first two."""
    if output_dir.resolve() == folder.resolve():
        raise OutputError(f"the output folder {output_dir} is the input folder: the results would replace "
                          "the photos; choose another with -o")
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"the output {output_dir} is a file, not a folder")
    if not create:
        return
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
                on_reject: Callable[[str, str], None], select: Callable[[str], str | None] | None = None,
                on_exclude: Callable[[Path, str], None] | None = None, limit: int | None = None,
                suffix: str = "", extension: str | None = None) -> Iterator[BatchItem]:
    """The items this shard restores, one at a time as `sources` yields paths (as they are
    opened: within `folder`); nothing is listed ahead.

    Files of other shards are passed over silently, those whose output exists go to `on_skip`
    (unless `overwrite`), and a path outside `folder` goes to `on_reject` with the reason, by
    the one shard that owns its text. `select` maps a path relative to `folder` to None (keep
    it) or the reason it is left out, which goes to `on_exclude`. With `limit`, the stream
    ends after that many kept files (skipped ones count: the same files each run).

    Each output mirrors its source's place under `output_dir`, named NAME{suffix}.EXT, or
    NAME{suffix}{extension} when the format is forced; two sources that would then share an
    output (a.png and a.jpg) are a rejection of the second.
    """
    output_dir = output_dir.resolve()
    claimed: set[Path] = set()  # outputs given out, when a forced format could make two alike
    kept = 0
    for source in sources:
        if limit is not None and kept >= limit:
            return
        key = relative_key(folder, source)
        if key is None:
            if shard.owns(str(source)):
                on_reject(str(source), f"not inside the input folder {folder}")
            continue
        if not shard.owns(key):
            continue
        reason = select(key) if select is not None else None
        if reason is not None:
            if on_exclude is not None:
                on_exclude(folder / key, reason)
            continue
        kept += 1
        item = BatchItem(folder / key, output_name(output_dir / key, suffix=suffix, extension=extension))
        if extension is not None:
            if item.target in claimed:
                on_reject(str(item.source), f"its output {item.target} is another photo's too (same name, "
                                            f"another format): rename one")
                continue
            claimed.add(item.target)
        if item.target.exists() and not overwrite:
            on_skip(item)
        else:
            yield item


def path_filter(include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Callable[[str], str | None] | None:
    """A `select` for `plan_stream` from fnmatch patterns over paths relative to the folder: a
    path is kept when it matches an `include` (or there is none) and no `exclude`; None without
    patterns. Case-sensitive; `*` crosses folders (`*.png` matches day/noon.png)."""
    if not include and not exclude:
        return None

    def select(key: str) -> str | None:
        if include and not any(fnmatch.fnmatchcase(key, pattern) for pattern in include):
            return "matches no --include"
        for pattern in exclude:
            if fnmatch.fnmatchcase(key, pattern):
                return f"excluded by --exclude {pattern}"
        return None

    return select


def _write(item: BatchItem, image: Image, quality: int) -> None:
    try:
        item.target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {item.target.parent}: {error.strerror}") from error
    write_image(item.target, image, jpeg_quality=quality)


def run_batch(
    items: Iterable[BatchItem],
    restore: Callable[[Image], tuple[Image | None, dict[str, object]]],
    *,
    on_result: Callable[[ItemResult], None] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    jobs: int = 1,
    collect: bool = True,
    quality: int = 95,
) -> list[ItemResult]:
    """Restore `items` in order with read-ahead and write-behind; returns one result per item.

    `items` may be a stream (it is consumed as the reads are queued). `jobs` threads decode
    and as many encode, with up to `jobs` images read ahead and `jobs` waiting for their
    write, so a fast device does not wait on PNG coding. Without `collect` the results go
    to `on_result` only and the returned list stays empty (memory flat over millions).

    `restore` maps a decoded image to (restored image, details for the report); a None
    image means "leave this one alone" (batch --skip-clean): it is reported as skipped. Known
    failures (UhdRestoreError) are recorded and the batch goes on; images over `max_pixels`
    are such failures, and so is an output format that cannot hold the image's depth (16-bit
    to JPEG), found before it is restored. `quality` is the JPEG and WebP quality. A write
    that fails for want of space or of a writable disk raises its OutputError (the batch
    stops), and so does anything unexpected (out of device memory included). On Ctrl-C or
    SIGTERM the write in progress completes, queued reads are cancelled, and no temporary
    file is left.
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
                    check_writable(item.target, image.dtype)  # before the work, not after it
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
                writing.append((result, started, writer.submit(_write, item, restored, quality)))
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
