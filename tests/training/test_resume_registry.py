"""Exact resume for every registered preset x likelihood: a run stopped after 3 steps and
resumed to 6 ends with the same weights, EMA weights and optimiser state, to the bit, as a
run straight to 6 (dropout included: pixelcnn-pp-cifar keeps its rate of 0.5)."""

import dataclasses

import pytest
import torch
from safetensors.torch import load_file
from training_helpers import tiny_overrides

from helpers import PAIRS
from pixelcnn.config import resolve
from pixelcnn.models import preset_config
from pixelcnn.training import Trainer
from pixelcnn.training import checkpoint as ckpt

SMALL = {"hidden": 8, "layers": 1, "head": 8, "resolutions": 2, "blocks": 2}  # where the preset has the field


def overrides(npz, name, likelihood, steps):
    fields = {f.name for f in dataclasses.fields(preset_config(name))}
    small = [f"model.{k}={v}" for k, v in SMALL.items() if k in fields and (k != "head" or preset_config(name).head)]
    spec = "{name: logistic-mixture, mixtures: 2}" if likelihood == "logistic-mixture" else likelihood
    return tiny_overrides(npz, f"model.name={name}", *small, f"model.likelihood={spec}", "train.lr=3e-3",
                          "train.warmup_steps=2", "train.sample_count=0", "train.precision=fp32",
                          "train.batch_size=16", f"train.max_steps={steps}")


def weights(run):
    path = ckpt.resolve_checkpoint(run)
    return load_file(path / "model.safetensors"), load_file(path / "ema.safetensors"), ckpt.read_state(path)


@pytest.mark.parametrize("name,likelihood", PAIRS)
def test_stop_and_resume_equals_straight_through(tmp_path, tiny_npz, name, likelihood):
    Trainer(resolve(None, overrides(tiny_npz, name, likelihood, 6)), tmp_path / "straight").run(stop_on_signals=False)
    Trainer(resolve(None, overrides(tiny_npz, name, likelihood, 3)), tmp_path / "split").run(stop_on_signals=False)
    Trainer(resolve(None, overrides(tiny_npz, name, likelihood, 6)), tmp_path / "split",
            resume=True).run(stop_on_signals=False)
    w1, e1, s1 = weights(tmp_path / "straight")
    w2, e2, s2 = weights(tmp_path / "split")
    assert s1["step"] == s2["step"] == 6
    assert w1.keys() == w2.keys()
    for k in w1:
        assert torch.equal(w1[k], w2[k]), k
        assert torch.equal(e1[k], e2[k]), f"EMA {k}"
    for a, b in zip(s1["optimizer"]["state"].values(), s2["optimizer"]["state"].values()):
        assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])
