"""One writer per run: an OS lock on ``<run>/.lock`` held while a run trains.

The lock is ``fcntl.flock`` on the open lock file, so the kernel releases it
when the holding process ends, however it ends: a lock file left by a killed
process does not block. The file holds the holder's process id and host, which
a second writer names in its error. Where the file system offers no locks
(some network file systems), training goes on with a warning. On systems
without ``fcntl`` (Windows) nothing is locked.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path

from pixelcnn.errors import PixelCNNError

log = logging.getLogger("pixelcnn")

NAME = ".lock"


class RunLockedError(PixelCNNError):
    """Another process is writing this run."""


class RunLock:
    """The lock of one run directory: ``RunLock(run_dir)`` takes it (or raises
    :class:`RunLockedError`); :meth:`release` or the end of the process gives it back."""

    def __init__(self, run_dir: str | Path):
        try:
            import fcntl
        except ImportError:  # no flock on this platform
            self._file = None
            return
        self.path = Path(run_dir) / NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                self._file.seek(0)
                holder = self._file.read(200).strip() or "another process"
                self._file.close()
                self._file = None
                raise RunLockedError(f"{run_dir} is being written by {holder}; wait for that run to end "
                                     f"(or stop it) before training here") from None
            log.warning("cannot lock %s (%s); make sure no other process trains this run", self.path, e.strerror)
            self._file.close()
            self._file = None
            return
        try:  # the lock is ours; say whose it is (a failed note does not undo the lock)
            self._file.seek(0)
            self._file.truncate()
            self._file.write(f"process {os.getpid()} on host {socket.gethostname()}\n")
            self._file.flush()
        except OSError:
            pass

    @property
    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        """Give the lock back (closing the file releases the flock)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self):
        self.release()
