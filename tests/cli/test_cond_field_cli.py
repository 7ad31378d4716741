"""A bottom prior conditioned on top codes through the real CLI (data.cond_field): the map
encoder's levels and size come from the data, the maps reach the loss and the sample grid,
and the maps matter to the trained model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import pixelcnn
from pixelcnn.cli.main import main

TINY = ["data.kind=codes", "data.field=bottom", "data.cond_field=top", "model.name=gated-pixelcnn",
        "model.hidden=8", "model.layers=1", "model.head=8", "model.likelihood=categorical",
        "train.batch_size=8", "train.epochs=0", "train.max_steps=30", "train.lr=0.01", "train.sample_count=3",
        "train.progress=false", "train.threads=2", "train.eval_batch_size=16"]


def write_pairs(path, n: int = 40):
    """Bottom maps 4x4 that copy their top map 2x2 (each top code fills a 2x2 block): the bottom
    codes are easy given the top, and impossible to guess without it."""
    rng = np.random.default_rng(0)
    top = rng.integers(0, 3, (n, 2, 2)).astype(np.uint8)
    bottom = top.repeat(2, axis=1).repeat(2, axis=2)
    cut = n * 3 // 4
    np.savez(path, top_train=top[:cut], top_test=top[cut:], bottom_train=bottom[:cut], bottom_test=bottom[cut:])
    return path, top, bottom


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cond-field")
    data, top, bottom = write_pairs(root / "codes.npz")
    out = root / "run"
    assert main(["-q", "train", "--data", str(data), "--out", str(out), *TINY, "model.cond_map.dim=6"]) == 0
    return out, top, bottom


def test_the_map_encoder_comes_from_the_data(trained):
    run, _, _ = trained
    meta = json.loads((run / "config.json").read_text())
    assert meta["model"]["cond_map"] == {"name": "codes", "levels": 3, "size": [2, 2], "dim": 6}
    assert (run / "samples" / "final.png").is_file()


def test_the_trained_prior_reads_the_map(trained):
    run, top, bottom = trained
    model = pixelcnn.load(run)
    x = torch.from_numpy(bottom[30:].astype(np.int64))[:, None]
    with torch.no_grad():
        right = model.log_prob(x, {"map": torch.from_numpy(top[30:])})
        wrong = model.log_prob(x, {"map": torch.from_numpy((top[30:] + 1) % 3)})
    assert float(right.mean()) > float(wrong.mean()) + 1.0  # nats per 16 codes


def test_eval_scores_with_the_maps(trained, capsys):
    run, _, _ = trained
    assert main(["eval", "--checkpoint", str(run), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 10 and result["bits_per_dim"] < 1.0  # log2(3) = 1.58 without the map


def test_two_levels_sample_top_then_bottom_given_it(trained, tmp_path, capsys):
    run, _, _ = trained
    data = run.parent / "codes.npz"
    top_run = run.parent / "top"
    top_args = [a for a in TINY if not a.startswith(("data.field", "data.cond_field"))]
    assert main(["-q", "train", "--data", str(data), "--out", str(top_run), *top_args, "data.field=top"]) == 0
    out = tmp_path / "codes.npz"
    assert main(["sample", "--checkpoint", str(top_run), "--then", str(run), "-n", "5", "--temperature", "0",
                 "--out", str(out)]) == 0
    drawn = np.load(out)
    assert drawn["top"].shape == (5, 2, 2) and drawn["bottom"].shape == (5, 4, 4)
    # the bottom prior learnt to copy its top map: its most likely codes are the top ones, enlarged
    assert (drawn["bottom"] == drawn["top"].repeat(2, axis=1).repeat(2, axis=2)).mean() > 0.9
    for extra, message in [(["--out", str(tmp_path / "g.png")], "give --decoder VQRUN"),
                           (["--then", str(top_run), "--out", str(out)], "is not conditioned on a code map")]:
        args = ["sample", "--checkpoint", str(top_run), "--then", str(run), "-n", "2", *extra]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_mismatched_maps_and_options_get_one_line(tmp_path, capsys):
    data, top, bottom = write_pairs(tmp_path / "codes.npz")
    np.savez(tmp_path / "short.npz", top_train=top[:20], top_test=top[30:], bottom_train=bottom[:30],
             bottom_test=bottom[30:])
    cases = [
        ([f"data.name={tmp_path / 'short.npz'}"], "the train split holds 27 images but 18 top maps"),
        ([f"data.name={data}", "model.cond_map.levels=9"], "model.cond_map levels = 9 conflicts with the top maps"),
        ([f"data.name={data}", "data.cond_field=bottom"], "is also data.field"),
    ]
    for extra, message in cases:
        assert main(["-q", "train", "--out", str(tmp_path / "run"), *TINY, *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
