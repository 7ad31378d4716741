"""Runs that move: a run trained on a relative data path works from any directory, and data that
moved is named again with an override (eval --data, train --resume data.name=...)."""

import json
import shutil

from training_helpers import tiny_overrides

from pixelcnn.cli.main import main
from pixelcnn.training import checkpoint as ckpt


def test_a_run_on_a_relative_data_path_works_from_anywhere_and_follows_moved_data(tmp_path, tiny_npz, monkeypatch,
                                                                                capsys):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    shutil.copy(tiny_npz, work / "digits.npz")
    monkeypatch.chdir(work)
    args = tiny_overrides("digits.npz", "train.max_steps=2", "train.sample_count=0")
    assert main(["-q", "train", "--out", "run", *args]) == 0
    saved = json.loads((work / "run" / "config.json").read_text())["run"]["data"]["name"]
    assert saved == str(work / "digits.npz")  # recorded as an absolute path
    monkeypatch.chdir(elsewhere)
    run = str(work / "run")
    capsys.readouterr()
    assert main(["eval", "--checkpoint", run, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["-q", "train", "--resume", run, "train.max_steps=3"]) == 0
    (work / "digits.npz").rename(elsewhere / "moved.npz")  # the data moves
    assert main(["eval", "--checkpoint", run]) == 2
    assert "digits.npz" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", run, "--data", "moved.npz", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == first["images"]
    assert main(["-q", "train", "--resume", run, "train.max_steps=5", "data.name=moved.npz"]) == 0
    meta = ckpt.read_meta(run)
    assert ckpt.read_state(ckpt.resolve_checkpoint(run))["step"] == 5
    assert meta["run"]["data"]["name"] == str(elsewhere / "moved.npz")  # the run now points at the new place
