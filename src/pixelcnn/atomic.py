"""Writing a file atomically: readers see the old file or the new one, never half of one.

The content goes to a temporary file beside the target, which is renamed
over it (``os.replace`` is atomic on POSIX and Windows); on any error the
temporary file is removed and the target is untouched. ``durable=True``
also flushes the data to disk before the rename (checkpoints, whose rename
must not outrun their content after a crash).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | Path, write, *, durable: bool = False) -> Path:
    """Call ``write(f)`` on a binary file that becomes ``path`` when it returns."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, _mode())  # mkstemp makes 0600; the file gets what an ordinary open would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_text(path: str | Path, text: str, *, durable: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")), durable=durable)


def _mode() -> int:
    """0o666 less the process's umask: the permissions ``open(path, "w")`` would give."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
