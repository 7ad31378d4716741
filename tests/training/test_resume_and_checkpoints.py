"""Stop-and-resume equals straight-through; checkpoints survive crashes; bad ones say so."""

import json
import shutil

import pytest
import torch
from training_helpers import tiny_overrides
from safetensors.torch import load_file

import pixelcnn
from pixelcnn.config import resolve
from pixelcnn.errors import CheckpointError
from pixelcnn.training import Trainer, TrainingError, load
from pixelcnn.training import checkpoint as ckpt


def train(run_dir, npz, *extra, resume=False):
    cfg = resolve(None, tiny_overrides(npz, *extra))
    trainer = Trainer(cfg, run_dir, resume=resume)
    return trainer, trainer.run()


def saved(run_dir):
    path = ckpt.resolve_checkpoint(run_dir)
    state = ckpt.read_state(path)
    return load_file(path / "model.safetensors"), load_file(path / "ema.safetensors"), state


@pytest.mark.parametrize("binarize", ["none", "dynamic"])
def test_stop_and_resume_equals_straight_through(tmp_path, tiny_npz, binarize):
    extra = ["train.lr=3e-3", "train.warmup_steps=3"]
    if binarize != "none":
        extra += ["data.levels=2", f"data.binarize={binarize}"]
    train(tmp_path / "straight", tiny_npz, "train.max_steps=8", *extra)  # 3 batches an epoch: crosses 2 epochs
    train(tmp_path / "split", tiny_npz, "train.max_steps=4", *extra)
    _, summary = train(tmp_path / "split", tiny_npz, "train.max_steps=8", *extra, resume=True)
    assert summary["steps"] == 8
    _, again = train(tmp_path / "split", tiny_npz, "train.max_steps=8", *extra, resume=True)
    assert again["steps"] == 8  # nothing left to do: no extra step
    w1, e1, s1 = saved(tmp_path / "straight")
    w2, e2, s2 = saved(tmp_path / "split")
    assert w1.keys() == w2.keys()
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert all(torch.equal(e1[k], e2[k]) for k in e1)
    assert (s1["step"], s1["epoch"], s1["batch_index"], s1["ema_updates"]) == (8, 2, 2, 8)
    assert (s2["step"], s2["epoch"], s2["batch_index"], s2["ema_updates"]) == (8, 2, 2, 8)
    first = next(iter(s1["optimizer"]["state"].values()))
    second = next(iter(s2["optimizer"]["state"].values()))
    assert torch.equal(first["exp_avg_sq"], second["exp_avg_sq"])
    # and the weights did move away from the start, and EMA differs from them
    start = Trainer(resolve(None, tiny_overrides(tiny_npz, "train.max_steps=8", *extra)), tmp_path / "start").model.state_dict()
    k = next(k for k in w1 if k.endswith("weight"))
    assert not torch.equal(start[k], w1[k]) and not torch.equal(e1[k], w1[k])


def test_a_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, tiny_npz, monkeypatch):
    run = tmp_path / "run"
    trainer, _ = train(run, tiny_npz, "train.max_steps=2")
    before = load(run)
    trainer.step += 1
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1.0)
    calls = {"n": 0}
    real = ckpt._write_tensors

    def dies_on_second_file(path, tensors):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (simulated)")
        real(path, tensors)

    monkeypatch.setattr(ckpt, "_write_tensors", dies_on_second_file)
    from pixelcnn.atomic import WriteError

    with pytest.raises(WriteError, match=r"simulated\); checkpoint step-000000003 was not saved \(the last good "
                                         r"checkpoint, checkpoints/step-000000002, is intact\)"):
        trainer.save()
    after = load(run)
    assert (run / "latest").read_text().strip() == "checkpoints/step-000000002"
    for (k, a), b in zip(before.state_dict().items(), after.state_dict().values()):
        assert torch.equal(a, b), k
    assert not list((run / "checkpoints").glob(".step-*"))  # the half-written directory was removed


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path, tiny_npz):
    run = tmp_path / "run"
    trainer, _ = train(run, tiny_npz, "train.max_steps=2")
    with torch.no_grad():
        next(trainer.model.parameters()).fill_(float("nan"))
    trainer.cfg = resolve(None, tiny_overrides(tiny_npz, "train.max_steps=5"))
    with pytest.raises(TrainingError, match=r"loss became nan at step 3 .*step-000000002, is intact"):
        trainer.run()
    model = load(run)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_checkpoint_loads_without_flags_and_describes_itself(tmp_path, tiny_npz):
    run = tmp_path / "run"
    train(run, tiny_npz, "train.max_steps=2")
    meta = json.loads((run / "config.json").read_text())
    assert meta["format_version"] == ckpt.FORMAT_VERSION and meta["model"]["arch"] == "pixelcnn"
    model = load(run)
    assert model.config.levels == 4 and model.config.image_size == (8, 8) and model.config.hidden == 8
    x = torch.randint(0, 4, (3, 1, 8, 8))
    assert torch.isfinite(model.log_prob(x)).all()
    raw = load(run, weights="raw")
    assert any(not torch.equal(a, b) for a, b in zip(model.parameters(), raw.parameters()))


def test_load_run_returns_the_model_and_what_its_run_was(tmp_path, tiny_npz):
    run = tmp_path / "run"
    train(run, tiny_npz, "train.max_steps=2", "train.seed=7")
    model, info = pixelcnn.load_run(run)
    assert info.checkpoint == ckpt.resolve_checkpoint(run) and info.step == 2 and info.weights == "ema"
    assert info.seed == 7 and info.data.levels == 4 and info.run.model.name == "pixelcnn-seed"
    assert not hasattr(model, "checkpoint_meta")  # run info is returned, not patched onto the model
    same = load(run)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), same.parameters()))
    _, raw = pixelcnn.load_run(run, weights="raw")
    assert raw.weights == "raw"


def test_incompatible_checkpoints_say_so(tmp_path, tiny_npz):
    run = tmp_path / "run"
    train(run, tiny_npz, "train.max_steps=1")
    path = ckpt.resolve_checkpoint(run)
    other = pixelcnn.create_model("gated-pixelcnn", image_size=(8, 8), levels=4, hidden=6, layers=1, head=6)
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(bad / "model.safetensors"))
    with pytest.raises(CheckpointError, match="does not fit this pixelcnn model"):
        load(bad, weights="raw")
    meta = json.loads((bad / "config.json").read_text())
    meta["format_version"] = 99
    (bad / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="format version 99; this pixelcnn reads version 1"):
        load(bad)
    (path / "ema.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load(run)
    with pytest.raises(CheckpointError, match="does not exist"):
        load(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="not a pixelcnn checkpoint"):
        load(tmp_path)
