"""Copy or link photos into one folder per branch of a degradation tree (`inspect --sort-into`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from ..atomic import atomic_path
from ..errors import OutputError
from .tree import ClusterNode

__all__ = ["branch_name", "sort_into"]


def branch_name(leaf: ClusterNode, dominant: Sequence[tuple[str, float]]) -> str:
    """"0.1-rain-haze": the branch path, then its dominant kinds ("clean" when none)."""
    path = "all" if leaf.path == "root" else leaf.path
    kinds = [kind for kind, _share in dominant] or ["clean"]
    return "-".join([path, *kinds])


def sort_into(destination: Path, groups: dict[str, list[Path]], *, link: bool) -> tuple[int, int]:
    """Put each group's files into destination/GROUP/; returns (placed, already there).

    Copies keep their timestamps and arrive complete (temp file, then rename); links are
    symbolic, to the absolute source path. An existing file of the same name is left alone.
    """
    placed = existing = 0
    for group, files in groups.items():
        folder = destination / group
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create folder {folder}: {error.strerror or error}") from error
        for source in files:
            target = folder / source.name
            if target.exists() or target.is_symlink():
                existing += 1
                continue
            try:
                if link:
                    os.symlink(source.resolve(), target)
                else:
                    with atomic_path(target) as temporary:
                        shutil.copy2(source, temporary)
            except OSError as error:
                raise OutputError(f"cannot place {source} in {folder}: {error.strerror or error}") from error
            placed += 1
    return placed, existing
