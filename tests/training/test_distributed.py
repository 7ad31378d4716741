"""Two gloo processes on the CPU train like one process at twice the batch, and runs move between
one and two processes at a checkpoint.

The runs are made once for the module (two starts of 2 processes, about 6 s in all):

  one process:    A   batch 16, 6 steps (two epochs of 35 images: 16, 16, 3)
                  C1  batch 16, 2 steps            C2  batch 16, 4 steps
                  E   batch 34, 4 steps (16 + 1 image epochs' tails)
  two processes:  X   batch 8, 6 steps             ~ A   (through `pixelcnn train`)
                  Y   C1 resumed at batch 8 to 6   ~ A   (1 -> 2 processes)
                  Z   batch 8, 4 steps             ~ C2
                  F   batch 17, 4 steps            ~ E   (the 1-image tail leaves rank 1 empty)
                  S   batch 8, SIGTERM to rank 1 alone during step 2
  one process:    Zr  Z resumed at batch 16 to 6   ~ A   (2 -> 1 processes, same global batch)
                  Zs  Z resumed at batch 8 to 7    ~ C2s, C2 resumed at batch 8 to 7
                      (another global batch: both go on from image 16 of epoch 2 in batches of 8)

"~" is equal weights within float tolerance: the processes sum gradients in another order.
"""

import json
import shutil

import pytest
import torch
from ddp_helpers import spawn
from safetensors.torch import load_file
from training_helpers import tiny_overrides

from pixelcnn.config import resolve
from pixelcnn.training import Trainer
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training import distributed
from pixelcnn.training.data import load_split
from pixelcnn.training.metrics import read_records
from pixelcnn.training.runtime import Processes

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or "fork" not in torch.multiprocessing.get_all_start_methods(),
    reason="needs torch.distributed (gloo) and fork")

# fp32 pinned: the runs are compared at fp32 tolerances, and train.precision=auto would pick
# bf16 on CPUs that compute it natively (AVX512-BF16, AMX); tests/training/test_precision.py tests bf16.
EXTRA = ["train.lr=3e-3", "train.warmup_steps=2", "train.sample_count=0", "train.precision=fp32"]


def overrides(npz, batch, steps):
    return tiny_overrides(npz, f"train.batch_size={batch}", f"train.max_steps={steps}", *EXTRA)


def one(run, npz, batch, steps, resume=False):
    return Trainer(resolve(None, overrides(npz, batch, steps)), run, resume=resume).run(stop_on_signals=False)


def copy(src, dst):
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    npz = root / "tiny.npz"
    import numpy as np

    rng = np.random.default_rng(0)  # the tiny data set of conftest.py, made once for the module
    images = (rng.random((50, 8, 8)) * 255).astype(np.uint8)
    images[:, 2:6, 3:5] = 255
    labels = rng.integers(0, 3, 50)
    np.savez(npz, train=images[:40], test=images[40:], train_labels=labels[:40], test_labels=labels[40:])
    r = {k: root / k for k in ("A", "C1", "C2", "E", "X", "Y", "Z", "F")}
    one(r["A"], npz, 16, 6)
    one(r["C1"], npz, 16, 2)
    one(r["C2"], npz, 16, 4)
    one(r["E"], npz, 34, 4)
    copy(r["C1"], r["Y"])
    cfg = resolve(None, overrides(npz, 16, 1))
    test = load_split(cfg.data, "test")
    torch.save({"levels": test.levels[:7].long()}, root / "levels.pt")  # 7 images: shards of 3 and 4
    out = root / "out"
    out.mkdir()
    spawn(2, [{"cli": ["train", "--out", str(r["X"]), "--json", *overrides(npz, 8, 6)], "out": "X"}], out)
    spawn(2, [
        {"run": str(r["Y"]), "overrides": overrides(npz, 8, 6), "resume": True},
        {"run": str(r["Z"]), "overrides": overrides(npz, 8, 4)},
        {"run": str(r["F"]), "overrides": overrides(npz, 17, 4)},
        {"run": str(root / "S"), "overrides": overrides(npz, 8, 100), "sigterm": [1, 2]},
        {"evaluate": str(r["A"]), "levels": str(root / "levels.pt"), "out": "eval"},
    ], out)
    r["Zr"], r["Zs"], r["C2s"] = copy(r["Z"], root / "Zr"), copy(r["Z"], root / "Zs"), copy(r["C2"], root / "C2s")
    zr = Trainer(resolve(None, overrides(npz, 16, 6)), r["Zr"], resume=True)
    r["Zr_rng_at_start"] = torch.get_rng_state()
    zr.run(stop_on_signals=False)
    one(r["Zs"], npz, 8, 7, resume=True)
    one(r["C2s"], npz, 8, 7, resume=True)
    r["out"], r["root"], r["npz"] = out, root, npz
    return r


