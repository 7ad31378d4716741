"""Likelihood-based out-of-distribution detection: MNIST against Fashion-MNIST, both ways.

For each direction (in-distribution set A, out-of-distribution set B):

1. a Gated PixelCNN trains ``--steps`` steps on A's training images (quantised
   to ``--levels`` levels), deterministically (fixed seed, a step count, no clock);
2. a background model of the same design trains the same steps on A's training
   images perturbed by random level substitution at rate ``--mu`` (Ren et al. 2019);
3. both score the first ``--images`` test images of A and of B, and the JSON gives
   the AUROC (B positive) of three scores, each "higher = more out-of-distribution":
   ``likelihood`` (-log2 p(x)), ``complexity`` (Serra et al. 2020: -log2 p(x) minus the
   image's PNG size in bits at maximum compression) and ``likelihood_ratio``
   (Ren et al. 2019: -(log p(x) - log p0(x)), p0 the background model).

An AUROC of 1 separates perfectly, 0.5 is chance, below 0.5 ranks the wrong set
as more typical (the known failure of raw likelihood, Nalisnick et al. 2019).

Set-up: Fashion-MNIST from Debian (``apt-get install -y dataset-fashion-mnist``,
files in /usr/share/datasets/fashion-mnist, where the library looks); MNIST's
IDX files under ``--data-dir`` (e.g. ../shared/data, holding mnist/).

    python benchmarks/ood.py --data-dir ../shared/data > benchmarks/results/ood.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from machine import describe
from pixelcnn.config import resolve
from pixelcnn.data import load_dataset
from pixelcnn.evaluation.ood import auroc, complexity_corrected, likelihood_ratio, nll_bits, perturb
from pixelcnn.evaluation.scoring import score_images
from pixelcnn.levels import to_levels, to_uint8
from pixelcnn.training import Trainer, load

STEPS = 100
IMAGES = 1000
MODEL = ["model.name=gated-pixelcnn", "model.hidden=16", "model.layers=3", "model.kernel=3", "model.head=32"]
TRAIN = ["train.batch_size=16", "train.lr=4e-3", "train.warmup_steps=20", "train.ema_decay=0.99", "train.epochs=0",
         "train.sample_count=0", "train.sample_every_epoch=false", "train.progress=false", "train.log_every=20",
         "train.precision=fp32"]


def train(images: np.ndarray, levels: int, steps: int, seed: int, work: Path, name: str) -> tuple[object, float]:
    """A model trained ``steps`` steps on uint8 images ``[N, 1, 28, 28]``; (EMA model, seconds)."""
    npz = work / f"{name}.npz"
    np.savez(npz, train=images[:, 0], test=images[:32, 0])  # a small "test" split keeps the trainer's end cheap
    cfg = resolve(None, [*MODEL, *TRAIN, f"data.name={npz}", f"data.levels={levels}", "data.valid_split=test",
                         f"train.max_steps={steps}", f"train.seed={seed}"])
    start = time.monotonic()
    Trainer(cfg, work / name).run()
    return load(work / name), time.monotonic() - start


def scores(model, background, levels_x: torch.Tensor, num_levels: int) -> dict:
    """The three OOD scores of levels ``[N, 1, H, W]``, float64 ``[N]`` each, and the mean bits/dim."""
    fg = -score_images(model, levels_x, batch_size=500).nats  # log p(x), nats
    bg = -score_images(background, levels_x, batch_size=500).nats
    shown = to_uint8(levels_x, num_levels)  # the images as the model saw them
    return {"likelihood": nll_bits(fg), "complexity": complexity_corrected(fg, shown),
            "likelihood_ratio": likelihood_ratio(fg, bg), "bits_per_dim": float(nll_bits(fg).mean()) / levels_x[0].numel()}


def direction(inside: str, outside: str, args, work: Path) -> dict:
    data_dir = {"mnist": args.data_dir, "fashion-mnist": None}
    train_images = load_dataset(inside, "train", data_dir=data_dir[inside], download=False).images
    tests = {s: load_dataset(s, "test", data_dir=data_dir[s], download=False).images[: args.images]
             for s in (inside, outside)}
    L = args.levels
    g = torch.Generator().manual_seed(args.seed)
    noisy = to_uint8(perturb(to_levels(train_images, L), args.mu, L, g), L)  # round-trips through to_levels
    model, t_fg = train(train_images.numpy(), L, args.steps, args.seed, work, f"{inside}-model")
    background, t_bg = train(noisy.numpy(), L, args.steps, args.seed, work, f"{inside}-background")
    start = time.monotonic()
    per_set = {s: scores(model, background, to_levels(x, L), L) for s, x in tests.items()}
    score_seconds = time.monotonic() - start
    result = {"in_distribution": inside, "out_of_distribution": outside,
              "test_images": {s: len(x) for s, x in tests.items()},
              "auroc": {k: round(auroc(per_set[inside][k], per_set[outside][k]), 4)
                        for k in ("likelihood", "complexity", "likelihood_ratio")},
              "test_bits_per_dim": {s: round(per_set[s]["bits_per_dim"], 4) for s in tests},
              "seconds": {"train_model": round(t_fg, 1), "train_background": round(t_bg, 1),
                          "score": round(score_seconds, 1)}}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data", help="a folder holding MNIST's IDX files (or mnist/)")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"training steps per model (default {STEPS})")
    parser.add_argument("--images", type=int, default=IMAGES, help=f"test images scored per set (default {IMAGES})")
    parser.add_argument("--levels", type=int, default=256, help="quantisation levels (default 256)")
    parser.add_argument("--mu", type=float, default=0.2, help="perturbation rate of the background model (default 0.2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = [direction("mnist", "fashion-mnist", args, work), direction("fashion-mnist", "mnist", args, work)]
    print(json.dumps({
        "benchmark": "ood",
        "settings": {"steps": args.steps, "levels": args.levels, "mu": args.mu, "seed": args.seed,
                     "model": MODEL, "train": TRAIN},
        "cpu": describe()["cpu"], "cpu_count": os.cpu_count(), "machine": describe(),
        "torch_threads": torch.get_num_threads(),
        "results": results,
        "total_seconds": round(time.monotonic() - start, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
