"""How a run shows its progress: a bar on a terminal, a log line now and then elsewhere.

A bar rewritten with carriage returns is noise in a log file or a pipe, so
when stderr is not a terminal a plain line (step, loss, speed, time left) is
logged every ``every_s`` seconds instead. Progress is INFO-level output: the
CLI's ``-q`` (logging at WARNING) hides both.
"""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("pixelcnn")


class Progress:
    def __init__(self, total: int | None, initial: int, enabled: bool = True, every_s: float = 30.0):
        self.total, self.initial, self.every_s = total, initial, every_s
        self.bar = None
        self._redirect = None
        self.lines = False
        self.t0 = self.last = time.monotonic()
        if not enabled or not log.isEnabledFor(logging.INFO):
            return
        self._redirect = None
        if sys.stderr.isatty():
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self.bar = tqdm(total=total, initial=initial, desc="training", unit="step", dynamic_ncols=True,
                            mininterval=1.0, file=sys.stderr)
            self._redirect = logging_redirect_tqdm()  # log lines (epoch scores) above the bar, not through it
            self._redirect.__enter__()
        else:
            self.lines = True

    def update(self, step: int, post: dict) -> None:
        """One step done; ``post`` holds already formatted figures (loss, images/s, ...)."""
        if self.bar is not None:
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)
        elif self.lines and time.monotonic() - self.last >= self.every_s:
            self.last = now = time.monotonic()
            rate = (step - self.initial) / max(now - self.t0, 1e-9)
            where = f"step {step}/{self.total}" if self.total else f"step {step}"
            eta = f", about {(self.total - step) / rate / 60:.1f} min left" if self.total and rate > 0 else ""
            figures = ", ".join(f"{k} {v}" for k, v in post.items())
            log.info("%s: %s, %.2f steps/s%s", where, figures, rate, eta)

    def close(self) -> None:
        if self._redirect is not None:
            self._redirect.__exit__(None, None, None)
            self._redirect = None
        if self.bar is not None:
            self.bar.close()
            self.bar = None
