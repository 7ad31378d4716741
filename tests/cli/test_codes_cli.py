"""A prior over integer codes through the real CLI: train -> eval -> sample, K from the data and at 65,536."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pixelcnn.cli.main import main

TINY = ["data.kind=codes", "model.name=pixelcnn-seed", "model.hidden=8", "model.layers=1", "model.kernel=3",
        "model.likelihood=categorical", "train.batch_size=8", "train.epochs=0", "train.max_steps=2",
        "train.sample_count=2", "train.progress=false", "train.threads=2", "train.eval_batch_size=16"]


def write_codes(path, high: int, n: int = 24, size: int = 4, dtype=np.uint16):
    """``n`` maps of ``size x size`` codes in [0, high] (``high`` present), split 3:1 into train and test."""
    rng = np.random.default_rng(0)
    array = rng.integers(0, high + 1, (n, size, size)).astype(dtype)
    array[0, 0, 0] = high
    cut = n * 3 // 4
    np.savez(path, top_train=array[:cut], top_test=array[cut:])
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A categorical prior trained for 2 steps on uint16 codes with K = 1000."""
    root = tmp_path_factory.mktemp("codes")
    data = write_codes(root / "codes.npz", high=999)
    out = root / "run"
    assert main(["-q", "train", "--data", str(data), "--out", str(out), "data.field=top", *TINY]) == 0
    return out


def test_the_model_takes_its_levels_from_the_codes(run):
    meta = json.loads((run / "config.json").read_text())
    assert meta["run"]["data"]["levels"] == 1000  # resolved from the data and saved with the run
    assert meta["model"]["levels"] == 1000 and meta["data"]["kind"] == "codes" and meta["data"]["ordered"] is False
    assert meta["model"]["in_channels"] == 1 and list(meta["model"]["image_size"]) == [4, 4]


def test_eval_and_sample_work_on_codes(run, tmp_path, capsys):
    assert main(["eval", "--checkpoint", str(run), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 6 and result["dims"] == 16
    # two steps from the start: near the uniform log2(1000) = 9.97 bits/dim, and finite
    assert abs(result["bits_per_dim"] - math.log2(1000)) < 1.5
    out = tmp_path / "s.png"
    assert main(["sample", "--checkpoint", str(run), "-n", "3", "--out", str(out)]) == 0
    levels = np.load(tmp_path / "s.npz")["levels"]
    assert levels.dtype == np.int16 and levels.shape == (3, 1, 4, 4)
    from PIL import Image

    for grid in (out, run / "samples" / "final.png"):  # codes are labels: false colour, not grey levels
        assert Image.open(grid).mode == "RGB", grid
    assert 0 <= levels.min() and levels.max() < 1000


def test_65536_levels_train_and_score(tmp_path, capsys):
    """The categorical over K = 65,536 at 2 x 2: logits [B, 65536, 2, 2]."""
    data = write_codes(tmp_path / "wide.npz", high=65_535, n=8, size=2, dtype=np.int32)
    out = tmp_path / "run"
    assert main(["-q", "train", "--data", str(data), "--out", str(out), "data.field=top", *TINY,
                 "train.batch_size=4", "train.max_steps=1", "train.sample_count=0"]) == 0
    capsys.readouterr()
    assert json.loads((out / "config.json").read_text())["model"]["levels"] == 65_536
    assert main(["eval", "--checkpoint", str(out), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 2 and abs(result["bits_per_dim"] - 16.0) < 1.5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["model.levels=16"], "model.levels = 16 conflicts with the data's 1000 levels; levels come from the data"),
        (["data.levels=500"], "code 999 is outside [0, 500) (data.levels = 500)"),
        (["data.levels=70000"], "data.levels must be in [0, 65536]"),
        (["data.field=bottom"], "data.field = bottom names no array"),
        (["data.image_size=[2,2]"], "data.image_size applies to pixels; codes (data.kind = codes) are read as is"),
        (["data.name=mnist5k"], "mnist5k: no such file; data.kind = codes reads a .npy or .npz file of integer codes"),
        (["model.likelihood=logistic-mixture"], "the logistic-mixture likelihood treats levels as ordered values"),
    ],
    ids=["model-levels", "not-covered", "k-above-65536", "no-field", "resize", "image-set", "unordered-mixture"],
)
def test_bad_codes_input_gets_one_line_before_any_work(tmp_path, capsys, extra, message):
    data = write_codes(tmp_path / "codes.npz", high=999)
    capsys.readouterr()
    status = main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "data.field=top", *TINY, *extra])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "run").exists()


def test_ordered_codes_may_use_the_logistic_mixture(tmp_path):
    data = write_codes(tmp_path / "codes.npz", high=9)
    assert main(["-q", "train", "--data", str(data), "--out", str(tmp_path / "run"), "data.field=top", *TINY,
                 "model.likelihood=logistic-mixture", "data.ordered=true", "train.sample_count=0"]) == 0


def test_float_codes_get_one_line(tmp_path, capsys):
    np.save(tmp_path / "f.npy", np.zeros((8, 4, 4), np.float32))
    status = main(["train", "--data", str(tmp_path / "f.npy"), "--out", str(tmp_path / "run"), *TINY])
    err = capsys.readouterr().err
    assert status == 2 and "codes must be integers (data.kind=codes), not floats" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_a_conflicting_model_levels_on_pixels_is_refused_before_any_work(tmp_path, capsys):
    status = main(["train", "--out", str(tmp_path / "run"), "data.levels=256", "model.levels=16"])
    err = capsys.readouterr().err
    assert status == 2 and "model.levels = 16 conflicts with the data's 256 levels" in err
    assert not (tmp_path / "run").exists()


def test_a_codes_run_resumes_with_its_saved_levels(run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    assert main(["-q", "train", "--resume", str(copy), "train.max_steps=3"]) == 0
    assert (copy / "checkpoints" / "step-000000003").is_dir()
    capsys.readouterr()
    assert main(["train", "--resume", str(copy), "--data", "other.npz"]) == 2
    assert "do not give --config, --out or --data" in capsys.readouterr().err
