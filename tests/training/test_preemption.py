"""Training that cannot go wrong quietly: SIGTERM checkpoints and says how to resume, a resume
never duplicates metrics, the time limit counts over resumes, a NaN weight is never saved."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from training_helpers import tiny_overrides

from pixelcnn.cli.main import main
from pixelcnn.config import resolve
from pixelcnn.training import Trainer, TrainingError
from pixelcnn.training import checkpoint as ckpt


def records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def keys(run):
    return [(r["kind"], r["step"]) for r in records(run)]


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_finishes_the_step_checkpoints_and_says_how_to_resume(tmp_path, tiny_npz, capsys, monkeypatch, name):
    """In-process (fast): the signal arrives during step 3, the run stops after it."""
    run = tmp_path / "run"
    number = getattr(signal, name)
    original = Trainer._train_step

    def step_then_signal(self, batch):
        out = original(self, batch)
        if self.step == 2:  # during the third step
            os.kill(os.getpid(), number)
        return out

    monkeypatch.setattr(Trainer, "_train_step", step_then_signal)
    status = main(["train", "--out", str(run), *tiny_overrides(tiny_npz, "train.max_steps=1000", "train.log_every=1")])
    assert status == 128 + number
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"stopped by {name} after step 3" in last and f"continue with: pixelcnn train --resume {run}" in last
    assert ckpt.read_state(ckpt.resolve_checkpoint(run))["step"] == 3
    assert signal.getsignal(number) is not None and "StopSignals" not in repr(signal.getsignal(number))
    monkeypatch.undo()
    assert main(["-q", "train", "--resume", str(run), "train.max_steps=5"]) == 0
    after = keys(run)
    assert len(after) == len(set(after)), "a record was written twice"
    assert [s for kind, s in after if kind == "train"] == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_sigterm_to_a_training_process(tmp_path, tiny_npz):
    """The same through a real process (its exit status, the handler in a fresh interpreter)."""
    run = tmp_path / "run"
    args = ["-m", "pixelcnn.cli.main", "train", "--out", str(run),
            *tiny_overrides(tiny_npz, "train.max_steps=1000000", "train.log_every=1")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, *args], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ((run / "metrics.jsonl").is_file() and (run / "metrics.jsonl").read_text().count("\n") >= 3):
        assert proc.poll() is None and time.monotonic() < deadline, "training did not start"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    last = err.strip().splitlines()[-1]
    assert "stopped by SIGTERM" in last and f"pixelcnn train --resume {run}" in last
    state = ckpt.read_state(ckpt.resolve_checkpoint(run))
    trained = [s for kind, s in keys(run) if kind == "train"]
    assert state["step"] == trained[-1] and trained == list(range(1, state["step"] + 1))
    assert "test" not in [k for k, _ in keys(run)]  # an interrupted run is not finished

    assert main(["-q", "train", "--resume", str(run), f"train.max_steps={state['step'] + 2}"]) == 0
    after = keys(run)
    assert len(after) == len(set(after)), "a record was written twice"
    assert [s for kind, s in after if kind == "train"] == list(range(1, state["step"] + 3))
    assert [k for k in after if k[0] == "test"] == [("test", state["step"] + 2)]


def test_resume_after_a_kill_between_checkpoints_rewrites_no_record(tmp_path, tiny_npz):
    run = tmp_path / "run"
    extra = ["train.max_steps=4", "train.checkpoint_every=2", "train.keep_checkpoints=3", "train.log_every=1"]
    Trainer(resolve(None, tiny_overrides(tiny_npz, *extra)), run).run()
    # a kill after step 4 but before its checkpoint: the run's newest checkpoint is step 2
    (run / "latest").write_text("checkpoints/step-000000002\n")
    Trainer(resolve(None, tiny_overrides(tiny_npz, *extra)), run, resume=True).run()
    got = keys(run)
    assert got == [("train", 1), ("train", 2), ("train", 3), ("valid", 3), ("train", 4), ("test", 4)]


def test_epochs_count_from_one_in_every_kind_of_record(tmp_path, tiny_npz):
    run = tmp_path / "run"
    Trainer(resolve(None, tiny_overrides(tiny_npz, "train.epochs=2", "train.log_every=1",
                                         "train.sample_every_epoch=false")), run).run()
    per_epoch = {1: [1, 2, 3], 2: [4, 5, 6]}  # 40 images in batches of 16
    for r in records(run):
        if r["kind"] == "train":
            assert r["step"] in per_epoch[r["epoch"]]
        else:  # valid after each epoch, test at the end: the epoch of their step
            assert r["step"] in per_epoch[r["epoch"]] and r["step"] == max(per_epoch[r["epoch"]])


def test_max_minutes_counts_training_time_over_resumes(tmp_path, tiny_npz):
    run = tmp_path / "run"
    extra = ["train.max_steps=1000000", "train.max_minutes=0.002"]  # 0.12 s
    first = Trainer(resolve(None, tiny_overrides(tiny_npz, *extra)), run).run()
    assert first["stopped"].startswith("reached train.max_minutes") and first["steps"] > 0
    again = Trainer(resolve(None, tiny_overrides(tiny_npz, *extra)), run, resume=True).run()
    assert again["steps"] == first["steps"]  # the time was used up already: no step more
    assert ckpt.read_state(ckpt.resolve_checkpoint(run))["train_seconds"] >= 0.12


def test_a_non_finite_weight_is_never_checkpointed(tmp_path, tiny_npz):
    run = tmp_path / "run"
    cfg = resolve(None, tiny_overrides(tiny_npz, "train.max_steps=2"))
    trainer = Trainer(cfg, run)
    trainer.run()
    before = ckpt.resolve_checkpoint(run)
    with torch.no_grad():
        next(trainer.model.parameters())[0].fill_(float("inf"))
    with pytest.raises(TrainingError, match="became non-finite.*step-000000002, is intact"):
        trainer.save()
    assert ckpt.resolve_checkpoint(run) == before


def test_a_non_finite_gradient_stops_before_the_weights_change(tmp_path, tiny_npz):
    run = tmp_path / "run"
    trainer = Trainer(resolve(None, tiny_overrides(tiny_npz, "train.max_steps=1", "train.grad_clip=0")), run)
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    hook = next(trainer.model.parameters()).register_hook(lambda g: torch.full_like(g, float("nan")))
    with pytest.raises(TrainingError, match="gradient norm became nan at step 1"):
        trainer.run()
    hook.remove()
    assert all(torch.equal(weights[k], v) for k, v in trainer.model.state_dict().items())
    assert not (run / "latest").exists()


def test_quiet_hides_progress_and_a_pipe_gets_no_carriage_returns(tmp_path, tiny_npz, capsys):
    common = tiny_overrides(tiny_npz, "train.max_steps=2", "train.progress=true")
    assert main(["train", "--out", str(tmp_path / "a"), *common]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "nan" not in err and "stopped" in err
    assert main(["-q", "train", "--out", str(tmp_path / "b"), *common]) == 0
    assert capsys.readouterr().err == ""


def test_progress_lines_away_from_a_terminal_give_an_eta(caplog):
    import logging

    from pixelcnn.training.progress import Progress

    with caplog.at_level(logging.INFO, logger="pixelcnn"):
        progress = Progress(total=10, initial=0, every_s=0.0)
        time.sleep(0.01)
        progress.update(5, {"bpd": "1.0000"})
        progress.close()
    assert "step 5/10" in caplog.text and "min left" in caplog.text and "nan" not in caplog.text
