"""Write files atomically: to a temporary name in the target folder, then rename over the target.

Every file uhdrestore writes for a user (images, models, plots, checkpoints) goes through
here, so an interrupted run leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a fresh temporary path beside `path`; rename it over `path` if the block succeeds.

    `suffix` ends the temporary name (give the real extension when a writer picks the
    format from it). The temporary file is removed whatever happens. Raises OutputError
    when the folder is missing or the file cannot be written or renamed.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise OutputError(f"cannot write {target}: folder {target.parent} does not exist")
    temporary = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}{suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    except OutputError:
        raise
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
