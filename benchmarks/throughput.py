"""Training and evaluation throughput of the library against plain eager references, in one run.

Rows: ``pixelcnn-seed``, ``main``: the residual ``pixelcnn`` with hidden 96, 8
blocks, kernel 5, head 192 (the main job now trains
``pixelcnn-pp`` with the categorical output; the ``pp`` row times that network
with its default logistic-mixture head), ``gated-pixelcnn`` and ``pixelcnn-pp``, each at 1x28x28 and 3x32x32 with 256
levels (``pixelcnn-seed`` at 3 colours needs a width divisible by 3: hidden
66 there, in both the library and the reference). Each row is timed against
a plain reference of the same architecture (benchmarks/references.py:
straightforward PyTorch, full kernels with the causal masks multiplied into
the weights, symmetric padding, the same widths, depths, normalisation,
output and batch), alternating between the two in rounds so both see the
same machine.

- training images/s: forward, the likelihood's negative log-likelihood,
  backward and an Adam step (the trainer's own EMA and clipping are left out
  of both sides);
- evaluation images/s: the log-likelihood under ``torch.inference_mode`` in
  eval mode;
- GFLOP/s: convolution multiply-adds only, x2 FLOPs each; training counts 3
  times the forward (forward, input gradient, weight gradient). The library
  row counts the open (unmasked) taps of its kernels only, the reference its
  full kernels, so both rows count what each must compute at least;
- the machine's fp32 peak: a 2048 x 2048 matrix multiply timed here at the
  run's thread count, and each row's fraction of it.

Targets: ``pixelcnn-seed`` trains at least 1.7x its reference,
every other row at least 1.3x; ``targets_met`` says whether this run met
them (training rows of the eager library; compiled and channels-last rows are extra),
on the pooled ratio of all rounds. Each check also gives the median and range of the
per-round ratios (``train_ratio_by_round``), which show how far this run's machine moved,
whether every round, none or some met the target, and the ratio split into multiply-adds
saved and speed per multiply-add against the reference (see ``target_check``).

    python benchmarks/throughput.py --seconds 20 --threads 2
    taskset -c 1 python benchmarks/throughput.py --threads 1 --seconds 4 --only main --clock process
    taskset -c 0 python benchmarks/throughput.py --threads 1 --seconds 8 --channels-last --only 1x28x28

``--clock process`` times with the process's CPU time instead of the wall
clock: for development runs on a core shared with other work (the figures
then count only the time this process ran). Figures depend on the CPU, its
thread count and what else runs; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time

import torch

from machine import describe
from pixelcnn.models import build_model, preset_config
from pixelcnn.models.config import likelihood_of
from pixelcnn.nn import MaskedConv2d
from pixelcnn.nn.shifted import Nin, ShiftedConv2d, ShiftedConvTranspose2d
from pixelcnn.training.loss import Loss
from pixelcnn.training.runtime import compiled
from references import PlainConvTranspose, PlainGatedPixelCNN, PlainMaskedConv, PlainPixelCNN, PlainPixelCNNPP

MAIN_JOB = {"hidden": 96, "layers": 8, "kernel": 5, "head": 192}  # the residual network (2h = 96, 8 blocks, 5x5)
NETWORKS = {  # row key -> (preset, overrides)
    "seed": ("pixelcnn-seed", {}),
    "main": ("pixelcnn", MAIN_JOB),
    "gated": ("gated-pixelcnn", {}),
    "pp": ("pixelcnn-pp", {}),
}
SHAPES = {"1x28x28": (1, 28), "3x32x32": (3, 32)}
TARGETS = {"seed": 1.7}
DEFAULT_TARGET = 1.3


def row_config(key: str, colours: int, size: int):
    preset, overrides = NETWORKS[key]
    extra = {"hidden": 66} if key == "seed" and colours == 3 else {}
    return preset, {**overrides, **extra}, preset_config(preset, in_channels=colours, image_size=(size, size),
                                                          levels=256, **overrides, **extra)


def reference_for(config):
    if config.ARCH == "pixelcnn":
        return PlainPixelCNN(config)
    if config.ARCH == "gated":
        return PlainGatedPixelCNN(config)
    return PlainPixelCNNPP(config, likelihood_of(config))


# ------------------------------------------------------------------ counting
def forward_macs(net: torch.nn.Module, run, open_taps: bool) -> int:
    """Convolution multiply-adds of one forward pass ``run()``, counted by hooks on every
    convolution module: open taps only for the library's masked layers when ``open_taps``."""
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, (ShiftedConvTranspose2d, PlainConvTranspose)):
            positions = inputs[0].numel() // inputs[0].shape[1]
            total[0] += positions * module.weight.numel()
            return
        positions = output.numel() // output.shape[1]
        taps = module.mask.sum() if open_taps and isinstance(module, MaskedConv2d) else module.weight.numel()
        total[0] += positions * int(taps)

    kinds = (MaskedConv2d, Nin, ShiftedConv2d, ShiftedConvTranspose2d, PlainMaskedConv, PlainConvTranspose)
    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    return total[0]


