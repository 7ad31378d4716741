"""Tiny end-to-end runs through the real CLI: train -> eval -> sample -> complete."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixelcnn.cli.main import main

TINY = ["data.levels=4", "model.name=pixelcnn-seed", "model.hidden=8", "model.layers=1", "model.kernel=3",
        "train.batch_size=32", "train.epochs=0", "train.max_steps=3", "train.sample_count=4",
        "train.progress=false", "train.threads=2"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run trained for 3 steps on the embedded mnist5k set."""
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    return out


def test_train_writes_a_complete_run(run):
    assert (run / "config.json").is_file() and (run / "latest").is_file()
    assert (run / "samples" / "final.png").is_file()
    kinds = [json.loads(line)["kind"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert "test" in kinds
    report = (run / "report.html").read_text()  # written by `pixelcnn train` at the end
    assert "<svg" in report and "data:image/png;base64," in report


def test_eval_scores_every_test_image(run, capsys):
    assert main(["eval", "--checkpoint", str(run), "--data", "mnist5k", "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 500 and result["dims"] == 784
    assert 0 < result["bits_per_dim"] < 8.0
    assert result["nats_per_image"] == pytest.approx(result["bits_per_dim"] * 784 * np.log(2))


def test_sample_writes_a_grid_and_the_images(run, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", "--checkpoint", str(run), "-n", "6", "--out", str(out), "--seed", "3"]) == 0
    grid = Image.open(out)
    assert grid.size == (3 * 30 + 2, 2 * 30 + 2)  # 3 x 2 images of 28 px with 2 px gaps
    data = np.load(tmp_path / "grid.npz")
    assert data["levels"].shape == (6, 1, 28, 28) and data["levels"].max() <= 3
    assert data["images"].dtype == np.uint8
    again = tmp_path / "again.png"
    assert main(["sample", "--checkpoint", str(run), "-n", "6", "--out", str(again), "--seed", "3",
                 "--method", "reference"]) == 0
    assert np.array_equal(np.load(tmp_path / "again.npz")["levels"], data["levels"])  # same seed, same images


def test_complete_keeps_the_top_rows(run, tmp_path):
    out = tmp_path / "c.png"
    assert main(["complete", "--checkpoint", str(run), "--data", "mnist5k", "--index", "3", "--keep-rows", "14",
                 "-n", "3", "--out", str(out)]) == 0
    data = np.load(tmp_path / "c.npz")
    assert data["levels"].shape == (3, 1, 28, 28)
    assert np.array_equal(data["levels"][:, :, :14], np.broadcast_to(data["known"][:, :14], (3, 1, 14, 28)))
    digit = tmp_path / "digit.png"
    Image.fromarray((data["known"][0] * 85).astype(np.uint8)).save(digit)
    assert main(["complete", "--checkpoint", str(run), "--image", str(digit), "--keep-rows", "10", "-n", "2",
                 "--out", str(tmp_path / "d.png")]) == 0
    from_file = np.load(tmp_path / "d.npz")
    assert np.array_equal(from_file["known"][:, :10], data["known"][:, :10])


@pytest.mark.parametrize(
    "argv,message",
    [
        (["eval", "--checkpoint", "/nonexistent/run"], "does not exist"),
        (["sample", "--checkpoint", "{run}", "--class", "3", "--out", "{tmp}/x.png"], "not class-conditional"),
        (["complete", "--checkpoint", "{run}", "--data", "mnist5k", "--keep-rows", "40", "--out", "{tmp}/x.png"],
         "--keep-rows must be between 0 and the image height 28"),
        (["complete", "--checkpoint", "{run}", "--image", "{tmp}/none.png", "--keep-rows", "3", "--out", "{tmp}/x.png"],
         "not a readable image"),
        (["eval", "--checkpoint", "{run}", "--data", "cifar10", "--data-dir", "{tmp}"], "cifar10"),
        (["train", "--out", "{run}", "train.max_steps=1"], "already holds a run"),
        (["train", "--resume", "{run}", "model.hidden=64"], "cannot change when resuming"),
        (["train", "--out", "{tmp}/r", "data.name={tmp}/missing-folder"], "missing-folder"),
        (["train", "--out", "{tmp}/r", "train.log_every=0"], "train.log_every"),
    ],
)
def test_bad_input_gets_one_clear_line_and_exit_2(run, tmp_path, capsys, argv, message):
    argv = [a.format(run=run, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


@pytest.mark.parametrize("argv", [
    ["eval", "--checkpoint", "{run}", "--batch-size", "0"],
    ["sample", "--checkpoint", "{run}", "--out", "{tmp}/x.png", "--batch-size", "-1"],
    ["complete", "--checkpoint", "{run}", "--keep-rows", "3", "--out", "{tmp}/x.png", "-n", "0"],
])
def test_counts_below_one_are_refused_by_the_parser(run, tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as exit:
        main([a.format(run=run, tmp=tmp_path) for a in argv])
    assert exit.value.code == 2
    assert "must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_a_conditional_model_is_not_scored_without_labels(tmp_path, capsys):
    cond = tmp_path / "cond"
    assert main(["train", "--out", str(cond), *TINY, "train.max_steps=1", "train.sample_count=0",
                 "data.conditional=true"]) == 0
    unlabelled = tmp_path / "digits.npy"
    np.save(unlabelled, np.zeros((3, 28, 28), dtype=np.uint8))
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(cond), "--data", str(unlabelled), "--split", "all"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "class-conditional" in err[0] and "no labels" in err[0], err


def test_installed_entry_point_runs():
    script = Path(sys.executable).parent / "pixelcnn"  # the console script pip installed beside python
    assert script.is_file(), f"no {script}: is the package installed (pip install -e .)?"
    result = subprocess.run([str(script), "models"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "pixelcnn-seed" in result.stdout and "gated-pixelcnn" in result.stdout
    assert "\nvqvae " in result.stdout  # the VQ-VAE presets too
