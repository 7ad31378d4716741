"""A fresh run initialises weight normalisation from data; a resumed run keeps its weights."""

import torch

from pixelcnn.config import resolve
from pixelcnn.nn.weight_norm import weight_normed_layers
from pixelcnn.training import Trainer
from training_helpers import tiny_overrides


def test_a_fresh_run_initialises_from_data_and_resume_does_not(tmp_path, tiny_npz):
    overrides = tiny_overrides(tiny_npz, "model.norm=weight", "train.max_steps=2")
    trainer = Trainer(resolve(None, overrides), tmp_path / "run")
    gains = [layer.weight_norm.gain for layer in weight_normed_layers(trainer.model)]
    assert gains and any(not torch.allclose(g, torch.ones_like(g)) for g in gains)
    trainer.run()
    saved = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    again = Trainer(resolve(None, tiny_overrides(tiny_npz, "model.norm=weight", "train.max_steps=2")),
                    tmp_path / "run", resume=True)
    assert all(torch.equal(saved[k], v) for k, v in again.model.state_dict().items())
