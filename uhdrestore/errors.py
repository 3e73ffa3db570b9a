"""Every error uhdrestore raises on purpose, each with the exit code the CLI maps it to.

Library code raises these; only `cli.py` turns them into a one-line message and
an exit status. Each also subclasses the stdlib error it resembles, so callers
can catch either (`InputImageError` is a `ValueError`, `OutputError` an `OSError`).

Exit codes (also listed in the README):
    1  a batch finished with failures, or an unexpected error
       MissingExtraError: a feature needs an optional extra that is not installed
    2  usage error (bad option or argument; raised by Click)
    3  InputImageError: missing, unreadable or unsupported image
    4  WeightsError: missing, corrupt or mismatched weights; model unavailable offline
       PublishError: the Hub refused or could not take a pushed model (not logged in, no write access)
    5  DeviceError: out of device memory, or the requested device is unavailable
    6  OutputError: output exists, or cannot be written
  130  interrupted (Ctrl-C)
  143  terminated (SIGTERM)
"""

from __future__ import annotations

__all__ = [
    "UhdRestoreError",
    "InputImageError",
    "WeightsError",
    "DeviceError",
    "DeviceMemoryError",
    "NonFiniteOutputError",
    "OutputError",
    "PublishError",
    "MissingExtraError",
]


class UhdRestoreError(Exception):
    """Base class: a failure we expected and can explain in one line."""

    exit_code: int = 1


class InputImageError(UhdRestoreError, ValueError):
    """The input image is missing, unreadable, corrupt or of an unsupported kind."""

    exit_code = 3


class WeightsError(UhdRestoreError, OSError):
    """Model weights are missing, corrupt, mismatched, or cannot be fetched."""

    exit_code = 4


class NonFiniteOutputError(WeightsError):
    """The network produced NaN or Inf, even in fp32: it overflows on this image."""

    exit_code = 4


class DeviceError(UhdRestoreError, RuntimeError):
    """The requested device or precision cannot be used here."""

    exit_code = 5


class DeviceMemoryError(DeviceError, MemoryError):
    """The device ran out of memory even at the smallest tile size."""

    exit_code = 5


class OutputError(UhdRestoreError, OSError):
    """The output exists (and --overwrite was not given) or cannot be written.

    `errno` is the OS error behind it (`errno.ENOSPC`, `errno.EACCES` ...), when there is one.
    """

    exit_code = 6

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class PublishError(UhdRestoreError, OSError):
    """Pushing a model to the Hub failed: not logged in, no write access, or the Hub unreachable."""

    exit_code = 4


class MissingExtraError(UhdRestoreError, ImportError):
    """A feature needs a package of an optional extra (`pip install 'uhdrestore[train]'`) that is not installed.

    `module` is the missing import, `extra` the extra that brings it.
    """

    exit_code = 1

    def __init__(self, feature: str, *, module: str, extra: str) -> None:
        super().__init__(f"{feature} needs {module}, which is not installed: pip install 'uhdrestore[{extra}]'",
                         name=module)
        self.module, self.extra = module, extra
