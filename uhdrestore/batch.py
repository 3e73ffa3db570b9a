"""Restore a folder: plan the work, then overlap decoding, restoring and encoding.

A reader thread decodes the next image while the device restores the current one,
and a writer thread encodes and writes the previous one, so the device is not idle
during I/O. A bad file is recorded as a failure and the batch goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .errors import OutputError, UhdRestoreError
from .io import Image, is_image_file, read_image, write_image

__all__ = ["BatchItem", "ItemResult", "default_output_dir", "plan_batch", "run_batch"]

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


def plan_batch(folder: Path, output_dir: Path, *, recursive: bool, overwrite: bool
               ) -> tuple[list[BatchItem], list[BatchItem]]:
    """(to restore, skipped because the output exists), each output at the input's relative path.

    Non-image files are ignored, and so is the output folder when it lies inside the input.
    """
    output_dir = output_dir.resolve()
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    todo: list[BatchItem] = []
    skipped: list[BatchItem] = []
    for source in sorted(pattern):
        if not source.is_file() or not is_image_file(source) or output_dir in source.resolve().parents:
            continue
        item = BatchItem(source, output_dir / source.relative_to(folder))
        (skipped if item.target.exists() and not overwrite else todo).append(item)
    return todo, skipped


def _write(item: BatchItem, image: Image) -> None:
    try:
        item.target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {item.target.parent}: {error.strerror}") from error
    write_image(item.target, image)


def run_batch(
    items: list[BatchItem],
    restore: Callable[[Image], tuple[Image | None, dict[str, object]]],
    *,
    on_result: Callable[[ItemResult], None] | None = None,
) -> list[ItemResult]:
    """Restore `items` in order with read-ahead and write-behind; returns one result per item.

    `restore` maps a decoded image to (restored image, details for the report); a None
    image means "leave this one alone" (batch --skip-clean): it is reported as skipped. Known
    failures (UhdRestoreError) are recorded and the batch goes on; anything else
    (out of device memory included) stops it.
    """
    results: list[ItemResult] = []

    def report(result: ItemResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    with ThreadPoolExecutor(1, thread_name_prefix="reader") as reader, \
            ThreadPoolExecutor(1, thread_name_prefix="writer") as writer:
        writing: list[tuple[ItemResult, float, Future[None]]] = []

        def settle(*, block: bool) -> None:
            """Report finished writes, in input order."""
            while writing and (block or writing[0][2].done()):
                result, started, future = writing.pop(0)
                try:
                    future.result()
                except UhdRestoreError as error:
                    result.status, result.error = "failed", str(error)
                result.seconds = time.perf_counter() - started
                report(result)

        for item, decoded in _read_ahead(items, reader):
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
            settle(block=len(writing) > 1)  # at most one restored image waits for its write
        settle(block=True)
    return results


def _read_ahead(items: list[BatchItem], reader: ThreadPoolExecutor) -> Iterator[tuple[BatchItem, Future[Image]]]:
    """Yield (item, its decoding future) while the next image is already decoding."""
    upcoming = [reader.submit(read_image, item.source) for item in items[:1]]
    for index, item in enumerate(items):
        current = upcoming.pop(0)
        if index + 1 < len(items):
            upcoming.append(reader.submit(read_image, items[index + 1].source))
        yield item, current
