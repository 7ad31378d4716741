"""Every file pixelcnn writes goes through here: replaced atomically, or appended to.

:func:`atomic_write` writes to a temporary file beside the target and renames
it over the target (``os.replace`` is atomic on POSIX and Windows): readers
see the old file or the new one, never half of one. ``durable=True`` also
flushes the data to disk before the rename (checkpoints, whose rename must
not outrun their content after a crash, and files replacing records).
:func:`append_text` adds to the end of a log without ever truncating what is
there: a write that fails part-way is cut back to the old end.

A write that fails (a full disk, a file too large, an I/O error) raises
:class:`WriteError`, one line naming the target (never the temporary file);
the target keeps its old content and the temporary file is removed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pixelcnn.errors import PixelCNNError


class WriteError(PixelCNNError):
    """A file could not be written (``errno`` says why); the file it would have replaced or
    extended is unchanged."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


def atomic_write(path: str | Path, write, *, durable: bool = False) -> Path:
    """Call ``write(f)`` on a binary file that becomes ``path`` when it returns."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise write_error(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, file_mode())  # mkstemp makes 0600; the file gets what an ordinary open would
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise write_error(path, e) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_text(path: str | Path, text: str, *, durable: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")), durable=durable)


def append_text(path: str | Path, text: str) -> None:
    """Append ``text`` (UTF-8) to ``path`` (created if missing); on failure the file is cut back
    to its old length, so no half record stays behind, and nothing before it is touched."""
    path = Path(path)
    data = text.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode())
    except OSError as e:
        raise write_error(path, e) from None
    try:
        end = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except OSError as e:
            try:
                os.ftruncate(fd, end)
            except OSError:
                pass  # a reader skips a torn last line
            raise write_error(path, e) from None
    finally:
        os.close(fd)


def write_error(path: Path, error: OSError) -> WriteError:
    reason = error.strerror or str(error) or type(error).__name__
    return WriteError(f"cannot write {path}: {reason}", error.errno)


def file_mode() -> int:
    """0o666 less the process's umask: the permissions ``open(path, "w")`` would give."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """0o777 less the process's umask: the permissions ``mkdir`` would give."""
    return 0o777 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
