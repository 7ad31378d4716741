import numpy as np
import pytest


@pytest.fixture
def tiny_npz(tmp_path):
    """40 train / 10 test 8x8 grayscale images with labels, as an .npz data set."""
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    images = (rng.random((50, 8, 8)) * 255).astype(np.uint8)
    images[:, 2:6, 3:5] = 255  # a bar, so there is something to learn
    labels = rng.integers(0, 3, 50)
    np.savez(path, train=images[:40], test=images[40:], train_labels=labels[:40], test_labels=labels[40:])
    return path
