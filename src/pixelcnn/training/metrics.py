"""The metrics log of a run: ``metrics.jsonl`` (one JSON object a line), and
TensorBoard event files when the ``tensorboard`` package is installed.

Each record has ``kind`` (train, valid, test), ``time``, ``step`` and
``epoch``: the epoch the record's step belongs to, counted from 1 (0 before
the first step), the same for every kind.

A resumed run first drops the records written after its checkpoint's step (a
run killed between checkpoints wrote some that it will write again) and the
final test record of that step (written again when the run finishes), so
resuming never duplicates a record. Records are appended, never rewritten in
place: a write that fails (a full disk) leaves every earlier record intact.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from pixelcnn import atomic


class Metrics:
    def __init__(self, run_dir: Path, enabled: bool = True, resume_step: int | None = None):
        self.enabled = enabled
        self.board = None
        if not enabled:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / "metrics.jsonl"
        if resume_step is not None and self.path.is_file():
            _truncate(self.path, resume_step)
        try:
            from torch.utils.tensorboard import SummaryWriter

            purge = None if resume_step is None else resume_step + 1
            self.board = SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge)
        except ImportError:  # tensorboard is optional
            self.board = None

    def write(self, kind: str, **values) -> None:
        """Append ``{"kind": kind, "time": ..., **values}``; numbers go to TensorBoard too."""
        if not self.enabled:
            return
        record = {"kind": kind, "time": round(time.time(), 3), **values}
        atomic.append_text(self.path, json.dumps(record) + "\n")
        if self.board is not None and "step" in values:
            for key, value in values.items():
                if isinstance(value, (int, float)) and key not in ("step", "epoch"):
                    self.board.add_scalar(f"{kind}/{key}", value, values["step"])

    def close(self) -> None:
        if self.board is not None:
            self.board.close()
            self.board = None


def read_records(path: Path) -> list[dict]:
    """The records of a metrics.jsonl; a torn last line (a kill mid-write) is skipped."""
    return read_log(path)[0]


def read_log(path: str | Path) -> tuple[list[dict], int]:
    """The records of a metrics.jsonl, and how many non-empty lines could not be read (a
    torn last line of a run still writing, or damage). A missing file has none."""
    path = Path(path)
    if not path.is_file():
        return [], 0
    records, skipped = [], 0
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            skipped += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            skipped += 1
    return records, skipped


def _truncate(path: Path, step: int) -> None:
    """Keep the records up to ``step`` (except its final test score): the file is replaced
    atomically, flushed to disk first, and only when a record goes."""
    def keep(r: dict) -> bool:
        s = r.get("step", 0)
        return isinstance(s, int) and (s < step or (s == step and r.get("kind") != "test"))

    records = read_records(path)
    kept = [r for r in records if keep(r)]
    data = path.read_bytes()
    if len(kept) < len(records) or (data and not data.endswith(b"\n")):  # or a torn last line
        atomic.atomic_text(path, "".join(json.dumps(r) + "\n" for r in kept), durable=True)
