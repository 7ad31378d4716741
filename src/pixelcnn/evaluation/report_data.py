"""What a run directory says about itself, read safely while the run is still writing it.

``metrics.jsonl`` (see :mod:`pixelcnn.training.metrics`) holds one JSON object
a line, each with ``kind`` and ``time`` (Unix seconds): ``train`` records
(``step``, ``epoch``, ``bpd`` of the last minibatch with the training weights,
``bpd_smooth``, ``lr``, ``images_per_s``) and ``valid`` / ``test`` records
(``step``, ``epoch``, ``split``, ``images``, ``dims``, ``nats_per_image``,
``bits_per_dim``, scored with the evaluation weights). A trainer may be in the
middle of a line, so a line that does not parse is skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pixelcnn.evaluation.report_svg import Series
from pixelcnn.training.metrics import read_log

COLOURS = {"train": "#9ecae1", "train_smooth": "#1f77b4", "valid": "#ff7f0e", "test": "#d62728"}


@dataclass
class RunRecords:
    """The records of ``metrics.jsonl`` by kind, and how many lines could not be read."""

    train: list[dict] = field(default_factory=list)
    valid: list[dict] = field(default_factory=list)
    test: list[dict] = field(default_factory=list)
    skipped: int = 0

    @property
    def start(self) -> float | None:
        """The time of the first record (Unix seconds), or None."""
        times = [r["time"] for r in self.train + self.valid + self.test if "time" in r]
        return min(times) if times else None


def run_records(path: str | Path) -> RunRecords:
    """The records of ``metrics.jsonl`` (read by :func:`pixelcnn.training.metrics.read_log`)
    that the report can draw, by kind; a missing file gives no records."""
    records, skipped = read_log(path)
    out = RunRecords(skipped=skipped)
    for record in records:
        kind = record.get("kind")
        if kind in ("train", "valid", "test") and _numbers(record):
            getattr(out, kind).append(record)
    return out


def _numbers(record: dict) -> bool:
    key = "bpd" if record["kind"] == "train" else "bits_per_dim"
    return all(isinstance(record.get(k), (int, float)) for k in ("step", "time", key))


def curves(records: RunRecords, axis: str) -> list[Series]:
    """Series of bits/dim against ``axis`` ("step" or "minutes" since the first record)."""
    start = records.start or 0.0

    def x(r: dict) -> float:
        return r["step"] if axis == "step" else (r["time"] - start) / 60.0

    train, valid, test = records.train, records.valid, records.test
    out = [Series("train bits/dim (one minibatch, training weights)", [x(r) for r in train], [r["bpd"] for r in train],
                  COLOURS["train"], width=1.0, opacity=0.8)]
    smooth = [r for r in train if isinstance(r.get("bpd_smooth"), (int, float))]
    out.append(Series("train bits/dim, smoothed (EMA of the minibatch values, 0.95)", [x(r) for r in smooth],
                      [r["bpd_smooth"] for r in smooth], COLOURS["train_smooth"], width=2.0))
    split = valid[0]["split"] if valid else ""
    out.append(Series(f"validation bits/dim ({split} split, evaluation weights)", [x(r) for r in valid],
                      [r["bits_per_dim"] for r in valid], COLOURS["valid"], dots=True, width=2.0))
    if test:
        out.append(Series(f"final test bits/dim ({test[-1]['split']} split)", [x(test[-1])], [test[-1]["bits_per_dim"]],
                          COLOURS["test"], dots=True))
    return out


def sample_grids(run_dir: str | Path, folder: str = "samples") -> list[Path]:
    """The run's sample grids: ``samples/epoch-*.png`` in epoch order, then ``final.png``
    (``folder``: another folder of such pictures, a VQ-VAE's ``reconstructions``)."""
    folder = Path(run_dir) / folder
    epochs = sorted(folder.glob("epoch-*.png"))
    final = [folder / "final.png"] if (folder / "final.png").is_file() else []
    return epochs + final
