"""Every preset x likelihood trains on two gloo processes exactly as one process at twice the batch.

Tiny versions of each registered network (8 filters, one block, 8x8 images at
4 levels) train 3 steps at batch 4 per process in one start of 2 processes,
and 3 steps at batch 8 in this process; the weights must agree at fp32
tolerances (the processes sum gradients in another order). A network with a
weight no output depends on fails here: DDP stops at step 2 waiting for its
gradient. Dropout is off, since each process draws its own masks.
"""

import dataclasses

import pytest
import torch
from ddp_helpers import spawn
from safetensors.torch import load_file
from training_helpers import tiny_overrides

from pixelcnn.config import resolve
from pixelcnn.models import list_models, preset_config
from pixelcnn.training import Trainer
from pixelcnn.training import checkpoint as ckpt

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or "fork" not in torch.multiprocessing.get_all_start_methods(),
    reason="needs torch.distributed (gloo) and fork")

LIKELIHOODS = ("categorical", "logistic-mixture")
CASES = [(name, likelihood) for name in list_models() for likelihood in LIKELIHOODS]


def model_overrides(name: str, likelihood: str) -> list[str]:
    """A few hundred weights' worth of preset ``name`` with ``likelihood``."""
    fields = {f.name for f in dataclasses.fields(preset_config(name))}
    spec = "{name: logistic-mixture, mixtures: 2}" if likelihood == "logistic-mixture" else likelihood
    out = [f"model.name={name}", f"model.likelihood={spec}"]
    for key, value in (("hidden", 8), ("layers", 1), ("head", 8), ("dropout", 0.0), ("resolutions", 2), ("blocks", 2)):
        if key in fields and (key != "head" or preset_config(name).head):
            out.append(f"model.{key}={value}")
    return out


def overrides(npz, name, likelihood, batch):
    return tiny_overrides(npz, *model_overrides(name, likelihood), f"train.batch_size={batch}", "train.max_steps=3",
                          "train.lr=3e-3", "train.sample_count=0", "train.precision=fp32", "train.log_every=1")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp-registry")
    import numpy as np

    rng = np.random.default_rng(0)
    images = (rng.random((50, 8, 8)) * 255).astype(np.uint8)
    images[:, 2:6, 3:5] = 255
    npz = root / "tiny.npz"
    np.savez(npz, train=images[:40], test=images[40:])
    for name, likelihood in CASES:
        run = root / f"one-{name}-{likelihood}"
        Trainer(resolve(None, overrides(npz, name, likelihood, 8)), run).run(stop_on_signals=False)
    out = root / "out"
    out.mkdir()
    spawn(2, [{"run": str(root / f"two-{name}-{likelihood}"), "overrides": overrides(npz, name, likelihood, 4)}
              for name, likelihood in CASES], out, timeout=300)
    return root


@pytest.mark.parametrize("name,likelihood", CASES)
def test_two_processes_train_like_one_at_twice_the_batch(runs, name, likelihood):
    one = ckpt.resolve_checkpoint(runs / f"one-{name}-{likelihood}")
    two = ckpt.resolve_checkpoint(runs / f"two-{name}-{likelihood}")
    assert ckpt.read_state(one)["step"] == ckpt.read_state(two)["step"] == 3
    assert ckpt.read_state(two)["world"] == 2
    for file in ("model.safetensors", "ema.safetensors"):
        a, b = load_file(one / file), load_file(two / file)
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-5, msg=lambda m: f"{file} {k}: {m}")
