"""The files a batch reads, streamed: a folder walked lazily, or a list of paths (`--files-from`).

A tree of a million photos must not be listed in full before the first one is restored,
so both sources are generators: the first image starts as soon as the walk reaches it,
and memory does not grow with the number of files. The walk sorts one folder at a time
(a stable, readable order); the split between ranks does not depend on order at all
(see `shard.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from .atomic import is_partial
from .io import is_image_file

__all__ = ["walk_photos", "read_path_list", "relative_key"]


def walk_photos(folder: Path, *, recursive: bool, prune: Iterable[Path] = ()) -> Iterator[Path]:
    """The image files (regular files with a supported extension) under `folder`, lazily, in
    sorted order (each sub-folder where its name sorts, as `sorted(rglob)` would give).

    Sub-folders are entered only with `recursive`, never through a symbolic link (a link to
    a parent would loop), and never when they are one of `prune` (the output folder, when it
    lies inside the input). Our own temporary files are never photos.
    """
    yield from _walk(str(folder), recursive, {os.path.realpath(path) for path in prune})


def _walk(directory: str, recursive: bool, pruned: set[str]) -> Iterator[Path]:
    # One folder's entries are sorted, so memory follows the largest folder, not the tree;
    # a flat folder of millions is listed whole before its first file (--files-from is not).
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:  # vanished or unreadable mid-walk: nothing to restore there
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if recursive and os.path.realpath(entry.path) not in pruned:
                    yield from _walk(entry.path, recursive, pruned)
            elif entry.is_file() and is_image_file(entry.name) and not is_partial(entry.name):
                yield Path(entry.path)
        except OSError:
            continue


def read_path_list(stream: IO[str]) -> Iterator[str]:
    """One path per line, streamed; blank lines are skipped and only the line ending (LF or
    CRLF) is removed, since names may begin or end with spaces."""
    for line in stream:
        path = line.rstrip("\r\n")
        if path.strip():
            yield path


def relative_key(folder: Path, source: Path) -> str | None:
    """`source` relative to `folder` as a POSIX string (the shard key and the output's place),
    or None when `source` lies outside `folder`."""
    try:
        relative = source.relative_to(folder)
    except ValueError:
        absolute = Path(os.path.abspath(source))
        try:
            relative = absolute.relative_to(os.path.abspath(folder))
        except ValueError:
            return None
    key = os.path.normpath(relative.as_posix()) if relative.parts else ""
    if key in ("", ".") or key == ".." or key.startswith("../"):
        return None
    return Path(key).as_posix()
