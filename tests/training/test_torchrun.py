"""The real launcher: `torchrun` (as `python -m torch.distributed.run`) starts two CPU processes
running `pixelcnn train`, and a one-process `pixelcnn train --resume` continues the run.
Slow (each process imports torch); the same properties are checked fast in test_distributed.py."""

import json
import subprocess
import sys

import pytest
from ddp_helpers import free_port
from training_helpers import tiny_overrides

from pixelcnn.training import checkpoint as ckpt


@pytest.mark.slow
def test_torchrun_trains_on_two_processes_and_one_process_resumes(tmp_path, tiny_npz):
    run = tmp_path / "run"
    launch = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
              "--master_addr=127.0.0.1", f"--master_port={free_port()}", "-m", "pixelcnn.cli.main"]
    train = ["train", "--out", str(run), *tiny_overrides(tiny_npz, "train.batch_size=8", "train.max_steps=4",
                                                        "train.sample_count=0", "train.device=cpu")]
    done = subprocess.run(launch + train, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("run: ") == 1  # one summary: rank 0's
    assert done.stderr.count("stopped: reached train.max_steps = 4") == 1  # one log
    meta = json.loads((run / "config.json").read_text())
    assert meta["processes"]["global_batch"] == 16 and meta["processes"]["world_size"] == 2
    state = ckpt.read_state(ckpt.resolve_checkpoint(run))
    assert (state["step"], state["world"], len(state["rng"]["ranks"])) == (4, 2, 2)
    resume = [sys.executable, "-m", "pixelcnn.cli.main", "train", "--resume", str(run), "train.max_steps=6",
              "train.batch_size=16"]
    done = subprocess.run(resume, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    state = ckpt.read_state(ckpt.resolve_checkpoint(run))
    assert (state["step"], state["world"], state["global_batch"]) == (6, 1, 16)
