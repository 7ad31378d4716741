"""``train.compile``: a compiled run trains like an eager one, resumes exactly, and saves the plain
module's weights (the same checkpoint keys as an eager run)."""

import pytest
import torch
from safetensors.torch import load_file
from training_helpers import tiny_overrides

from pixelcnn.config import resolve
from pixelcnn.errors import ConfigError
from pixelcnn.training import Trainer
from pixelcnn.training import checkpoint as ckpt
from pixelcnn.training import runtime
from pixelcnn.training.runtime import compile_problem

NO_COMPILER = compile_problem(torch.device("cpu"))


def train(run_dir, npz, *extra, resume=False):
    trainer = Trainer(resolve(None, tiny_overrides(npz, "train.lr=3e-3", *extra)), run_dir, resume=resume)
    return trainer.run()


def weights(run_dir):
    path = ckpt.resolve_checkpoint(run_dir)
    return load_file(path / "model.safetensors"), load_file(path / "ema.safetensors")


@pytest.mark.slow  # compiling takes tens of seconds on one core
@pytest.mark.skipif(NO_COMPILER is not None, reason=f"torch.compile cannot run here: {NO_COMPILER}")
def test_compiled_training_resumes_exactly_and_matches_eager(tmp_path, tiny_npz):
    torch._dynamo.reset()
    steps = "train.max_steps=6"  # 3 batches an epoch: the run crosses an epoch and a checkpoint
    train(tmp_path / "eager", tiny_npz, steps)
    train(tmp_path / "straight", tiny_npz, steps, "train.compile=true")
    train(tmp_path / "split", tiny_npz, "train.max_steps=4", "train.compile=true")
    summary = train(tmp_path / "split", tiny_npz, steps, "train.compile=true", resume=True)
    assert summary["steps"] == 6
    eager, _ = weights(tmp_path / "eager")
    straight, straight_ema = weights(tmp_path / "straight")
    split, split_ema = weights(tmp_path / "split")
    assert straight.keys() == eager.keys()  # the plain module's keys, no "_orig_mod." prefix
    for k in straight:  # compiled resume == compiled straight through, to float rounding
        torch.testing.assert_close(split[k], straight[k], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(split_ema[k], straight_ema[k], rtol=1e-5, atol=1e-6)
    for k in straight:  # compiled == eager up to the reordering of float sums
        torch.testing.assert_close(straight[k], eager[k], rtol=1e-3, atol=1e-4)


def test_compile_without_a_compiler_is_one_clear_error(tmp_path, tiny_npz, monkeypatch):
    monkeypatch.setattr(runtime, "compile_problem", lambda device: "no C++ compiler (test)")
    with pytest.raises(ConfigError, match="train.compile = true cannot run here: no C\\+\\+ compiler"):
        Trainer(resolve(None, tiny_overrides(tiny_npz, "train.max_steps=2", "train.compile=true")), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_compiler_that_fails_is_one_clear_error(tmp_path, tiny_npz, monkeypatch, capsys):
    """What TorchInductor raises when the C++ compiler fails, at the first compiled step."""
    from torch._inductor.exc import CppCompileError

    from pixelcnn.cli.main import main

    class Broken(torch.nn.Module):
        def forward(self, *args):
            raise CppCompileError(["/usr/bin/g++", "-shared", "x.cpp"], "g++: fatal error: killed")

    monkeypatch.setattr(runtime, "compile_problem", lambda device: None)
    monkeypatch.setattr(runtime.torch, "compile", lambda module: Broken())
    args = ["-q", "train", "--out", str(tmp_path / "run"), *tiny_overrides(tiny_npz, "train.max_steps=2",
                                                                            "train.compile=true")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.compile = true failed to compile" in err and "CppCompileError" in err


@pytest.mark.slow  # compiling takes tens of seconds on one core
@pytest.mark.skipif(NO_COMPILER is not None, reason=f"torch.compile cannot run here: {NO_COMPILER}")
def test_a_real_broken_compiler_is_one_clear_error(tmp_path, tiny_npz, monkeypatch, capsys):
    import torch._inductor.config

    from pixelcnn.cli.main import main

    torch._dynamo.reset()
    monkeypatch.setattr(torch._inductor.config.cpp, "cxx", (None, "/bin/false"))
    args = ["-q", "train", "--out", str(tmp_path / "run"), *tiny_overrides(tiny_npz, "train.max_steps=2",
                                                                            "train.compile=true")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.compile = true failed to compile" in err
    torch._dynamo.reset()
