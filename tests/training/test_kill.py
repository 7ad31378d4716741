"""A training process killed at arbitrary moments (checkpointing every step) always
leaves a loadable checkpoint behind."""

import os
import signal
import subprocess
import sys
import time

import pytest
from training_helpers import tiny_overrides

from pixelcnn.training import load


@pytest.mark.slow
def test_sigkill_during_training_leaves_a_loadable_checkpoint(tmp_path, tiny_npz):
    run = tmp_path / "run"
    cli = [sys.executable, "-m", "pixelcnn.cli.main", "-q", "train"]
    first = [*cli, "--out", str(run), *tiny_overrides(tiny_npz, "train.max_steps=100000", "train.checkpoint_every=1",
                                                        "train.keep_checkpoints=1")]
    resume = [*cli, "--resume", str(run), "train.max_steps=100000"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    steps = []
    for k, delay in enumerate((3.0, 3.35, 3.7, 4.05, 4.4)):
        proc = subprocess.Popen(first if k == 0 else resume, env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert (run / "latest").exists(), "no checkpoint after several seconds of training"
        load(run)  # must never fail, whatever the moment of the kill
        steps.append(int((run / "latest").read_text().strip().split("-")[-1]))
    assert steps == sorted(steps) and steps[-1] > steps[0]  # every resume went on from the last checkpoint
