"""Where the time of one training step of the main job goes, as JSON.

The main job is ``pixelcnn train --config mnist5k`` (src/pixelcnn/configs/mnist5k.yaml:
today ``pixelcnn-pp`` with the categorical output, batch 32, 1x28x28, 256
levels). This script builds that run's trainer (through the real config and
the real :class:`~pixelcnn.training.Trainer`, on the shipped mnist5k digits),
warms it up, then runs ``--steps`` training steps under ``torch.profiler``
and splits each step's CPU time two ways:

- by phase (wall time of ``record_function`` ranges): forward and loss,
  backward, gradient clipping, optimiser, EMA;
- by operator, over the whole step (self time of each operator, so nothing
  is counted twice): convolution forward, convolution backward, log-softmax
  over the 256 levels with its gather (forward and backward), the optimiser's
  and EMA's arithmetic, other pointwise and layout work.

    taskset -c 1 env OMP_NUM_THREADS=1 python benchmarks/profile_step.py --threads 1 --steps 5

Train-set overrides after the options change the run (``train.compile=true``).
The figures depend on the CPU, the thread count and what else runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from machine import describe
from pixelcnn.config import resolve
from pixelcnn.likelihoods import categorical
from pixelcnn.training import Trainer

PHASES = ("forward+loss", "backward", "clip_grad_norm", "optimizer", "ema")

# 1x1 convolutions run as batched matrix multiplies (pixelcnn.nn.layers.conv1x1)
MATMULS = ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm")

# the categorical likelihood's autograd function: its backward's exp, multiply and scatter
# belong to the log-softmax, not to "other pointwise"
LIKELIHOOD = categorical._PickedLogSoftmax.__name__


def category(op: str, phase: str, likelihood: bool = False) -> str:
    """The category of operator ``op`` run in ``phase`` (its outermost record_function range);
    ``likelihood``: it runs inside the categorical likelihood's own autograd function."""
    if phase in ("optimizer", "ema", "clip_grad_norm"):
        return phase
    if likelihood:
        return "log-softmax and gather (fwd+bwd)"
    if "convolution_backward" in op or (op in MATMULS and phase == "backward"):
        return "convolution backward (1x1 as bmm included)"
    if any(f in op for f in ("convolution", "conv2d", "mkldnn_conv")) or op in MATMULS:
        return "convolution forward (1x1 as bmm included)"
    if any(f in op for f in ("log_softmax", "gather", "scatter")):
        return "log-softmax and gather (fwd+bwd)"
    return "other pointwise and layout (fwd+bwd)"


def profiled_step(trainer: Trainer, batch) -> None:
    """The trainer's step, split into the phases above (the same operations in the same order)."""
    t, model = trainer.cfg.train, trainer.model
    x = batch.levels.to(trainer.device)
    with record_function("forward+loss"):
        with torch.autocast(trainer.device.type, dtype=trainer.autocast or torch.float32,
                            enabled=trainer.autocast is not None):
            nats = trainer.loss(x, None)
        loss = nats[: batch.real].sum() / (batch.total * model.dims)
    trainer.optimizer.zero_grad(set_to_none=True)
    with record_function("backward"):
        loss.backward()
    with record_function("clip_grad_norm"):
        torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip or float("inf"))
    with record_function("optimizer"):
        trainer.optimizer.step()
    with record_function("ema"):
        if trainer.ema is not None:
            trainer.ema.update(model)


def summarise(prof, steps: int) -> dict:
    phase_ms: dict[str, float] = defaultdict(float)
    op_ms: dict[str, float] = defaultdict(float)
    top: dict[str, float] = defaultdict(float)
    for event in prof.events():
        if event.name in PHASES:
            phase_ms[event.name] += event.cpu_time_total / 1e3
            continue
        parent, likelihood = event, LIKELIHOOD in event.name
        while parent.cpu_parent is not None:
            parent = parent.cpu_parent
            likelihood = likelihood or LIKELIHOOD in parent.name
        phase = parent.name if parent.name in PHASES else "outside"
        op_ms[category(event.name, phase, likelihood)] += event.self_cpu_time_total / 1e3
        top[event.name] += event.self_cpu_time_total / 1e3
    total = sum(phase_ms.values())
    per_step = {k: round(phase_ms[k] / steps, 1) for k in PHASES}
    ops = {k: round(v / steps, 1) for k, v in sorted(op_ms.items(), key=lambda kv: -kv[1])}
    return {
        "ms_per_step": round(total / steps, 1),
        "phases_ms": per_step,
        "phases_fraction": {k: round(phase_ms[k] / total, 3) for k in PHASES},
        "operators_ms": ops,
        "operators_fraction": {k: round(v * steps / total, 3) for k, v in ops.items()},
        "top_operators_ms": {k: round(v / steps, 1) for k, v in sorted(top.items(), key=lambda kv: -kv[1])[:12]},
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5, help="profiled steps (after --warmup)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("overrides", nargs="*", help="run-config overrides, e.g. train.precision=fp32")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = ["train.progress=false", "train.sample_count=0", *args.overrides]
    config = Path(__file__).resolve().parents[1] / "src" / "pixelcnn" / "configs" / "mnist5k.yaml"
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(resolve(str(config), overrides), Path(run_dir))
        bs = trainer.cfg.train.batch_size
        batches = [trainer.stream.batch(0, k * bs, bs) for k in range(args.warmup + args.steps)]
        trainer.loss.train()
        for batch in batches[: args.warmup]:
            profiled_step(trainer, batch)
        start, cpu = time.perf_counter(), time.process_time()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch in batches[args.warmup:]:
                profiled_step(trainer, batch)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        run = trainer.cfg
    out = {
        "benchmark": "profile_step",
        "job": f"mnist5k ({run.model.name} {run.model.overrides}, batch {run.train.batch_size}, "
               f"{run.data.name} at {run.data.levels} levels)",
        "precision": str(trainer.autocast or "fp32"),
        "compile": getattr(run.train, "compile", False),
        "steps": args.steps,
        "wall_s_per_step_profiled": round(wall / args.steps, 3),
        "process_cpu_s_per_step_profiled": round(cpu / args.steps, 3),
        **summarise(prof, args.steps),
        "machine": describe(),
        "note": ("the profiler's times are wall time (inflated where other work shares the core; the fractions "
                 "still hold); phases are record_function ranges, operators their self times"),
    }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
