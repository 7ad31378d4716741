"""The Trainer's seams: the optimiser, the loss and the data stream are arguments (today's by
default), and the resume policy lives in the library, so the API and the CLI agree."""

import pytest
import torch
from training_helpers import tiny_overrides

from pixelcnn.cli.main import main
from pixelcnn.config import resolve
from pixelcnn.errors import ConfigError
from pixelcnn.training import Trainer
from pixelcnn.training.loss import Loss


def config(npz, *extra):
    return resolve(None, tiny_overrides(npz, "train.max_steps=3", "train.sample_count=0", *extra))


def test_a_given_optimiser_loss_and_stream_are_the_ones_used(tmp_path, tiny_npz):
    made, losses, batches = [], [], []

    def sgd(parameters, t):
        made.append(torch.optim.SGD(parameters, lr=t.lr))
        return made[-1]

    class CountingLoss(Loss):
        def forward(self, x, cond=None):
            losses.append(x.shape[0])
            return super().forward(x, cond)

    plain = Trainer(config(tiny_npz), tmp_path / "plain")  # only to borrow its stream

    class Stream:
        def __len__(self):
            return len(plain.stream)

        def batches_per_epoch(self, size):
            return plain.stream.batches_per_epoch(size)

        def batch(self, *args, **kwargs):
            batches.append(args)
            return plain.stream.batch(*args, **kwargs)

    plain.release()
    trainer = Trainer(config(tiny_npz), tmp_path / "run", optimizer=sgd, loss=CountingLoss, stream=Stream())
    trainer.run(stop_on_signals=False)
    assert trainer.optimizer is made[0] and isinstance(made[0], torch.optim.SGD)
    assert len(losses) == 3 and len(batches) >= 3
    adam = Trainer(config(tiny_npz), tmp_path / "adam")
    assert isinstance(adam.optimizer, torch.optim.Adam)  # the default
    adam.release()


def test_the_api_and_the_cli_resume_under_one_policy(tmp_path, tiny_npz, capsys):
    Trainer(config(tiny_npz), tmp_path / "run").run(stop_on_signals=False)
    with pytest.raises(ConfigError, match="train.lr cannot change when resuming"):
        Trainer.resume(tmp_path / "run", ["train.lr=0.5"])
    assert main(["train", "--resume", str(tmp_path / "run"), "train.lr=0.5"]) == 2
    assert "train.lr cannot change when resuming" in capsys.readouterr().err
    trainer = Trainer.resume(tmp_path / "run", ["train.max_steps=5"])
    summary = trainer.run(stop_on_signals=False)
    assert summary["steps"] == 5
