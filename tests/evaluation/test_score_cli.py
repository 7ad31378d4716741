"""``pixelcnn score`` through the real CLI on a tiny trained run."""

import csv

import numpy as np
import pytest
from PIL import Image

from pixelcnn.cli.main import main


def test_score_writes_rows_maps_and_names_the_bad_file(tiny_run, tmp_path, capsys):
    folder = tmp_path / "pics"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for k in range(4):
        Image.fromarray((rng.random((8, 8)) * 255).astype(np.uint8)).save(folder / f"{k}.png")
    (folder / "bad.png").write_bytes(b"garbage")
    out, maps = tmp_path / "scores.csv", tmp_path / "maps"
    assert main(["score", "--checkpoint", str(tiny_run), "--images", str(folder), "--out", str(out),
                 "--maps", str(maps)]) == 0
    captured = capsys.readouterr()
    assert [line for line in captured.err.splitlines() if "bad.png" in line and line.startswith("skipped:")]
    rows = list(csv.DictReader(out.open()))
    assert [r["image"] for r in rows] == ["0.png", "1.png", "2.png", "3.png"]
    assert sorted(int(r["rank"]) for r in rows) == [1, 2, 3, 4]
    worst = max(rows, key=lambda r: float(r["nats"]))
    assert worst["rank"] == "1"
    for r in rows:
        assert float(r["bits_per_dim"]) * 64 * np.log(2) == pytest.approx(float(r["nats"]), rel=1e-4)
    assert sorted(p.name for p in maps.iterdir()) == ["00000.png", "00001.png", "00002.png", "00003.png", "maps.npz"]
    saved = np.load(maps / "maps.npz")
    assert saved["bits"].shape == (4, 8, 8)
    assert np.allclose(saved["bits"].sum((1, 2)) * np.log(2), [float(r["nats"]) for r in rows], rtol=1e-4)


def test_score_a_data_split_and_refuse_what_cannot_be_scored(tiny_run, tmp_path, capsys):
    npz = tiny_run.parent / "tiny.npz"
    out = tmp_path / "s.csv"
    assert main(["score", "--checkpoint", str(tiny_run), "--images", f"{npz}:test", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 10 and rows[0]["image"] == f"{npz}:test[0]" and rows[0]["label"] != ""
    capsys.readouterr()
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((2, 5, 5), np.uint8))
    assert main(["score", "--checkpoint", str(tiny_run), "--images", str(wrong), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resize" in err[0] and not (tmp_path / "x.csv").exists()
    assert main(["score", "--checkpoint", str(tiny_run), "--images", str(wrong), "--resize",
                 "--out", str(tmp_path / "x.csv")]) == 0
