"""A folder of images of mixed sizes and colours becomes a training set through data.image_size / data.channels."""

import numpy as np
from PIL import Image
from training_helpers import tiny_overrides

from pixelcnn.config import resolve
from pixelcnn.training import Trainer, load


def test_training_on_a_folder_resizes_and_converts(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "pics"
    folder.mkdir()
    for k in range(12):
        h, w = (10 + k % 3, 12 + k % 4)
        Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).save(folder / f"{k:02d}.png")
    cfg = resolve(None, tiny_overrides(folder, "data.image_size=[8, 6]", "data.channels=1", "train.max_steps=2",
                                       "data.valid_split=test"))
    summary = Trainer(cfg, tmp_path / "run").run()
    assert summary["steps"] == 2 and summary["test"]["images"] >= 1
    model = load(tmp_path / "run")
    assert model.config.image_size == (8, 6) and model.config.in_channels == 1
