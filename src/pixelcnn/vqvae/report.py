"""The parts of a VQ-VAE run's report (:func:`pixelcnn.evaluation.report.write_report` writes the page).

A summary with the final test figures (reconstruction PSNR, codebook usage of
each map), the training loss and the validation figures against steps, the
reconstruction grids over epochs (originals above their reconstructions), and
the config. Like the rest of the report it reads only the run directory and
may be written while the run trains.
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path

from pixelcnn.evaluation.report_data import COLOURS, sample_grids
from pixelcnn.evaluation.report_svg import Series, line_chart
from pixelcnn.training.metrics import read_log
from pixelcnn.vqvae.figures import describe

MAP_COLOURS = {"top": "#2ca02c", "bottom": "#9467bd"}


def report_parts(run_dir: Path, meta: dict, figure, config) -> list[str]:
    """The HTML sections of the report of the VQ-VAE run in ``run_dir`` (``meta``: its config.json);
    ``figure(png, caption, width)`` and ``config(meta)`` are the report's own pieces."""
    records, skipped = read_log(run_dir / "metrics.jsonl")
    by_kind = {kind: [r for r in records if r.get("kind") == kind and _numbers(r, kind)]
               for kind in ("train", "valid", "test")}
    return [_summary(meta, by_kind, skipped), _curves(by_kind), _reconstructions(run_dir, figure), config(meta)]


def _numbers(record: dict, kind: str) -> bool:
    keys = ("step", "loss") if kind == "train" else ("step", "psnr", "mse")
    return all(isinstance(record.get(k), (int, float)) for k in keys)


def _summary(meta: dict, records: dict, skipped: int) -> str:
    steps = [r["step"] for rs in records.values() for r in rs]
    data = meta.get("data", {})
    rows = [("model", f"VQ-VAE ({meta.get('preset', '?')}), maps {', '.join(_maps(meta))}"),
            ("data", str(data.get("name", "?"))),
            ("last step logged", str(max(steps)) if steps else "none yet"),
            ("report written", time.strftime("%Y-%m-%d %H:%M:%S %Z"))]
    for kind, title in (("test", "final test"), ("valid", "last validation")):
        if records[kind]:
            r = records[kind][-1]
            rows.append((title, f"{describe(r)} over {r.get('images', '?')} images of the {r.get('split', '?')} "
                                f"split (step {r['step']})"))
        elif kind == "test":
            rows.append((title, "not scored yet (the run has not finished)"))
    note = (f'<p class="note">{skipped} unreadable line(s) of metrics.jsonl skipped.</p>' if skipped else "")
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<h2>Summary</h2><table id="summary">{body}</table>{note}'


def _maps(meta: dict) -> list[str]:
    model = meta.get("model", {})
    names = ("top", "bottom") if model.get("maps") == 2 else ("bottom",)
    return [f"{name} (stride {model.get(name + '_stride', '?')}, {model.get(name + '_codes', '?')} codes)"
            for name in names]


def _curves(records: dict) -> str:
    train, valid = records["train"], records["valid"]
    loss = [Series("training loss (one minibatch)", [r["step"] for r in train], [r["loss"] for r in train],
                   COLOURS["train"], width=1.0, opacity=0.8)]
    smooth = [r for r in train if isinstance(r.get("loss_smooth"), (int, float))]
    loss.append(Series("training loss, smoothed (EMA 0.95)", [r["step"] for r in smooth],
                       [r["loss_smooth"] for r in smooth], COLOURS["train_smooth"], width=2.0))
    psnr = [Series("validation PSNR (dB)", [r["step"] for r in valid], [r["psnr"] for r in valid],
                   COLOURS["valid"], dots=True, width=2.0)]
    used = [Series(f"{name} codes used (%)", [r["step"] for r in valid if f"{name}_used" in r],
                   [100 * r[f"{name}_used"] for r in valid if f"{name}_used" in r], colour, dots=True, width=2.0)
            for name, colour in MAP_COLOURS.items()]
    charts = [line_chart(loss, title="loss per sub-pixel against training steps", x_label="step", y_label="loss"),
              line_chart(psnr, title="reconstruction PSNR against training steps", x_label="step", y_label="dB"),
              line_chart([s for s in used if s.xs], title="codes used over the validation split", x_label="step",
                         y_label="% of the codebook")]
    return '<h2>Learning curves</h2><div class="charts">' + "".join(charts) + "</div>"


def _reconstructions(run_dir: Path, figure) -> str:
    grids = sample_grids(run_dir, "reconstructions")
    if not grids:
        return '<h2>Reconstructions</h2><p class="empty">No reconstructions yet (written at the end of each epoch).</p>'
    items = "".join(figure(p.read_bytes(), p.stem, 2) for p in grids)
    return ("<h2>Reconstructions over epochs</h2><p>Validation images, each row of originals above its "
            f'reconstructions.</p><div class="grids">{items}</div>')
