"""One writer per run: a second `pixelcnn train` on a run another process trains is refused with
one line naming that process; a lock left by a killed process does not block."""

import socket
import subprocess
import sys

import pytest
from training_helpers import tiny_overrides

from pixelcnn.cli.main import main

HOLD = """
import sys, time
from pixelcnn.training.lock import RunLock
lock = RunLock(sys.argv[1])
print("held", flush=True)
time.sleep(120)
"""

fcntl = pytest.importorskip("fcntl")


def hold(run_dir):
    """Another process that holds the run's lock (as a training process does) until killed."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_is_refused_and_a_killed_holders_lock_does_not_block(tmp_path, tiny_npz, capsys):
    run = tmp_path / "run"
    args = ["train", "--out", str(run), *tiny_overrides(tiny_npz, "train.max_steps=2", "train.sample_count=0")]
    holder = hold(run)
    try:
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"process {holder.pid} on host {socket.gethostname()}" in err and "being written by" in err
        assert sorted(p.name for p in run.iterdir()) == [".lock"]  # nothing else was written
    finally:
        holder.kill()
        holder.wait()
    assert main(args) == 0  # the holder died: its lock file remains, its lock does not
    assert (run / "latest").is_file()
    capsys.readouterr()
    holder = hold(run)  # and resuming is refused the same way
    try:
        assert main(["train", "--resume", str(run), "train.max_steps=4"]) == 2
        assert f"process {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_given_back_when_a_run_ends(tmp_path, tiny_npz):
    from pixelcnn.config import resolve
    from pixelcnn.training import Trainer
    from pixelcnn.training.lock import RunLock

    cfg = resolve(None, tiny_overrides(tiny_npz, "train.max_steps=1", "train.sample_count=0"))
    trainer = Trainer(cfg, tmp_path / "run")
    with pytest.raises(Exception, match="being written by process"):
        RunLock(tmp_path / "run")  # held while the trainer lives (a lock is per open file, even in one process)
    trainer.run(stop_on_signals=False)
    RunLock(tmp_path / "run").release()  # given back at the end of run()
