"""A split that does not fit the model (channels, size, levels, labels) is one clear line, from the
library (check_split), the trainer (before the first step), ``pixelcnn eval`` and ``pixelcnn complete``."""

import numpy as np
import pytest
import torch
from training_helpers import tiny_overrides

from pixelcnn.cli.main import main
from pixelcnn.config import resolve
from pixelcnn.errors import DataError
from pixelcnn.models import preset_config
from pixelcnn.training import Trainer
from pixelcnn.training.data import check_split, load_split


def write_npz(path, sizes: dict, labels: bool = False):
    """Random gray images, one split per entry of ``sizes`` (split -> (N, H, W))."""
    rng = np.random.default_rng(0)
    arrays = {name: rng.integers(0, 256, shape).astype(np.uint8) for name, shape in sizes.items()}
    if labels:
        arrays.update({f"{name}_labels": rng.integers(0, 3, shape[0]) for name, shape in sizes.items()})
    np.savez(path, **arrays)
    return path


def data_section(npz, levels=4):
    return resolve(None, [f"data.name={npz}", f"data.levels={levels}"]).data


def test_check_split_gives_the_levels_and_labels_of_a_split_that_fits(tmp_path):
    npz = write_npz(tmp_path / "d.npz", {"test": (5, 8, 8)}, labels=True)
    split = load_split(data_section(npz), "test")
    plain = preset_config("pixelcnn-seed", in_channels=1, image_size=(8, 8), levels=4)
    levels, labels = check_split(plain, split)
    assert levels.shape == (5, 1, 8, 8) and labels is None
    assert torch.equal(levels[:], split.levels[:])
    cond = preset_config("gated-pixelcnn", in_channels=1, image_size=(8, 8), levels=4, num_classes=3)
    levels, labels = check_split(cond, split)
    assert torch.equal(labels, split.labels) and labels.shape == (5,)
    assert check_split(cond, split, labels=False)[1] is None


@pytest.mark.parametrize("config,message", [
    (dict(in_channels=3, image_size=(8, 8), levels=4),
     r"^the test images are 1x8x8 \(C x H x W\) but the model was trained on 3x8x8$"),
    (dict(in_channels=1, image_size=(7, 8), levels=4),
     r"^the test images are 1x8x8 \(C x H x W\) but the model was trained on 1x7x8$"),
    (dict(in_channels=1, image_size=(8, 8), levels=2),
     r"^the test images are read as 4 levels but the model was trained on 2$"),
    (dict(in_channels=1, image_size=(8, 8), levels=4, num_classes=3),
     r"^the model is class-conditional but .*d.npz test has no labels to score it with$"),
])
def test_check_split_refuses_a_split_that_does_not_fit_in_one_line(tmp_path, config, message):
    npz = write_npz(tmp_path / "d.npz", {"test": (5, 8, 8)})
    split = load_split(data_section(npz), "test")
    with pytest.raises(DataError, match=message):
        check_split(preset_config("gated-pixelcnn", **config), split)


def test_the_trainer_refuses_a_test_split_of_another_size_before_the_first_step(tmp_path):
    npz = write_npz(tmp_path / "d.npz", {"train": (20, 8, 8), "test": (5, 10, 10)})
    cfg = resolve(None, tiny_overrides(npz, "data.valid_split=test", "train.max_steps=1"))
    with pytest.raises(DataError, match=r"the test images are 1x10x10 \(C x H x W\) but the model was trained "
                                        r"on 1x8x8"):
        Trainer(cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # refused before training


def test_eval_and_complete_refuse_a_split_of_another_size(tmp_path, tiny_npz, capsys):
    run = tmp_path / "run"
    assert main(["-q", "train", "--out", str(run), *tiny_overrides(tiny_npz, "train.max_steps=1",
                                                                     "train.sample_count=0")]) == 0
    other = write_npz(tmp_path / "big.npz", {"test": (3, 9, 9)})
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run), "--data", str(other), "--split", "test"]) == 2
    complete = ["complete", "--checkpoint", str(run), "--data", str(other), "--split", "test", "--keep-rows", "2",
                "--out", str(tmp_path / "c.png")]
    assert main(complete) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2, lines
    for line in lines:
        assert "the test images are 1x9x9 (C x H x W) but the model was trained on 1x8x8" in line, line
    assert not (tmp_path / "c.png").exists()
