"""The metrics log of a run: ``metrics.jsonl`` (one JSON object a line), and
TensorBoard event files when the ``tensorboard`` package is installed."""

from __future__ import annotations

import json
import time
from pathlib import Path


class Metrics:
    def __init__(self, run_dir: Path, enabled: bool = True):
        self.enabled = enabled
        self.file = None
        self.board = None
        if not enabled:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        self.file = open(run_dir / "metrics.jsonl", "a")
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.board = SummaryWriter(str(run_dir / "tensorboard"))
        except ImportError:  # tensorboard is optional
            self.board = None

    def write(self, kind: str, **values) -> None:
        """Append ``{"kind": kind, "time": ..., **values}``; numbers go to TensorBoard too."""
        if not self.enabled:
            return
        record = {"kind": kind, "time": round(time.time(), 3), **values}
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        if self.board is not None and "step" in values:
            for key, value in values.items():
                if isinstance(value, (int, float)) and key not in ("step", "epoch"):
                    self.board.add_scalar(f"{kind}/{key}", value, values["step"])

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.board is not None:
            self.board.close()
            self.board = None
