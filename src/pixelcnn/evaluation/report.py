"""A run report: one self-contained HTML page, written from the run directory alone.

The page holds the learning curves (train and validation bits/dim against
steps and against minutes, inline SVG), the sample grids over epochs, a
completion grid, per-pixel likelihood maps of test images, the model's
receptive field, the config, and the final test figures. Every image is a
``data:`` URI and there is no script, so the file opens anywhere offline and
fetches nothing.

It can be written at any time, also while the run trains: it reads
``metrics.jsonl`` line by line (skipping a half-written last line), and the
pictures that need a model use the checkpoint named in ``latest``, which the
trainer replaces atomically. A part that cannot be made (no checkpoint yet,
the data set not on this machine) says why in its place.

Not implemented: per-class views, and charts of the learning rate or speed.
"""

from __future__ import annotations

import base64
import io
import json
import time
from html import escape
from pathlib import Path

from pixelcnn.errors import PixelCNNError
from pixelcnn.evaluation import report_figures as figures
from pixelcnn.evaluation.report_data import curves, run_records, sample_grids
from pixelcnn.evaluation.report_svg import line_chart
from pixelcnn.images import picture_header

STYLE = """
body { font-family: sans-serif; margin: 24px auto; max-width: 1180px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.grids { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
figure { margin: 0; } figcaption { font-size: 12px; color: #555; }
img { image-rendering: pixelated; border: 1px solid #ddd; }
table { border-collapse: collapse; } td, th { padding: 3px 10px; border: 1px solid #ddd; text-align: left; }
pre { background: #f6f6f6; padding: 8px; font-size: 12px; overflow-x: auto; }
.note, .empty { color: #a33; }
"""


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of the run in ``run_dir`` to ``out`` (default ``run_dir/report.html``); return its path."""
    from pixelcnn.atomic import atomic_text
    from pixelcnn.training.checkpoint import read_meta

    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise PixelCNNError(f"{run_dir} is not a run directory (no config.json)")
    meta = _read_config(run_dir)
    records = run_records(run_dir / "metrics.jsonl")
    try:
        checkpoint_meta = read_meta(run_dir)
    except PixelCNNError:  # no checkpoint yet
        checkpoint_meta = None
    if meta.get("model_kind") == "vqvae":  # reconstructions and codebook usage instead of samples and likelihoods
        from pixelcnn.vqvae.report import report_parts

        parts = [f"<h1>pixelcnn run {escape(str(run_dir))}</h1>", *report_parts(run_dir, meta, _figure, _config)]
    else:
        parts = [f"<h1>pixelcnn run {escape(str(run_dir))}</h1>", _summary(run_dir, meta, records),
                 _curves(records), _samples(run_dir), *_model_parts(run_dir, checkpoint_meta), _config(meta)]
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>pixelcnn report: {escape(run_dir.name)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
    path = Path(out) if out is not None else run_dir / "report.html"
    return atomic_text(path, page)


def _read_config(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PixelCNNError(f"{run_dir / 'config.json'} is corrupt: {e}") from None


def _summary(run_dir: Path, meta: dict, records) -> str:
    train, test = records.train, records.test
    rows = [("model", f"{meta.get('preset', '?')} ({meta.get('model', {}).get('arch', '?')})"),
            ("data", f"{meta.get('data', {}).get('name', '?')}, {meta.get('data', {}).get('levels', '?')} levels"),
            ("last step logged", str(max(r["step"] for r in train + records.valid + test))
             if train or test else "none yet"),
            ("report written", time.strftime("%Y-%m-%d %H:%M:%S %Z"))]
    if test:
        t = test[-1]
        rows.append(("final test", f"{t['bits_per_dim']:.4f} bits/dim, {t.get('nats_per_image', float('nan')):.2f} "
                                   f"nats/image over {t.get('images', '?')} images of the {t.get('split', '?')} split "
                                   f"(step {t['step']})"))
    else:
        rows.append(("final test", "not scored yet (the run has not finished)"))
    if records.valid:
        v = records.valid[-1]
        rows.append(("last validation", f"{v['bits_per_dim']:.4f} bits/dim on the {v.get('split', '?')} split "
                                        f"(step {v['step']})"))
    note = (f'<p class="note">{records.skipped} unreadable line(s) of metrics.jsonl skipped '
            "(a line being written, or damage).</p>" if records.skipped else "")
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<h2>Summary</h2><table id="summary">{body}</table>{note}'


def _curves(records) -> str:
    charts = [line_chart(curves(records, "step"), title="bits/dim against training steps", x_label="step",
                         y_label="bits/dim"),
              line_chart(curves(records, "minutes"), title="bits/dim against time", y_label="bits/dim",
                         x_label="minutes since the first record (wall clock)")]
    return '<h2>Learning curves</h2><div class="charts">' + "".join(charts) + "</div>"


def _samples(run_dir: Path) -> str:
    grids = sample_grids(run_dir)
    if not grids:
        return '<h2>Samples</h2><p class="empty">No sample grids yet (written at the end of each epoch).</p>'
    items = "".join(_figure(p.read_bytes(), p.stem, width=2) for p in grids)
    return f'<h2>Samples over epochs</h2><div class="grids">{items}</div>'


def _model_parts(run_dir: Path, checkpoint_meta: dict | None) -> list[str]:
    titles = ["Completions", "Per-pixel likelihood maps", "Receptive field"]
    if checkpoint_meta is None:
        return [f'<h2>{t}</h2><p class="empty">No checkpoint yet.</p>' for t in titles]
    from pixelcnn.training.checkpoint import load

    try:
        model = load(run_dir)
    except PixelCNNError as e:  # e.g. a checkpoint of a model this version cannot build
        return [f'<h2>{t}</h2><p class="note">Not drawn: {escape(str(e))}</p>' for t in titles]
    out = []
    try:
        levels, labels, where = figures.example_images(checkpoint_meta, model.config)
    except PixelCNNError as e:
        levels, problem = None, str(e)
    if levels is None:
        out += [f'<h2>{t}</h2><p class="note">Not drawn: {escape(problem)}</p>' for t in titles[:2]]
    else:
        out.append(_part(titles[0], lambda: _figure(*figures.completion_grid(model, levels, labels), width=1)))
        out.append(_part(titles[1], lambda: _many(*figures.likelihood_maps(model, levels, labels), where)))
    out.append(_part(titles[2], lambda: _figure(*figures.receptive_field_picture(model), width=1)))
    return out


def _part(title: str, make) -> str:
    try:
        body = make()
    except PixelCNNError as e:
        body = f'<p class="note">Not drawn: {escape(str(e))}</p>'
    return f"<h2>{escape(title)}</h2>{body}"


def _many(pngs: list[bytes], caption: str, where: str) -> str:
    items = "".join(_figure(png, "", 1) for png in pngs)
    return f'<p>{escape(caption)} ({escape(where)}).</p><div class="grids">{items}</div>'


def _figure(png: bytes, caption: str, width: int) -> str:
    """An embedded PNG shown ``width`` times its size, with a caption."""
    _, (h, w) = picture_header(io.BytesIO(png))
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return (f'<figure><img src="{uri}" width="{w * width}" height="{h * width}" alt="{escape(caption or "picture")}">'
            f"{cap}</figure>")


def _config(meta: dict) -> str:
    run = json.dumps(meta.get("run", meta), indent=2, sort_keys=True)
    model = json.dumps(meta.get("model", {}), indent=2, sort_keys=True)
    return (f"<h2>Config</h2><p>The run config (config.json):</p><pre>{escape(run)}</pre>"
            f"<p>The model it built:</p><pre>{escape(model)}</pre>")
