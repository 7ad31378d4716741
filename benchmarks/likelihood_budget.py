"""PixelCNN against Gated PixelCNN for the same wall-clock budget, in one run.

Each model trains for ``--minutes`` on each data set, then its EMA weights
are scored on the whole test split:

- ``mnist5k`` (8-bit, 256 levels): test bits/dim;
- binarized MNIST (the standard .amat files, 2 levels): test nats/image, the
  unit of the papers (PixelCNN: 81.30; see ../shared/data/README.md).

The JSON gives, per data set and model: the test score, the steps taken, the
images per second and the parameter count.

    python benchmarks/likelihood_budget.py --minutes 5 --binarized-dir ../shared/data/binarized-mnist
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from pixelcnn.config import resolve
from pixelcnn.training import Trainer

MODELS = ("pixelcnn", "gated-pixelcnn")


def run_one(model: str, data: list[str], minutes: float, seed: int, extra: list[str]) -> dict:
    overrides = [f"model.name={model}", "train.epochs=0", f"train.max_minutes={minutes}", f"train.seed={seed}",
                 "train.sample_every_epoch=false", "train.sample_count=0", "train.progress=false", *data, *extra]
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(resolve(None, overrides), Path(run_dir))
        start = time.monotonic()
        summary = trainer.run()
        wall = time.monotonic() - start
        params = sum(p.numel() for p in trainer.model.parameters())
        batch = trainer.cfg.train.batch_size
    test = summary["test"]
    return {
        "steps": summary["steps"],
        "train_seconds": summary["seconds"],
        "images_per_s": round(summary["steps"] * batch / max(summary["seconds"], 1e-9), 1),
        "parameters": params,
        "test_bits_per_dim": round(test["bits_per_dim"], 4),
        "test_nats_per_image": round(test["nats_per_image"], 2),
        "test_images": test["images"],
        "wall_seconds_with_eval": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per model and data set")
    parser.add_argument("--binarized-dir", default="../shared/data/binarized-mnist",
                        help="folder with binarized_mnist_{train,valid,test}.amat[.gz]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-binarized", action="store_true")
    parser.add_argument("overrides", nargs="*", help="extra train.* overrides for every run, e.g. train.lr=3e-3")
    args = parser.parse_args()
    sets = {"mnist5k": ["data.name=mnist5k", "data.levels=256"]}
    if not args.skip_binarized:
        sets["binarized-mnist"] = ["data.name=binarized-mnist", "data.levels=2", f"data.data_dir={args.binarized_dir}",
                                   "data.download=false"]
    results = {name: {m: run_one(m, data, args.minutes, args.seed, args.overrides) for m in MODELS}
               for name, data in sets.items()}
    print(json.dumps({
        "benchmark": "likelihood_budget",
        "minutes_per_model": args.minutes,
        "cpu_threads": torch.get_num_threads(),
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