def matmul_peak(clock, seconds: float = 1.0, n: int = 2048) -> float:
    """fp32 GFLOP/s of an n x n matrix multiply, best of repeated runs."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best, spent = 0.0, 0.0
    while spent < seconds or best == 0.0:
        start = clock()
        a @ b
        took = clock() - start
        spent += took
        best = max(best, 2 * n**3 / took / 1e9)
    return best


# ------------------------------------------------------------------ timing
class Side:
    """One network of a row (library or reference): a train step and an evaluation pass."""

    def __init__(self, net: torch.nn.Module, nats, x: torch.Tensor):
        self.net, self.nats, self.x = net, nats, x
        self.opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        self.seconds = {"train": 0.0, "eval": 0.0}
        self.images = {"train": 0, "eval": 0}
        self.round_rates = {"train": [], "eval": []}  # images/s of each timed stretch, in order

    def train_step(self) -> None:
        self.net.train()
        loss = self.nats(self.x).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def eval_step(self) -> None:
        self.net.eval()
        with torch.inference_mode():
            self.nats(self.x)

    def time(self, kind: str, seconds: float, clock) -> None:
        step = self.train_step if kind == "train" else self.eval_step
        start, images = clock(), 0
        while True:
            step()
            self.images[kind] += len(self.x)
            images += len(self.x)
            now = clock()
            if now - start >= seconds:
                break
        self.seconds[kind] += now - start
        self.round_rates[kind].append(images / (now - start))

    def rate(self, kind: str) -> float:
        return self.images[kind] / self.seconds[kind]


def paired_ratios(side: Side, ref: Side, kind: str) -> list[float]:
    """The side's images/s over the reference's in each round: the two stretches of a round
    run back to back, so a slow spell of the machine falls on both more often than in the
    pooled ratio."""
    return [round(a / b, 3) for a, b in zip(side.round_rates[kind], ref.round_rates[kind])]


def measure_row(key: str, shape: str, args, clock, peak: float) -> list[dict]:
    colours, size = SHAPES[shape]
    preset, overrides, config = row_config(key, colours, size)
    torch.manual_seed(0)
    x = torch.randint(0, 256, (args.batch, colours, size, size))
    model = build_model(config)
    reference = reference_for(config)
    sides = {"library": Side(model, lambda v: -model.log_prob(v), x),
             "reference": Side(reference, reference.nats, x)}
    if args.compile:  # as train.compile does it: the loss module (the model's log_prob) compiled
        loss = compiled(Loss(model), torch.device("cpu"))
        sides["library+compile"] = Side(model, loss, x)
    if args.channels_last:  # the same network, weights and activations in NHWC (oneDNN's own layout)
        nhwc = copy.deepcopy(model).to(memory_format=torch.channels_last)
        sides["library+channels-last"] = Side(nhwc, lambda v: -nhwc.log_prob(v), x)
    macs = {"library": forward_macs(model, lambda: model(x), open_taps=True) / args.batch,
            "reference": forward_macs(reference, lambda: reference(x), open_taps=False) / args.batch}
    macs["library+compile"] = macs["library+channels-last"] = macs["library"]
    for side in sides.values():  # warm-up (and compilation), not timed
        for _ in range(args.warmup):
            side.train_step()
            side.eval_step()
    share = args.seconds / (2 * args.rounds)
    for _ in range(args.rounds):
        for side in sides.values():
            side.time("train", share, clock)
            side.time("eval", share / 2, clock)
    rows = []
    ref = sides["reference"]
    for name, side in sides.items():
        train, evaluate = side.rate("train"), side.rate("eval")
        gflops_train = 3 * 2 * macs[name] * train / 1e9
        gflops_eval = 2 * macs[name] * evaluate / 1e9
        rows.append({
            "row": f"{key} {shape} {name}", "network": key, "preset": preset, "overrides": overrides,
            "shape": shape, "side": name, "batch": args.batch,
            "parameters": sum(p.numel() for p in side.net.parameters()),
            "forward_gmacs_per_image": round(macs[name] / 1e9, 4),
            "train_images_per_s": round(train, 2), "eval_images_per_s": round(evaluate, 2),
            "train_ratio_to_reference": round(train / ref.rate("train"), 3),
            "train_ratio_by_round": paired_ratios(side, ref, "train"),
            "eval_ratio_to_reference": round(evaluate / ref.rate("eval"), 3),
            "train_gflops": round(gflops_train, 1), "eval_gflops": round(gflops_eval, 1),
            "train_fraction_of_peak": round(gflops_train / peak, 3),
            "eval_fraction_of_peak": round(gflops_eval / peak, 3),
        })
    return rows


def target_check(row: dict, reference: dict) -> dict:
    """The target for a library row, checked on the pooled ratio, with what the rounds
    say and what the target asks of the library's speed per multiply-add.

    ``rounds_verdict``: "met" when every round's paired ratio reaches the target, "missed"
    when none does, "mixed" otherwise (the machine moved more than the margin).
    The ratio is ``multiply_add_ratio`` (the reference's multiply-adds per image over the
    library's open-tap ones) times ``efficiency_relative_to_reference`` (its speed per
    multiply-add over the reference's: the ratio of their fractions of the peak);
    ``efficiency_needed`` is the relative efficiency at which this row would reach its
    target."""
    target = TARGETS.get(row["network"], DEFAULT_TARGET)
    by_round = row["train_ratio_by_round"]
    verdict = ("met" if min(by_round) >= target else "missed" if max(by_round) < target else "mixed")
    macs = reference["forward_gmacs_per_image"] / row["forward_gmacs_per_image"]
    return {"train_ratio": row["train_ratio_to_reference"], "target": target,
            "met": row["train_ratio_to_reference"] >= target,
            "median_of_rounds": round(statistics.median(by_round), 3),
            "rounds_range": [min(by_round), max(by_round)], "rounds_verdict": verdict,
            "multiply_add_ratio": round(macs, 3),
            "efficiency_relative_to_reference": round(row["train_ratio_to_reference"] / macs, 3),
            "efficiency_needed": round(target / macs, 3)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated networks (seed, main, gated, pp) and/or "
                        "shapes (1x28x28, 3x32x32); default: all")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per row, all sides together")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--compile", action="store_true", help="add rows of the library's network under torch.compile")
    parser.add_argument("--channels-last", action="store_true",
                        help="add rows of the library's network in channels-last memory format")
    parser.add_argument("--batch", type=int, default=32, help="images per step, both sides (the main job's batch)")
    parser.add_argument("--rounds", type=int, default=2, help="alternations between the sides of a row")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per side")
    parser.add_argument("--clock", choices=("wall", "process"), default="wall",
                        help="wall clock, or this process's CPU time (for a core shared with other work)")
    args = parser.parse_args(argv)
    for name, value, least in (("--rounds", args.rounds, 1), ("--batch", args.batch, 1),
                               ("--warmup", args.warmup, 0), ("--threads", args.threads, 0)):
        if value < least:
            parser.error(f"{name} must be at least {least}, got {value}")
    if not args.seconds > 0:
        parser.error(f"--seconds must be positive, got {args.seconds}")
    if args.threads:
        torch.set_num_threads(args.threads)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(NETWORKS) - set(SHAPES)
    if unknown:
        parser.error(f"unknown --only entries {sorted(unknown)}; use {list(NETWORKS)} and/or {list(SHAPES)}")
    keys = [k for k in NETWORKS if k in only] or list(NETWORKS)
    shapes = [s for s in SHAPES if s in only] or list(SHAPES)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    peak = matmul_peak(clock)
    rows = []
    for key in keys:
        for shape in shapes:
            for row in measure_row(key, shape, args, clock, peak):
                rows.append(row)
                print(f"{row['row']}: train {row['train_images_per_s']} images/s "
                      f"({row['train_ratio_to_reference']}x), eval {row['eval_images_per_s']} images/s "
                      f"({row['eval_ratio_to_reference']}x)", file=sys.stderr, flush=True)
    references = {(r["network"], r["shape"]): r for r in rows if r["side"] == "reference"}
    checks = {r["row"]: target_check(r, references[r["network"], r["shape"]])
              for r in rows if r["side"] == "library"}
    out = {
        "benchmark": "throughput",
        "clock": args.clock, "threads": torch.get_num_threads(), "batch": args.batch,
        "seconds_per_row": args.seconds, "rounds": args.rounds, "levels": 256,
        "peak_fp32_gflops": round(peak, 1),
        "peak_method": "best time of a 2048x2048 fp32 matmul at the run's thread count",
        "flop_counting": ("convolution multiply-adds x2; training = 3x forward; library rows count the open "
                          "(unmasked) taps of their kernels, reference rows their full kernels; pointwise, "
                          "normalisation and likelihood FLOPs not counted"),
        "reference": ("benchmarks/references.py: plain eager PyTorch, full kernels with masks multiplied into the "
                      "weights; pixelcnn-pp's shifted 2x3/2x2 kernels written as masked 3x3 kernels, its "
                      "logistic-mixture likelihood is the library's code on both sides"),
        "targets": {"seed": 1.7, "others": 1.3, "on": "training images/s of the eager library row / its reference"},
        "targets_met": all(c["met"] for c in checks.values()),
        "target_checks": checks,
        "rows": rows,
        "machine": describe(),
    }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
