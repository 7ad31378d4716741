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
    for k, delay in enumerate((0.0, 0.35, 0.7, 1.05, 1.4)):
        proc = subprocess.Popen(first if k == 0 else resume, env=env)
        _wait_for_a_checkpoint_after(run, steps[-1] if steps else -1, proc)  # start-up time varies with load
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        load(run)  # must never fail, whatever the moment of the kill
        steps.append(_latest_step(run))
    assert steps == sorted(steps) and steps[-1] > steps[0]  # every resume went on from the last checkpoint


def _latest_step(run) -> int:
    return int((run / "latest").read_text().strip().split("-")[-1])


def _wait_for_a_checkpoint_after(run, step: int, proc, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not ((run / "latest").exists() and _latest_step(run) > step):
        assert proc.poll() is None and time.monotonic() < deadline, "no new checkpoint: training did not go on"
        time.sleep(0.02)