def weights(run):
    path = ckpt.resolve_checkpoint(run)
    return load_file(path / "model.safetensors"), load_file(path / "ema.safetensors"), ckpt.read_state(path)


def assert_same_run(a, b, step):
    wa, ea, sa = weights(a)
    wb, eb, sb = weights(b)
    assert sa["step"] == sb["step"] == step
    assert (sa["epoch"], sa["position"]) == (sb["epoch"], sb["position"])
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], rtol=1e-4, atol=1e-5, msg=lambda m: f"{k}: {m}")
        torch.testing.assert_close(eb[k], ea[k], rtol=1e-4, atol=1e-5, msg=lambda m: f"EMA {k}: {m}")


def test_two_processes_at_batch_b_train_like_one_process_at_batch_2b(runs):
    assert_same_run(runs["A"], runs["X"], 6)
    start = weights(runs["C1"])[0]  # and the weights did move (the comparison can fail)
    assert any(not torch.allclose(start[k], v, atol=1e-3) for k, v in weights(runs["X"])[0].items())


def test_an_empty_share_in_a_short_last_batch_weighs_nothing(runs):
    assert_same_run(runs["E"], runs["F"], 4)  # global batches 34, 1, 34, 1: rank 1 has no image at steps 2, 4


def test_a_run_checkpointed_with_one_process_resumes_in_two(runs):
    assert_same_run(runs["A"], runs["Y"], 6)


def test_a_run_checkpointed_with_two_processes_resumes_in_one(runs):
    assert_same_run(runs["A"], runs["Zr"], 6)


def test_resuming_with_another_global_batch_goes_on_from_the_same_image(runs):
    assert_same_run(runs["C2s"], runs["Zs"], 7)
    _, _, state = weights(runs["Zs"])
    assert (state["epoch"], state["position"], state["global_batch"], state["world"]) == (1, 16 + 8 + 8 + 3, 8, 1)


def test_a_signal_to_one_process_stops_all_after_the_same_step(runs):
    summaries = [json.loads((runs["out"] / f"S-rank{r}.json").read_text())["summary"] for r in range(2)]
    for s in summaries:  # rank 0 got no signal, yet stops with rank 1 (else rank 1 would wait for it forever)
        assert (s["steps"], s["interrupted"]) == (2, "SIGTERM")
    state = ckpt.read_state(ckpt.resolve_checkpoint(runs["root"] / "S"))
    assert (state["step"], state["position"]) == (2, 32)


def test_every_process_random_state_is_saved_and_each_restores_its_own(runs):
    z = ckpt.read_state(ckpt.resolve_checkpoint(runs["Z"]))
    ranks = z["rng"]["ranks"]
    assert len(ranks) == 2 and not torch.equal(ranks[0]["torch"], ranks[1]["torch"])
    assert torch.equal(runs["Zr_rng_at_start"], ranks[0]["torch"])  # 2 -> 1: rank 0 takes its own back
    y1 = json.loads((runs["out"] / "Y-rank1.json").read_text())
    torch.manual_seed(0)
    distributed.seed_process(0, 1, 2)  # 1 -> 2: rank 1 had no state; it is derived from (seed, rank, step)
    assert y1["rng_at_start"] == torch.get_rng_state().tolist()
    y0 = json.loads((runs["out"] / "Y-rank0.json").read_text())
    saved = ckpt.read_state(ckpt.resolve_checkpoint(runs["C1"]))["rng"]["ranks"][0]["torch"]
    assert y0["rng_at_start"] == saved.tolist()


