"""Write files atomically: to a temporary name in the target folder, then rename over the target.

Every file uhdrestore writes for a user (images, models, plots, checkpoints) goes through
here, so an interrupted run leaves either the old file or the new one, never half of one.

A temporary file is named `.NAME.PID-RANDOM.uhdrestore-partial[.EXT]`: hidden, recognisably
ours, and tagged with the writing process. A run killed outright (kill -9, power loss)
cannot delete its own; `remove_stale_partials` deletes those whose process is gone, and
`is_partial` keeps them out of every list of input photos.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import OutputError

__all__ = ["PARTIAL_MARKER", "atomic_path", "check_folder_writable", "is_partial", "remove_stale_partials"]

PARTIAL_MARKER = ".uhdrestore-partial"
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}" + re.escape(PARTIAL_MARKER) + r"(\.[^.]+)?$")
# Versions before 0.3.1 named temporaries `.STEM.<12 hex>.EXT`: never inputs either.
_LEGACY_PARTIAL = re.compile(r"^\..+\.[0-9a-f]{12}\.[A-Za-z0-9]+$")


def is_partial(path: str | os.PathLike) -> bool:
    """True for the name of a temporary file `atomic_path` writes (or older versions wrote)."""
    name = Path(path).name
    return bool(_PARTIAL.match(name) or _LEGACY_PARTIAL.match(name))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_partials(folder: str | os.PathLike, *, recursive: bool = False,
                          owned: Callable[[Path], bool] | None = None) -> int:
    """Delete the temporary files in `folder` left by runs that no longer exist; returns how many.

    Files of live processes (another run writing there now) are left alone, and so is
    anything that merely looks like an older version's temporary. `owned`, given the file a
    temporary stands for, limits the cleaning to files this process writes: a process on
    another machine sharing the folder has a PID we cannot check. Errors are ignored:
    this is housekeeping, not a reason to fail a run.
    """
    root = Path(folder)
    if not root.is_dir():
        return 0
    removed = 0
    candidates = root.rglob(f".*{PARTIAL_MARKER}*") if recursive else root.glob(f".*{PARTIAL_MARKER}*")
    for path in candidates:
        match = _PARTIAL.match(path.name)
        if match is None or int(match.group("pid")) == os.getpid() or _process_alive(int(match.group("pid"))):
            continue
        if owned is not None and not owned(path.with_name(match.group("name"))):
            continue
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed += 1
    return removed


def partial_path(target: Path, suffix: str = ".tmp") -> Path:
    """A fresh temporary name beside `target`, ending in `suffix`."""
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{PARTIAL_MARKER}{suffix}")


def check_folder_writable(folder: str | os.PathLike) -> None:
    """Raise OutputError, with the OS's reason, unless a file can be created and written in `folder`.

    Run before long work, so a read-only folder or a full disk is reported before, not after it.
    """
    probe = partial_path(Path(folder) / "write-probe")
    try:
        with open(probe, "xb") as file:
            file.write(b"\0")
            file.flush()
            os.fsync(file.fileno())
    except OSError as error:
        raise OutputError(f"cannot write into {folder}: {error.strerror or error}", errno=error.errno) from error
    finally:
        with contextlib.suppress(OSError):
            os.remove(probe)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a fresh temporary path beside `path`; rename it over `path` if the block succeeds.

    `suffix` ends the temporary name (give the real extension when a writer picks the
    format from it). The temporary file is removed whatever happens, Ctrl-C and SIGTERM
    included. Raises OutputError when the folder is missing or the file cannot be
    written or renamed; its message carries the OS's reason ("Permission denied").
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {target}: folder {target.parent} does not exist")
    temporary = partial_path(target, suffix)
    try:
        yield temporary
        os.replace(temporary, target)
    except OutputError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}", errno=error.errno) from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
