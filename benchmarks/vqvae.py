"""A VQ-VAE trained from a bundled config, its reconstruction PSNR and codebook usage, in one run.

Trains ``--config`` (``vqvae-cifar10`` by default: the first CIFAR-10 training
batch less the carved validation tenth, tested on the first 1,000 test
images) with the overrides given, or reads a finished run (``--run``), and
writes the test figures (PSNR on 8-bit levels, MSE, each map's perplexity and
fraction of codes used), the validation figures of every epoch, steps,
training time, images/s, parameters, the command and the machine to
``results/vqvae.json``. The issue's target on CIFAR-10, with the stride-4
bottom map: PSNR >= 22 dB and more than 90 % of the codes in use.

    python benchmarks/vqvae.py --out runs/vq-cifar data.data_dir=../shared/data/cifar10
    python benchmarks/vqvae.py --config vqvae-mnist5k --run --out runs/vq \
        --trained-with "pixelcnn vqvae train --config vqvae-mnist5k --out runs/vq" --json results/vqvae_mnist5k.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from machine import describe
from pixelcnn.cli.train import bundled_config
from pixelcnn.config import resolve
from pixelcnn.training import Trainer
from pixelcnn.training.checkpoint import read_meta
from pixelcnn.training.metrics import read_records

RESULTS = Path(__file__).parent / "results" / "vqvae.json"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    parser.add_argument("--config", default="vqvae-cifar10", help="a bundled VQ-VAE config or a file")
    parser.add_argument("--out", default="runs/vq-cifar", help="the run directory")
    parser.add_argument("--run", action="store_true", help="read the finished run in --out instead of training")
    parser.add_argument("--trained-with", metavar="COMMAND", help="with --run: the command that trained it")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the figures go")
    args = parser.parse_args(argv)
    run = Path(args.out)
    wall = None
    if not args.run:
        trainer = Trainer(resolve(bundled_config(args.config), args.overrides), run)
        start = time.monotonic()
        trainer.run()
        wall = round(time.monotonic() - start, 1)
    out = {"benchmark": "vqvae", "command": "python benchmarks/vqvae.py " + shlex.join(sys.argv[1:] if argv is None
                                                                                          else argv),
           "machine": describe(), "config": args.config, **figures(run), "wall_seconds_with_eval": wall}
    if args.trained_with:
        out["trained_with"] = args.trained_with
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return out


def figures(run: Path) -> dict:
    """What the finished run in ``run`` says: its model, data, steps, time and test figures."""
    meta = read_meta(run)
    records = read_records(run / "metrics.jsonl")
    train = [r for r in records if r["kind"] == "train"]
    test = [r for r in records if r["kind"] == "test"][-1]
    keep = ("psnr", "mse", "top_used", "top_perplexity", "bottom_used", "bottom_perplexity")
    seconds = _train_seconds(run)
    steps = test["step"]
    batch = meta["run"]["train"]["batch_size"]
    return {
        "model": meta["model"],
        "data": meta["run"]["data"],
        "train": meta["run"]["train"],
        "steps": steps,
        "train_seconds": round(seconds, 1),
        "images_per_s": round(steps * batch / max(seconds, 1e-9), 1),
        "last_train_loss": train[-1]["loss_smooth"] if train else None,
        "valid": [{"step": r["step"], **{k: round(r[k], 4) for k in keep if k in r}}
                  for r in records if r["kind"] == "valid"],
        "test": {"split": test["split"], "images": test["images"], **{k: round(test[k], 4) for k in keep if k in test}},
    }


def _train_seconds(run: Path) -> float:
    from pixelcnn.training.checkpoint import read_state, resolve_checkpoint

    return float(read_state(resolve_checkpoint(run)).get("train_seconds", 0.0))


if __name__ == "__main__":
    main()
