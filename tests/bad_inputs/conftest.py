"""Two tiny trained runs (plain, and class-conditional without EMA) shared by the bad-input tables."""

import shutil

import numpy as np
import pytest

from bad_helpers import tiny_args

from pixelcnn.cli.main import main


@pytest.fixture(scope="package")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-inputs")
    rng = np.random.default_rng(0)
    images = (rng.random((50, 8, 8)) * 255).astype(np.uint8)
    labels = rng.integers(0, 3, 50)
    npz = root / "tiny.npz"
    np.savez(npz, train=images[:40], test=images[40:], train_labels=labels[:40], test_labels=labels[40:])
    np.save(root / "empty.npy", np.zeros((0, 8, 8), np.uint8))
    np.save(root / "one.npy", np.zeros((1, 8, 8), np.uint8))
    (root / "a-file").write_text("not a directory\n")
    (root / "list.yaml").write_text("- train\n- data\n")
    (root / "scalar.yaml").write_text("just words\n")
    (root / "badsection.yaml").write_text("train: [1, 2]\n")
    assert main(["-q", "train", "--out", str(root / "plain"), *tiny_args(npz)]) == 0
    assert main(["-q", "train", "--out", str(root / "cond"),
                 *tiny_args(npz, "data.conditional=true", "train.ema_decay=0")]) == 0
    return {"root": root, "npz": npz, "plain": root / "plain", "cond": root / "cond"}


@pytest.fixture
def damaged(runs, tmp_path):
    """A copy of the plain run, for a case to damage."""
    copy = tmp_path / "damaged"
    shutil.copytree(runs["plain"], copy)
    return copy
