"""A tiny trained run (8x8 gray images, 4 levels, a few steps), shared by the scoring and report tests."""

import numpy as np
import pytest

from pixelcnn.config import resolve
from pixelcnn.training import Trainer


def make_npz(path, n=40, size=8, seed=0):
    """``n`` random gray images with a bright bar (train) and ``n // 4`` more (test), with labels."""
    rng = np.random.default_rng(seed)
    images = (rng.random((n + n // 4, size, size)) * 255).astype(np.uint8)
    images[:, 2:6, 3:5] = 255
    labels = rng.integers(0, 3, len(images))
    np.savez(path, train=images[:n], test=images[n:], train_labels=labels[:n], test_labels=labels[n:])
    return path


def train_tiny(run_dir, npz, *extra):
    cfg = resolve(None, [f"data.name={npz}", "data.levels=4", "data.valid_split=test", "model.name=pixelcnn-seed",
                         "model.hidden=8", "model.layers=1", "model.kernel=3", "train.batch_size=8", "train.epochs=2",
                         "train.sample_count=4", "train.progress=false", "train.log_every=1", "train.threads=1",
                         *extra])
    Trainer(cfg, run_dir).run()
    return run_dir


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run of two short epochs (10 steps): metrics, sample grids, a checkpoint, a test score."""
    root = tmp_path_factory.mktemp("tiny-run")
    return train_tiny(root / "run", make_npz(root / "tiny.npz"))
