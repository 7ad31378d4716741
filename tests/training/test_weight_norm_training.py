"""A fresh run initialises weight normalisation from its first training images; a resumed run
never does (it would overwrite nothing visible, since the checkpoint's weights are loaded after,
so the test counts the initialisations instead of comparing weights alone)."""

import torch
from training_helpers import tiny_overrides

from pixelcnn.config import resolve
from pixelcnn.nn.weight_norm import initialize_from_data, weight_normed_layers
from pixelcnn.training import Trainer
from pixelcnn.training import trainer as trainer_module


def test_a_fresh_run_initialises_from_data_and_resume_does_not(tmp_path, tiny_npz, monkeypatch):
    calls = []

    def counted(model, levels, labels=None):
        calls.append(levels.clone())
        return initialize_from_data(model, levels, labels)

    monkeypatch.setattr(trainer_module, "initialize_from_data", counted)
    overrides = tiny_overrides(tiny_npz, "model.norm=weight", "train.max_steps=2", "train.sample_count=0")
    trainer = Trainer(resolve(None, overrides), tmp_path / "run")
    assert len(calls) == 1
    first, _ = trainer._first_images()
    assert torch.equal(calls[0], first.to(calls[0].device))  # from the run's own first training images
    layers = weight_normed_layers(trainer.model)
    gains = [layer.weight_norm.gain for layer in layers]
    assert gains and any(not torch.allclose(g, torch.ones_like(g)) for g in gains)
    trainer.run(stop_on_signals=False)
    saved = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    again = Trainer(resolve(None, overrides), tmp_path / "run", resume=True)
    assert len(calls) == 1  # a resumed run is not initialised again
    assert all(torch.equal(saved[k], v) for k, v in again.model.state_dict().items())
    again.release()
