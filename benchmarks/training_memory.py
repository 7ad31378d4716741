"""Peak memory of a training step: ``pixelsnail`` against ``pixelcnn-pp`` at the same width.

Each case trains two steps (Adam, fp32, the mean negative log-likelihood) on
random levels in a fresh process, so that one case's memory never counts in
another's. The figure is the rise of the process's peak resident memory over its
resident memory just before the first step, with the weights and the batch in
place: the activations kept for the backward pass, the gradients and the
optimiser's moments. Target: ``pixelsnail`` below twice ``pixelcnn-pp``.

    python benchmarks/training_memory.py            # prints JSON (3x32x32, batch 32)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CASES = [
    # label, preset, overrides (the same width: pixelsnail's 48 filters)
    ("pixelsnail", "pixelsnail", {}),
    ("pixelcnn-pp (hidden 48)", "pixelcnn-pp", {"hidden": 48}),
]


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def one(preset: str, overrides: dict, batch: int, size: int) -> dict:
    """Two training steps of ``preset`` in this process: the rise of its peak resident memory."""
    import torch

    import pixelcnn

    torch.manual_seed(0)
    model = pixelcnn.create_model(preset, in_channels=3, image_size=(size, size), **overrides)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randint(0, 256, (batch, 3, size, size), generator=torch.Generator().manual_seed(0))
    before = _resident_bytes()
    start = time.perf_counter()
    for _ in range(2):
        loss = -model.log_prob(x).mean() / model.dims
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    seconds = (time.perf_counter() - start) / 2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    return {"parameters": sum(p.numel() for p in model.parameters()), "overrides": overrides,
            "likelihood": model.config.likelihood, "step_peak_mib": round((peak - before) / 2**20, 1),
            "step_s": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--case", help=argparse.SUPPRESS)  # a child process: one case, JSON out
    args = parser.parse_args()
    if args.case is not None:
        preset, overrides = json.loads(args.case)
        print(json.dumps(one(preset, overrides, args.batch, args.size)))
        return
    from machine import describe

    results = {}
    for label, preset, overrides in CASES:
        child = subprocess.run([sys.executable, __file__, "--batch", str(args.batch), "--size", str(args.size),
                                "--case", json.dumps([preset, overrides])], capture_output=True, text=True, check=True)
        results[label] = {"preset": preset, **json.loads(child.stdout)}
    ratio = results["pixelsnail"]["step_peak_mib"] / results["pixelcnn-pp (hidden 48)"]["step_peak_mib"]
    print(json.dumps({
        "benchmark": "training_memory",
        "machine": describe(),
        "shape": [3, args.size, args.size],
        "batch": args.batch,
        "results": results,
        "pixelsnail_over_pixelcnn_pp": round(ratio, 2),
        "targets_met": {"pixelsnail_over_pixelcnn_pp < 2": ratio < 2},
    }, indent=2))


if __name__ == "__main__":
    main()
