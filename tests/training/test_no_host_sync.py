"""The training step's forward reads nothing back from the device: the model's checks of
levels and labels (``int(x.min())`` and the like, each a host synchronisation on a GPU) run
where the data is read, not at every step."""

import pytest
from training_helpers import tiny_overrides

from pixelcnn.config import resolve
from pixelcnn.errors import PixelCNNError
from pixelcnn.models.model import AutoregressiveModel
from pixelcnn.training import Trainer
from pixelcnn.training.loss import Loss


def test_training_steps_skip_the_models_value_checks(tmp_path, tiny_npz, monkeypatch):
    cfg = resolve(None, tiny_overrides(tiny_npz, "data.conditional=true", "train.max_steps=3", "train.sample_count=0"))
    trainer = Trainer(cfg, tmp_path / "run")
    calls = []
    original = Loss.forward

    def counting(self, x, cond=None):
        calls.append(x.shape[0])
        return original(self, x, cond)

    def refuse(*args, **kwargs):
        raise AssertionError("the training step checked values on the host")

    monkeypatch.setattr(Loss, "forward", counting)
    monkeypatch.setattr(AutoregressiveModel, "check_images", refuse)
    monkeypatch.setattr(AutoregressiveModel, "check_cond", refuse)
    with pytest.raises(AssertionError, match="checked values"):  # the probe works: evaluation does check
        trainer.run(stop_on_signals=False)
    assert len(calls) == 3  # every step ran before the end-of-run evaluation reached a check


def test_the_public_api_still_checks(tmp_path):
    import torch

    import pixelcnn

    model = pixelcnn.create_model("pixelcnn-seed", levels=4, image_size=(4, 4), hidden=8, layers=1)
    with pytest.raises(PixelCNNError, match=r"\[0, 4\)"):
        model.log_prob(torch.full((1, 1, 4, 4), 4))
