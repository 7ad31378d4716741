"""Peak memory of a training step of a prior over K = 8,192 codes on a 32x32 map, batch 16.

A categorical over K codes ends in logits ``[B, K, H, W]`` (512 MiB here in fp32).
The library's likelihood keeps the logits and the gradient map only; the
reference is the same model trained through plain autograd
(``F.log_softmax(...).gather(...)``), in the same run. Each variant runs in a
fresh process, whose peak resident memory (``ru_maxrss``) is read when it ends.
The issue's target: the step fits in 4 GiB.

    python benchmarks/large_codes.py [--codes 8192] [--size 32] [--batch 16]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

STEP = """
import resource, sys, torch
import torch.nn.functional as F
import pixelcnn
codes, size, batch, variant = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
model = pixelcnn.create_model("gated-pixelcnn", levels=codes, image_size=(size, size), hidden=64, layers=4,
                              head=64, input={"name": "embedding", "dim": 32})
opt = torch.optim.Adam(model.parameters())
x = torch.randint(0, codes, (batch, 1, size, size))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for _ in range(2):
    params = model.network(x)
    if variant == "library":
        nats = -model.likelihood.log_prob_map(x, params).sum()
    else:
        logits = params.view(batch, 1, codes, size, size)
        nats = -F.log_softmax(logits, dim=2).gather(2, x.unsqueeze(2)).sum()
    opt.zero_grad(set_to_none=True)
    nats.backward()
    opt.step()
    del params, nats
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_mib(codes: int, size: int, batch: int, variant: str) -> dict:
    out = subprocess.run([sys.executable, "-c", STEP, str(codes), str(size), str(batch), variant],
                         capture_output=True, text=True, check=True).stdout.split()
    before, after = int(out[0]) / 1024, int(out[1]) / 1024  # ru_maxrss is in KiB on Linux
    return {"peak_rss_mib": round(after, 1), "rss_before_steps_mib": round(before, 1)}


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from machine import describe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=8192)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    logits_mib = args.batch * args.codes * args.size * args.size * 4 / 2**20
    library = peak_mib(args.codes, args.size, args.batch, "library")
    reference = peak_mib(args.codes, args.size, args.batch, "autograd")
    result = {
        "what": f"training step of gated-pixelcnn (64 wide, 4 layers, embedding input) over K = {args.codes} "
                f"codes, {args.size}x{args.size}, batch {args.batch}",
        "logits_mib": round(logits_mib, 1),
        "library": library,
        "autograd_reference": reference,
        "saved_mib": round(reference["peak_rss_mib"] - library["peak_rss_mib"], 1),
        "target_peak_mib": 4096,
        "target_met": library["peak_rss_mib"] <= 4096,
        "machine": describe(),
        "command": "python benchmarks/large_codes.py " + " ".join(sys.argv[1:]),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
