"""A VQ-VAE trained by two gloo processes keeps one codebook: its statistics are summed over the
processes, so without restarts two processes at batch 8 train like one at batch 16; with restarts
(drawn on rank 0) the run goes on to its end and saves from rank 0."""

import pytest
import torch
from ddp_helpers import spawn
from safetensors.torch import load_file

from pixelcnn.config import resolve
from pixelcnn.training import Trainer
from pixelcnn.training import checkpoint as ckpt

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or "fork" not in torch.multiprocessing.get_all_start_methods(),
    reason="needs torch.distributed (gloo) and fork")


def overrides(npz, batch, *extra):
    return [f"data.name={npz}", "model.name=vqvae", "model.hidden=8", "model.res_hidden=4", "model.res_blocks=1",
            "model.code_dim=4", "model.bottom_codes=16", "model.top_codes=8", f"train.batch_size={batch}",
            "train.epochs=0", "train.max_steps=4", "train.sample_count=0", "train.progress=false",
            "train.precision=fp32", "train.threads=1", *extra]


def test_two_processes_train_a_vq_vae_like_one_at_twice_the_batch(tmp_path, tiny_npz):
    no_restarts = "model.restart_below=0"
    Trainer(resolve(None, overrides(tiny_npz, 16, no_restarts)), tmp_path / "one").run(stop_on_signals=False)
    (tmp_path / "out").mkdir()
    spawn(2, [{"run": str(tmp_path / "two"), "overrides": overrides(tiny_npz, 8, no_restarts)},
              {"run": str(tmp_path / "restarts"), "overrides": overrides(tiny_npz, 8)}], tmp_path / "out")
    one, two = (load_file(str(ckpt.resolve_checkpoint(tmp_path / r) / "model.safetensors")) for r in ("one", "two"))
    assert one.keys() == two.keys()
    for key in one:
        assert torch.allclose(one[key], two[key], atol=1e-5), key
    assert ckpt.read_state(ckpt.resolve_checkpoint(tmp_path / "restarts"))["step"] == 4