def test_evaluation_split_across_two_processes_equals_one_process(runs):
    from pixelcnn.evaluation import evaluate

    model = ckpt.load(runs["A"], weights="raw")
    levels = torch.load(runs["root"] / "levels.pt")["levels"]
    whole = evaluate(model, levels, batch_size=3)
    parts = [json.loads((runs["out"] / f"eval-rank{r}.json").read_text()) for r in range(2)]
    assert [p["shard"] for p in parts] == [[0, 3], [3, 7]]
    for p in parts:
        assert p["score"]["images"] == 7
        assert p["score"]["nats_per_image"] == pytest.approx(whole.nats_per_image, rel=1e-6)
        assert p["score"]["bits_per_dim"] == pytest.approx(whole.bits_per_dim, rel=1e-6)
    # the training runs' validation (5 images: shards of 2 and 3) matches the one-process run's
    valid = lambda run: [r for r in read_records(run / "metrics.jsonl") if r["kind"] == "valid"]  # noqa: E731
    for a, x in zip(valid(runs["A"]), valid(runs["X"]), strict=True):
        assert (a["images"], a["step"]) == (x["images"], x["step"]) == (5, 3)
        assert x["bits_per_dim"] == pytest.approx(a["bits_per_dim"], rel=1e-5)


def test_the_cli_trains_on_several_processes_and_only_rank_0_speaks(runs):
    first, second = (json.loads((runs["out"] / f"X-rank{r}.json").read_text()) for r in range(2))
    assert first["status"] == second["status"] == 0
    assert json.loads(first["stdout"])["steps"] == 6 and second["stdout"] == ""
    assert first["group_left"] and second["group_left"]  # the run joined the process group and left it


def test_the_run_records_its_world_size_and_global_batch(runs):
    meta = json.loads((runs["X"] / "config.json").read_text())
    assert meta["processes"] == {"world_size": 2, "batch_size_per_process": 8, "global_batch": 16}
    assert meta["run"]["train"]["batch_size"] == 8
    _, _, state = weights(runs["X"])
    assert (state["world"], state["global_batch"]) == (2, 16)
    records = read_records(runs["X"] / "metrics.jsonl")
    assert [r["step"] for r in records if r["kind"] == "train"] == [2, 4, 6]  # one log, written once


def test_processes_come_from_torchruns_environment():
    env = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}
    assert distributed.from_environment(env) == Processes(rank=1, world=2, local_rank=1)
    assert distributed.from_environment({}) == Processes()
    from pixelcnn.errors import ConfigError

    with pytest.raises(ConfigError, match="MASTER_ADDR or MASTER_PORT is not set"):
        distributed.from_environment({"RANK": "0", "WORLD_SIZE": "2"})
    with pytest.raises(ConfigError, match="0 <= RANK < WORLD_SIZE"):
        distributed.from_environment({**env, "RANK": "2"})


def test_world_size_without_the_other_processes_is_one_line_not_a_hang(tmp_path, tiny_npz, monkeypatch, capsys):
    import time

    from ddp_helpers import free_port

    from pixelcnn.cli.main import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    monkeypatch.setenv("PIXELCNN_JOIN_TIMEOUT", "2")
    start = time.monotonic()
    assert main(["-q", "train", "--out", str(tmp_path / "run"), *overrides(tiny_npz, 8, 2)]) == 2
    assert time.monotonic() - start < 60
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "WORLD_SIZE=2 but the other processes did not join" in err, err
    assert not torch.distributed.is_initialized()
