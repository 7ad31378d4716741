"""Fast (cached) sampling against a forward pass and against the reference sampler.

All figures come from one run on the same weights, on this machine:

- ``forward_s``: one batched forward pass over ``n`` images;
- ``fast_s``: the cached sampler drawing ``n`` images;
- ``reference_step_s``: one step of the reference sampler (a full forward pass
  per sampling step: a sub-pixel for the categorical, a pixel for the
  logistic mixture), and its total extrapolated to every step,
  ``reference_total_s``;

the three are timed in turn, repeat after repeat, so that a drift in the
machine's speed touches them alike, and each figure is the fastest of its
repeats (other load on a shared machine only ever slows a run down; the
medians are printed too);
- ``fast_over_forward`` and ``reference_over_fast``.

Before timing, the two samplers are checked to draw the same first rows.

    python benchmarks/sampling.py            # prints JSON
    python benchmarks/sampling.py --only pixelcnn-pp    # only the PixelCNN++ rows
    python benchmarks/sampling.py --only pixelsnail     # only the PixelSNAIL rows
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

import pixelcnn
from machine import describe
from pixelcnn.sampling.samplers import ReferenceSteps

CASES = [
    # name, preset, overrides, targets
    ("pixelcnn-seed 1x28x28", "pixelcnn-seed", {}, {"fast_over_forward_max": 3, "reference_over_fast_min": 200}),
    ("pixelcnn 3x32x32", "pixelcnn", {"in_channels": 3, "image_size": (32, 32)}, {"fast_over_forward_max": 4}),
    ("gated-pixelcnn 1x28x28", "gated-pixelcnn", {}, {}),
    # a small network, where per-step overhead rather than arithmetic sets the pace
    ("pixelcnn 3x32x32, 2h=96, 8 blocks", "pixelcnn",
     {"in_channels": 3, "image_size": (32, 32), "hidden": 96, "layers": 8, "head": 192}, {}),
    # three resolutions: u by rows, ul by positions, coarser levels at their own rate
    ("pixelcnn-pp 3x32x32", "pixelcnn-pp", {"in_channels": 3, "image_size": (32, 32)}, {"fast_over_forward_max": 4}),
    ("pixelcnn-pp 1x28x28", "pixelcnn-pp", {"in_channels": 1, "image_size": (28, 28)}, {}),
    # attention: each step's query reads every cached key and value of its layer
    ("pixelsnail 1x28x28", "pixelsnail", {}, {}),
    ("pixelsnail 3x32x32", "pixelsnail", {"in_channels": 3, "image_size": (32, 32)},
     {"fast_over_forward_max": 5, "reference_over_fast_min": 100}),
    # a colour per step: three times the steps, and nine times the keys read over a run
    ("pixelsnail 3x32x32 categorical", "pixelsnail",
     {"in_channels": 3, "image_size": (32, 32), "likelihood": "categorical"}, {}),
]


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@torch.no_grad()
def measure(preset: str, overrides: dict, n: int, repeats: int, reference_steps: int, seed: int) -> dict:
    torch.manual_seed(seed)
    model = pixelcnn.create_model(preset, **overrides).eval()
    cfg = model.config
    c, (h, w) = cfg.in_channels, cfg.image_size
    x = torch.randint(0, cfg.levels, (n, c, h, w), generator=torch.Generator().manual_seed(seed))
    _check_same_first_rows(model, seed)
    model(x)  # warm up
    steps = ReferenceSteps(model.network, torch.zeros(n, c, h, w, dtype=torch.long), None)
    g = model.likelihood.groups  # sampling steps per pixel: C for the categorical, 1 for the mixture
    positions = [(k // (w * g), (k // g) % w, k % g) for k in range(reference_steps)]
    # Interleaved, so that a machine whose speed drifts (a shared VM) affects all three alike.
    forward, fast, step_times = [], [], []
    for r in range(repeats):
        forward.append(_seconds(lambda: model(x)))
        fast.append(_seconds(lambda: model.sample(n, generator=torch.Generator().manual_seed(seed))))
        step_times += [_seconds(lambda p=p: steps(*p)) for p in positions[r::repeats]]
    medians = {"forward_median_s": round(statistics.median(forward), 4), "fast_median_s": round(statistics.median(fast), 3)}
    forward, fast, per_step = min(forward), min(fast), min(step_times)
    total = per_step * g * h * w
    return {
        "images": n,
        "shape": [c, h, w],
        "levels": cfg.levels,
        "subpixels": c * h * w,
        "steps": g * h * w,
        "likelihood": model.config.likelihood,
        "forward_s": round(forward, 4),
        "fast_s": round(fast, 3),
        "reference_step_s": round(per_step, 4),
        "reference_total_s": round(total, 1),
        "fast_over_forward": round(fast / forward, 2),
        "reference_over_fast": round(total / fast, 1),
        **medians,
    }


def _check_same_first_rows(model, seed: int) -> None:
    """Both samplers must draw the same first sub-pixels (a cheap guard: the tests check it fully)."""
    cfg = model.config
    rows = 2
    known = torch.zeros(2, cfg.in_channels, *cfg.image_size, dtype=torch.long)
    mask = torch.zeros_like(known, dtype=torch.bool)
    mask[:, :, rows:] = True  # everything below the first rows is "known": only the first rows are drawn
    draw = [model.sample(2, known=known, known_mask=mask, method=m, generator=torch.Generator().manual_seed(seed))
            for m in ("fast", "reference")]
    if not torch.equal(draw[0], draw[1]):
        raise SystemExit("fast and reference samplers disagree; the benchmark would be meaningless")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=64, help="images per batch (default 64)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats, interleaved (default 5)")
    parser.add_argument("--reference-steps", type=int, default=5, help="reference steps timed (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="run only the cases whose label contains this text")
    args = parser.parse_args()
    results = {}
    for label, preset, overrides, targets in CASES:
        if args.only not in label:
            continue
        r = measure(preset, overrides, args.n, args.repeats, args.reference_steps, args.seed)
        checks = {}
        if "fast_over_forward_max" in targets:
            checks["fast_over_forward <= %g" % targets["fast_over_forward_max"]] = (
                r["fast_over_forward"] <= targets["fast_over_forward_max"])
        if "reference_over_fast_min" in targets:
            checks["reference_over_fast >= %g" % targets["reference_over_fast_min"]] = (
                r["reference_over_fast"] >= targets["reference_over_fast_min"])
        r["targets_met"] = checks
        results[label] = r
    print(json.dumps({
        "benchmark": "sampling",
        "machine": describe(),
        "results": results,
        "all_targets_met": all(ok for r in results.values() for ok in r["targets_met"].values()),
    }, indent=2))


if __name__ == "__main__":
    main()
