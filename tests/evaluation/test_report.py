"""The run report: self-contained, written while a run is half-logged, and drawn by a real browser."""

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelcnn.cli.main import main
from pixelcnn.evaluation.report import write_report
from pixelcnn.evaluation.report_data import run_records
from pixelcnn.evaluation.report_svg import nice_ticks

BROWSERS = ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
CHROMIUM = next((p for p in BROWSERS if p and Path(p).is_file()), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]
# Run in the page after it loads: counts images that failed to decode, finds the charts, lists any fetch.
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = Array.from(document.images);
  const charts = Array.from(document.querySelectorAll("svg.chart")).map(s => {
    const r = s.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; });
  const result = {images: imgs.length, broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length,
                  charts: charts, fetched: performance.getEntriesByType("resource").map(e => e.name)};
  document.body.setAttribute("data-probe", JSON.stringify(result));
  console.log("PROBE " + JSON.stringify(result));
});
</script>"""


def test_report_is_one_self_contained_file(tiny_run, tmp_path):
    out = write_report(tiny_run, tmp_path / "r.html")
    page = out.read_text()
    sources = re.findall(r'<img src="([^"]*)"', page)
    # three sample grids (2 epochs + final), a completion grid, 4 likelihood maps, the receptive field
    assert len(sources) == 9 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 2
    assert "final test" in page
    test = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()][-1]
    assert f"{test['bits_per_dim']:.4f} bits/dim" in page


def test_report_while_training_tolerates_a_half_written_line(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    (run / "metrics.jsonl").write_text("\n".join(lines[:6]) + "\n" + lines[6][: len(lines[6]) // 2])
    records = run_records(run / "metrics.jsonl")
    assert len(records.train) + len(records.valid) == 6 and records.skipped == 1 and not records.test
    page = write_report(run).read_text()
    assert "1 unreadable line(s)" in page and "not scored yet" in page
    for f in ("latest", "checkpoints"):  # before the first checkpoint
        shutil.rmtree(run / f) if (run / f).is_dir() else (run / f).unlink()
    assert "No checkpoint yet" in write_report(run).read_text()


def test_report_cli_writes_and_names_the_page(tiny_run, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["report", str(tiny_run), "--out", str(out)]) == 0
    assert out.is_file() and str(out) in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_nice_ticks_cover_the_range_with_round_steps():
    ticks = nice_ticks(1.07, 2.43)
    assert ticks[0] <= 1.07 and ticks[-1] >= 2.43
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and steps.pop() in (0.2, 0.25, 0.5, 0.1)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium browser installed (Debian: apt-get install chromium); "
                    "the report is not checked in a browser")
def test_report_renders_in_headless_chromium(tiny_run, tmp_path):
    page = write_report(tiny_run, tmp_path / "report.html").read_text()
    probe = tmp_path / "probe.html"  # the report plus a script that reports what the browser loaded
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    shot = tmp_path / "shot.png"
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1400",
                          f"--screenshot={shot}", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert any("PROBE" in line for line in console), f"the page's script did not run:\n{run.stderr[-2000:]}"
    assert [line for line in console if "PROBE" not in line] == []  # no errors or warnings from the page
    found = re.search(r'data-probe="([^"]*)"', run.stdout)
    assert found, "no probe result in the rendered DOM"
    result = json.loads(unescape(found.group(1)))
    assert result["images"] == 9 and result["broken"] == 0 and result["fetched"] == []
    picture = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert picture.std() > 10, "the screenshot is blank"
    assert len(result["charts"]) == 2
    for left, top, width, height in result["charts"]:
        box = picture[int(top) + 30 : int(top + height) - 80, int(left) + 70 : int(left + width) - 20]  # plot area
        orange = (abs(box - [255, 127, 14]).sum(-1) < 60).sum()  # the validation line
        blue = (abs(box - [31, 119, 180]).sum(-1) < 60).sum()  # the smoothed training line
        assert orange > 20 and blue > 20, f"chart at {left, top} holds {orange} orange, {blue} blue pixels"
